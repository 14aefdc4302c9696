"""The cluster itself: a Ready v1.34 node, healthy components, the kubectl context."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from kubernetes import client

from docker2k8s.cluster import ClusterBackend
from docker2k8s.cluster.layout import CONTEXT_NAME

pytestmark = pytest.mark.cluster


def test_node_is_ready_and_runs_v1_34(core: client.CoreV1Api, api: client.ApiClient) -> None:
    nodes = core.list_node().items
    assert nodes, "the cluster has no node"
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", f"node {node.metadata.name} is not Ready"
        assert node.status.node_info.kubelet_version.startswith("v1.34."), node.status.node_info
    server = client.VersionApi(api).get_code()
    assert server.git_version.startswith("v1.34."), server.git_version


def test_kubectl_reports_v1_34(kubectl) -> None:
    version = yaml.safe_load(kubectl("version", "-o", "yaml").stdout)
    assert version["clientVersion"]["gitVersion"].startswith("v1.34.")
    assert version["serverVersion"]["gitVersion"].startswith("v1.34.")


def test_context_is_named_docker2k8s(cluster: ClusterBackend) -> None:
    kubeconfig = yaml.safe_load(cluster.kubeconfig().read_text())
    assert CONTEXT_NAME in [c["name"] for c in kubeconfig["contexts"]]


def test_status_reports_every_component_healthy_with_its_log(cluster: ClusterBackend) -> None:
    rows = cluster.status()
    unhealthy = [f"{r.name}: {r.detail}" for r in rows if not r.healthy]
    assert not unhealthy, unhealthy
    if cluster.name == "local":
        names = {r.name for r in rows}
        assert {"etcd", "kube-apiserver", "kubelet", "containerd", "kube-proxy"} <= names
        for row in rows:
            if row.log is not None:
                assert row.log.exists(), f"{row.name} log {row.log} missing"


def test_d2k_cluster_status_command(cluster: ClusterBackend, d2k) -> None:
    done: subprocess.CompletedProcess[str] = d2k("cluster", "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kube-apiserver" in done.stdout or cluster.name != "local"


def test_api_server_listens_on_loopback_only(cluster: ClusterBackend) -> None:
    if cluster.name != "local":
        pytest.skip("only the local backend runs the API server as a host process")
    listening = subprocess.run(["ss", "-Hltn", "sport = :6443"], capture_output=True, text=True)
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.stdout.splitlines()}
    assert addresses == {"127.0.0.1"}, listening.stdout


def test_components_are_detached_and_restarted_when_they_die(cluster: ClusterBackend) -> None:
    if cluster.name != "local":
        pytest.skip("only the local backend supervises host processes")
    import os
    import signal
    import time

    from docker2k8s.cluster.layout import Layout

    pids = Layout.default().pids
    supervisor = int((pids / "supervisor.pid").read_text())
    # Its own session, not a child of the process that ran `up` (a notebook kernel may die).
    assert os.getsid(supervisor) == supervisor
    assert os.getppid() != supervisor and _ppid(supervisor) != os.getpid()

    victim = int((pids / "kube-scheduler.pid").read_text())
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = {r.name: r for r in cluster.status()}["kube-scheduler"]
        if row.healthy and int((pids / "kube-scheduler.pid").read_text()) != victim:
            return
        time.sleep(1)
    raise AssertionError(f"kube-scheduler was not restarted: {row.detail}; see {row.log}")


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_up_twice_is_harmless(cluster: ClusterBackend) -> None:
    if cluster.name != "local":
        pytest.skip("only the local backend supervises host processes")
    from docker2k8s.cluster.layout import Layout

    pids = Layout.default().pids
    before = {p.name: p.read_text() for p in pids.glob("*.pid")}
    cluster.up()
    after = {p.name: p.read_text() for p in pids.glob("*.pid")}
    assert before == after, "a second `up` restarted components"
