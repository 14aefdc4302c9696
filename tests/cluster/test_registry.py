"""The cluster's image registry: `d2k images push`, then the node's containerd pulls by name and
through its docker.io and ghcr.io mirrors; the protected registry needs an imagePullSecret; the
data outlives the registry's Pod."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster import Provider, registry
from docker2k8s.cluster.node_images import PAUSE

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """A small image no node has seen: the pause image with a label of its own."""
    ref = f"d2k-test/pull-{uuid.uuid4().hex[:8]}:1"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "Dockerfile").write_text(f"FROM {PAUSE.ref}\nLABEL test={ref}\n")
        subprocess.run(["docker", "build", "-q", "-t", ref, tmp], check=True, capture_output=True)
    yield ref
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


def _pod(name: str, image: str, pull_secret: str | None = None) -> dict:
    spec: dict = {
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": image, "imagePullPolicy": "Always"}],
    }
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def _pulled(core: client.CoreV1Api, namespace: str, name: str) -> str:
    """The kubelet's `Pulled` event once the Pod runs: proof the image came from a registry."""
    pod = core.read_namespaced_pod(name, namespace)
    if pod.status.phase != "Running":
        return ""
    events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}")
    return " ".join(e.message for e in events.items if e.reason == "Pulled")


def test_pods_pull_pushed_images_by_name_and_through_the_mirrors(
    d2k, kubectl, core: client.CoreV1Api, namespace: str, image: str
) -> None:
    ghcr = f"ghcr.io/{image}"
    subprocess.run(["docker", "tag", image, ghcr], check=True)
    try:
        done = d2k("images", "push", image, ghcr)
    finally:
        subprocess.run(["docker", "rmi", ghcr], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert f"pushed {registry.REGISTRY}/{image}" in done.stdout
    assert f"pushed {registry.REGISTRY}/ghcr.io/{image}" in done.stdout
    pods = {
        "by-name": f"{registry.REGISTRY}/{image}",
        "docker-io-mirror": image,  # docker.io/d2k-test/pull-...: no such repository upstream
        "ghcr-io-mirror": ghcr,
    }
    for name, ref in pods.items():
        kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump(_pod(name, ref)))
    for name, ref in pods.items():
        message = wait_for(f"{name} pulled", lambda n=name: _pulled(core, namespace, n), 90)
        assert "Successfully pulled image" in message and ref in message, message


def test_the_protected_registry_needs_an_image_pull_secret(
    cluster: Provider, kubectl, core: client.CoreV1Api, namespace: str, image: str
) -> None:
    user, password = registry.credentials(cluster)
    with tempfile.TemporaryDirectory() as docker_config:  # keep the login out of ~/.docker
        env = {**os.environ, "DOCKER_CONFIG": docker_config}
        subprocess.run(
            ["docker", "login", registry.PROTECTED_REGISTRY, "-u", user, "--password-stdin"],
            input=password, text=True, env=env, check=True, capture_output=True,
        )  # fmt: skip
        ref = f"{registry.PROTECTED_REGISTRY}/{image}"
        subprocess.run(["docker", "tag", image, ref], check=True)
        pushed = subprocess.run(["docker", "push", "-q", ref], env=env, capture_output=True)
        subprocess.run(["docker", "rmi", ref], capture_output=True)
    assert pushed.returncode == 0, pushed.stderr

    kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump(_pod("anonymous", ref)))

    def refused() -> str:
        statuses = core.read_namespaced_pod("anonymous", namespace).status.container_statuses
        waiting = statuses[0].state.waiting if statuses else None
        reason = waiting.reason if waiting else ""
        return f"{reason}: {waiting.message}" if "ImagePull" in reason else ""

    # The first reason is ErrImagePull; the kubelet then backs off (ImagePullBackOff).
    assert "authorization" in wait_for("the pull refused", refused, 60)

    kubectl(
        "-n", namespace, "create", "secret", "docker-registry", "pull",
        f"--docker-server={registry.PROTECTED_REGISTRY}",
        f"--docker-username={user}", f"--docker-password={password}",
    )  # fmt: skip
    pod = _pod("with-secret", ref, pull_secret="pull")
    kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump(pod))
    message = wait_for(
        "pulled with the secret", lambda: _pulled(core, namespace, "with-secret"), 90
    )
    assert ref in message


def test_pushed_images_outlive_the_registry_pod(kubectl, image: str) -> None:
    registry.push(image)
    repository, _, tag = image.partition(":")
    # kubectl delete returns once the old Pod is gone; its replacement mounts the same volume.
    kubectl("-n", registry.NAMESPACE, "delete", "pod", "-l", "app.kubernetes.io/name=registry")

    def tags() -> list[str]:
        url = f"http://{registry.REGISTRY}/v2/{repository}/tags/list"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)["tags"]

    assert wait_for("the registry answering again", tags, 60) == [tag]


def test_containerd_mirrors_the_named_registries_at_the_registry_port() -> None:
    hosts = {p.parent.name: tomllib.loads(p.read_text())
             for p in registry.hosts_dir().glob("*/hosts.toml")}  # fmt: skip
    assert sorted(hosts) == sorted(registry.MIRRORED)
    for name, config in hosts.items():
        (mirror,) = config["host"]
        assert mirror.startswith(f"http://127.0.0.1:{registry.PORT}"), (name, mirror)
        assert config["host"][mirror]["capabilities"] == ["pull", "resolve"]


def test_push_without_a_registry_names_the_fix(d2k) -> None:
    done = d2k("images", "push", "--registry", "localhost:1", "d2k-test/none:1")
    assert done.returncode == 1
    assert "No registry answers at localhost:1" in done.stderr
    assert "d2k cluster up" in done.stderr
