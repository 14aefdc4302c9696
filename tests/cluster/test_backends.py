"""The backend interface, the kind config, the build cache and prerequisite errors."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from docker2k8s.cluster import ClusterBackend, get_backend, gobuild, layout
from docker2k8s.cluster.kind import (
    KindBackend,
    config_path,
    kind_metrics_server_manifest,
    kind_usable,
)
from docker2k8s.cluster.node_images import NODE_IMAGES

ADDONS = layout.repo_cluster_dir() / "addons"


def test_kind_config_is_valid() -> None:
    config = yaml.safe_load(config_path().read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [n["role"] for n in config["nodes"]]
    assert roles.count("control-plane") == 1 and roles.count("worker") == 1, roles
    (worker,) = [n for n in config["nodes"] if n["role"] == "worker"]
    assert worker["labels"]["docker2k8s.io/gpu-node"] == "true"
    for node in config["nodes"]:
        unknown = set(node) - {"role", "labels", "image", "extraMounts", "extraPortMappings"}
        assert not unknown, f"unknown node fields {unknown}"
    # The same pod and Service networks as the local backend, so the labs match.
    pods = ipaddress.ip_network(config["networking"]["podSubnet"])
    assert ipaddress.ip_network(layout.POD_CIDR).subnet_of(pods)
    assert config["networking"]["serviceSubnet"] == layout.SERVICE_CIDR


def test_kind_backend_works_where_kind_can_run() -> None:
    usable, reason = kind_usable()
    if not usable:
        pytest.skip(f"kind cannot run here: {reason}")
    backend = KindBackend()
    backend.up()
    assert all(row.healthy for row in backend.status())


def test_addon_manifests_use_the_locally_built_images() -> None:
    refs = {image.ref for image in NODE_IMAGES}
    used = set()
    for manifest in ADDONS.glob("*/*.yaml"):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if doc and doc["kind"] == "Deployment":
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    assert container["imagePullPolicy"] == "Never", manifest
                    used.add(container["image"])
    assert used <= refs, f"add-ons name images d2k does not build: {used - refs}"
    assert {r for r in refs if "pause" not in r} <= used


@pytest.mark.cluster
def test_kind_metrics_server_add_on_is_accepted_by_the_api_server(kubectl, tmp_path) -> None:
    """kind cannot run here; the manifest d2k applies there goes through a real API server."""
    text = kind_metrics_server_manifest()
    (deployment,) = [d for d in yaml.safe_load_all(text) if d["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--kubelet-insecure-tls" in args
    assert not [a for a in args if a.startswith("--kubelet-certificate-authority")], args
    manifest = tmp_path / "metrics-server.yaml"
    manifest.write_text(text)
    done = kubectl("apply", "--dry-run=server", "-f", str(manifest))
    assert "deployment.apps/metrics-server" in done.stdout


def test_cluster_state_moves_with_its_own_variable(monkeypatch, tmp_path: Path) -> None:
    # Moving the workshop servers' state must not make a running cluster seem to vanish.
    monkeypatch.setenv("D2K_STATE_DIR", str(tmp_path / "workshop"))
    assert layout.Layout.default().state == Path("/var/lib/docker2k8s")
    monkeypatch.setenv("D2K_CLUSTER_STATE_DIR", str(tmp_path / "cluster"))
    moved = layout.Layout.default()
    assert moved.state == tmp_path / "cluster" and moved.volumes == tmp_path / "cluster/volumes"


def test_coredns_service_ip_is_the_kubelet_cluster_dns() -> None:
    docs = yaml.safe_load_all((ADDONS / "coredns" / "coredns.yaml").read_text())
    (service,) = [d for d in docs if d["kind"] == "Service"]
    assert service["spec"]["clusterIP"] == layout.DNS_SERVICE_IP


def test_unknown_backend_is_a_clear_error() -> None:
    from docker2k8s.cluster import ClusterError

    with pytest.raises(ClusterError, match="choose one of auto, local, kind"):
        get_backend("minikube")


def test_up_as_non_root_names_the_fix(d2k) -> None:
    if os.geteuid() != 0:
        done = d2k("cluster", "up", "--backend", "local")
    else:
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             _d2k_path(), "cluster", "up", "--backend", "local"],
            capture_output=True, text=True, env={**os.environ, "HOME": "/tmp"},
        )  # fmt: skip
    assert done.returncode == 1
    assert "needs root" in done.stderr and "sudo d2k cluster up" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.cluster
def test_second_build_is_a_no_op(cluster: ClusterBackend) -> None:
    if cluster.name != "local":
        pytest.skip("only the local backend builds from source")
    lay = layout.Layout.default()
    for program in gobuild.ALL_PROGRAMS:
        assert gobuild.is_built(program, lay), f"{program.name} not cached"
        stamp = program.out_dir(lay) / ".complete"
        before = stamp.stat()
        assert gobuild.build(program, lay) == program.out_dir(lay)
        # A rebuild writes a new directory and stamp: the same inode and mtime mean no Go work.
        after = stamp.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), program


def _d2k_path() -> str:
    found = shutil.which("d2k")
    if found is None:
        pytest.fail("d2k is not on PATH: install the package (pip install -e .) into this venv")
    return found


def test_missing_host_packages_name_the_apt_command() -> None:
    # A PATH without containerd, runc, iptables...: as on a machine that lacks the packages.
    done = subprocess.run(
        [_d2k_path(), "cluster", "up", "--backend", "local"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/nonexistent"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "apt-get install" in message and "containerd" in message, message
    assert "Traceback" not in done.stderr


def test_a_go_older_than_the_modules_ask_for_is_refused(monkeypatch, tmp_path: Path) -> None:
    # GOTOOLCHAIN=local: a Go older than a module's `go` line would fail mid-build instead.
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\necho go1.25.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    wanted = ".".join(map(str, gobuild.required_go()))
    assert gobuild.required_go() >= (1, 26, 0)  # etcd's module asks for go 1.26.0
    from docker2k8s.cluster import ClusterError

    with pytest.raises(ClusterError, match=f"needs Go {re.escape(wanted)} or newer"):
        gobuild.find_go()
