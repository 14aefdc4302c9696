"""Fixtures of the cluster tests: one real cluster per session, brought up with `up`.

The provider is `D2K_CLUSTER_PROVIDER` (default auto: the one `up` recorded; on a machine with
none, kind where it works, else local). A missing prerequisite fails the session with the error
`d2k cluster up` prints, which names the fix.
Tests in this folder must pass on every provider; local/ holds those of the local provider only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from docker2k8s.cluster import Provider
from docker2k8s.cluster.names import CONTEXT_NAME

ECHO_SOURCE = Path(__file__).parent / "echo"
ECHO_IMAGE = "localhost/docker2k8s-test/echo:1"


@pytest.fixture(scope="session")
def kubectl(cluster: Provider) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run kubectl against the cluster: kubectl("get", "nodes") -> CompletedProcess."""
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not on PATH; `d2k cluster up` links it to /usr/local/bin")

    def run(
        *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [binary, f"--kubeconfig={cluster.kubeconfig()}", f"--context={CONTEXT_NAME}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{done.stderr}")
        return done

    return run


@pytest.fixture(scope="session")
def api(cluster: Provider) -> client.ApiClient:
    return config.new_client_from_config(str(cluster.kubeconfig()), context=CONTEXT_NAME)


@pytest.fixture(scope="session")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"d2k-test-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.fixture(scope="session")
def echo_image(cluster: Provider) -> str:
    """A locally built image (static Go program on scratch), loaded into the cluster."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        shutil.copy2(ECHO_SOURCE / "Dockerfile", ctx / "Dockerfile")
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
        subprocess.run(
            [go, "build", "-trimpath", "-o", str(ctx / "echo"), "."],
            cwd=ECHO_SOURCE,
            env=env,
            check=True,
        )
        subprocess.run(["docker", "build", "-q", "-t", ECHO_IMAGE, str(ctx)], check=True)
    cluster.load_image(ECHO_IMAGE)
    return ECHO_IMAGE
