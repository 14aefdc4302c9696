"""The cluster itself: Ready nodes of the pinned release, healthy parts, the kubectl context."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from kubernetes import client

from docker2k8s import cluster as clusters
from docker2k8s import versions
from docker2k8s.cluster import Provider
from docker2k8s.cluster.names import CONTEXT_NAME

pytestmark = pytest.mark.cluster


def test_nodes_are_ready_and_run_the_pinned_release(
    core: client.CoreV1Api, api: client.ApiClient
) -> None:
    nodes = core.list_node().items
    assert nodes, "the cluster has no node"
    minor = f"v{versions.kubernetes_minor()}."
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", f"node {node.metadata.name} is not Ready"
        assert node.status.node_info.kubelet_version.startswith(minor), node.status.node_info
    server = client.VersionApi(api).get_code()
    assert server.git_version.startswith(minor), server.git_version


def test_kubectl_reports_the_pinned_release(kubectl) -> None:
    version = yaml.safe_load(kubectl("version", "-o", "yaml").stdout)
    minor = f"v{versions.kubernetes_minor()}."
    assert version["clientVersion"]["gitVersion"].startswith(minor), version
    assert version["serverVersion"]["gitVersion"].startswith(minor), version


def test_context_is_named_docker2k8s(cluster: Provider) -> None:
    kubeconfig = yaml.safe_load(cluster.kubeconfig().read_text())
    assert CONTEXT_NAME in [c["name"] for c in kubeconfig["contexts"]]


def test_status_reports_every_part_healthy(cluster: Provider) -> None:
    rows = clusters.status(cluster)
    unhealthy = [f"{r.name}: {r.detail}" for r in rows if not r.healthy]
    assert not unhealthy, unhealthy
    for row in rows:
        if row.log is not None:
            assert row.log.exists(), f"{row.name} log {row.log} missing"


def test_d2k_cluster_status_command(cluster: Provider, d2k) -> None:
    done: subprocess.CompletedProcess[str] = d2k("cluster", "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"provider {cluster.name}" in done.stdout
