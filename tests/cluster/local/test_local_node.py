"""The local provider's host processes: built once, supervised, restarted, left alone by `up`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from polling import wait_for

from docker2k8s import cluster as clusters
from docker2k8s.cluster import gobuild
from docker2k8s.cluster.local import LocalProvider, network, supervision
from docker2k8s.cluster.local.layout import Layout
from docker2k8s.errors import D2KError

pytestmark = pytest.mark.cluster


def test_api_server_listens_on_loopback_only(local: LocalProvider) -> None:
    listening = subprocess.run(["ss", "-Hltn", "sport = :6443"], capture_output=True, text=True)
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.stdout.splitlines()}
    assert addresses == {"127.0.0.1"}, listening.stdout


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_the_supervisor_is_detached(local: LocalProvider) -> None:
    supervisor = supervision.running(local.layout)
    assert supervisor is not None
    # Its own session, not a child of the process that ran `up` (a notebook kernel may die).
    assert os.getsid(supervisor) == supervisor
    assert _ppid(supervisor) != os.getpid()


@pytest.fixture(scope="module")
def serving(local: LocalProvider, kubectl, echo_image: str) -> Iterator[tuple[str, str]]:
    """A web Pod behind a NodePort: (namespace, its URL from the host)."""
    from cluster_workload import apply_manifest

    namespace = f"d2k-faults-{os.getpid()}"
    kubectl("create", "namespace", namespace)
    try:
        apply_manifest(kubectl, namespace, "web.yaml", echo_image)
        kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s")
        port = kubectl(
            "-n", namespace, "get", "service", "web-nodeport",
            "-o", "jsonpath={.spec.ports[0].nodePort}",
        ).stdout  # fmt: skip
        url = f"http://{network.node_ip()}:{port}/"
        # kube-proxy opens a new node port a moment after the rollout
        wait_for("the node port to answer", lambda: _failure(url) is None, timeout=30)
        yield namespace, url
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _failure(url: str) -> str | None:
    """Why `url` did not answer 200, or None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except OSError as error:
        return repr(error)


@pytest.mark.parametrize(
    "component",
    [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "containerd",
    ],
)
def test_a_killed_component_is_restarted_and_the_workload_keeps_serving(
    local: LocalProvider, kubectl, serving: tuple[str, str], component: str
) -> None:
    namespace, url = serving
    pod = json.loads(kubectl("-n", namespace, "get", "pods", "-l", "app=web", "-o", "json").stdout)
    (before,) = pod["items"]
    victim = supervision.running(local.layout, component)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    deadline, requests, failed = time.monotonic() + 90, 0, []
    while True:
        requests += 1
        if why := _failure(url):
            failed.append(f"{time.monotonic() - deadline + 90:.1f} s: {why}")
        row = {r.name: r for r in local.status()}[component]
        if row.healthy and supervision.running(local.layout, component) not in (None, victim):
            break
        assert time.monotonic() < deadline, f"{component} was not restarted: {row.detail}"
        time.sleep(0.2)
    assert not failed, (
        f"{len(failed)} of {requests} requests failed while {component} was down: {failed}"
    )
    # The same Pod, never restarted, and the API sees it again.
    after = wait_for("the API to list the web Pod", lambda: _the_web_pod(kubectl, namespace), 30)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    restarts = [s["restartCount"] for s in after["status"]["containerStatuses"]]
    assert restarts == [s["restartCount"] for s in before["status"]["containerStatuses"]]


def _the_web_pod(kubectl, namespace: str) -> dict:
    listed = kubectl("-n", namespace, "get", "pods", "-l", "app=web", "-o", "json", check=False)
    assert listed.returncode == 0, listed.stderr
    (pod,) = json.loads(listed.stdout)["items"]
    return pod


def test_pods_reach_the_api_server_through_rules_ahead_of_kube_proxys(local: LocalProvider) -> None:
    """The API server listens on 127.0.0.1; d2k's DNAT must see Pods' packets before
    kube-proxy's Service rules do, in both NAT chains, however long the cluster has run."""
    for parent, ours in (("PREROUTING", "DOCKER2K8S-PREROUTING"), ("OUTPUT", "DOCKER2K8S-OUTPUT")):
        rules = subprocess.run(
            ["iptables", "-t", "nat", "-S", parent], capture_output=True, text=True
        ).stdout.splitlines()
        jumps = [r.split("-j ")[-1] for r in rules if r.startswith("-A ") and "-j " in r]
        assert jumps[:2] == [ours, "KUBE-SERVICES"], (parent, rules)


def test_up_twice_is_harmless(local: LocalProvider) -> None:
    pids = local.layout.pids
    before = {p.name: p.read_text() for p in pids.glob("*.pid")}
    clusters.up("local")
    after = {p.name: p.read_text() for p in pids.glob("*.pid")}
    assert before == after, "a second `up` restarted components"


def test_second_build_is_a_no_op(local: LocalProvider) -> None:
    for program in gobuild.CLUSTER_PROGRAMS:
        assert gobuild.is_built(program), f"{program.name} not cached"
        stamp = program.out_dir() / ".complete"
        before = stamp.stat()
        assert gobuild.build(program) == program.out_dir()
        # A rebuild writes a new directory and stamp: the same inode and mtime mean no Go work.
        after = stamp.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), program


def test_containerd_and_runc_are_the_ones_built_from_source(local: LocalProvider) -> None:
    containerd = supervision.running(local.layout, "containerd")
    exe = Path(f"/proc/{containerd}/exe").resolve()
    assert exe == gobuild.CONTAINERD.binary("containerd"), exe
    config = (local.layout.config / "containerd.toml").read_text()
    assert str(gobuild.RUNC.binary("runc")) in config
    version = subprocess.run(
        [str(gobuild.RUNC.binary("runc")), "--version"], capture_output=True, text=True
    ).stdout
    assert "libseccomp" in version, version  # RuntimeDefault seccomp profiles work


def test_volumes_are_directories_under_the_state_root(
    local: LocalProvider, kubectl, core: client.CoreV1Api, namespace: str, echo_image: str
) -> None:
    from cluster_workload import apply_manifest

    apply_manifest(kubectl, namespace, "pvc.yaml", echo_image)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/writer", "--timeout=120s")
    kubectl("-n", namespace, "exec", "writer", "--", "/echo", "write", "/data/note", "here")
    claim = core.read_namespaced_persistent_volume_claim("data", namespace)
    volume = core.read_persistent_volume(claim.spec.volume_name)
    path = volume.spec.host_path.path if volume.spec.host_path else volume.spec.local.path
    on_node = Path(path)
    assert on_node.parent == local.layout.volumes, on_node
    assert (on_node / "note").read_text() == "here"


def test_cluster_state_moves_with_its_own_variable(monkeypatch, tmp_path: Path) -> None:
    # Moving the workshop servers' state must not make a running cluster seem to vanish.
    monkeypatch.setenv("D2K_STATE_DIR", str(tmp_path / "workshop"))
    monkeypatch.delenv("D2K_CLUSTER_STATE_DIR", raising=False)
    assert Layout.default().state == Path("/var/lib/docker2k8s")
    monkeypatch.setenv("D2K_CLUSTER_STATE_DIR", str(tmp_path / "cluster"))
    moved = Layout.default()
    assert moved.state == tmp_path / "cluster" and moved.volumes == tmp_path / "cluster/volumes"


def test_missing_host_packages_name_the_apt_command(d2k) -> None:
    # A PATH without iptables, conntrack, ip...: as on a machine that lacks the packages.
    done = d2k("cluster", "up", "--provider", "local", env={**os.environ, "PATH": "/nonexistent"})
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert "apt-get install" in message and "iptables" in message, message
    assert "Traceback" not in done.stderr


def test_a_go_older_than_the_modules_ask_for_is_refused(monkeypatch, tmp_path: Path) -> None:
    # GOTOOLCHAIN=local: a Go older than a module's `go` line would fail mid-build instead.
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\necho go1.25.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    wanted = ".".join(map(str, gobuild.required_go()))
    assert gobuild.required_go() >= (1, 26, 6)  # containerd's module asks for go 1.26.6
    with pytest.raises(D2KError, match=f"needs Go {re.escape(wanted)} or newer"):
        gobuild.find_go()
