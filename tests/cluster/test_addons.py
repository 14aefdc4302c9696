"""Add-ons: cluster DNS, metrics (kubectl top), default StorageClass."""

from __future__ import annotations

import pytest
from cluster_workload import apply_manifest
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster.names import DNS_SERVICE_IP

pytestmark = pytest.mark.cluster


def test_cluster_dns_resolves_the_api_service(
    core: client.CoreV1Api, kubectl, namespace: str, echo_image: str
) -> None:
    api_ip = core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
    dns_ip = core.read_namespaced_service("kube-dns", "kube-system").spec.cluster_ip
    assert dns_ip == DNS_SERVICE_IP
    # Asked from inside a Pod, as an app would: the host cannot reach Service IPs on kind.
    apply_manifest(kubectl, namespace, "web.yaml", echo_image)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    answer = kubectl(
        "-n", namespace, "exec", "client", "--", "/echo", "resolve",
        "kubernetes.default.svc.cluster.local",
    ).stdout  # fmt: skip
    assert answer.split() == [api_ip], answer


def test_default_storage_class(api: client.ApiClient) -> None:
    classes = client.StorageV1Api(api).list_storage_class().items
    default = [
        c.metadata.name
        for c in classes
        if (c.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class")
        == "true"
    ]
    assert default == ["standard"], default


def test_kubectl_top_nodes_answers(kubectl) -> None:
    def top() -> str:
        done = kubectl("top", "nodes", "--no-headers", check=False)
        return done.stdout if done.returncode == 0 else ""

    out = str(wait_for("kubectl top nodes", top, timeout=180))
    _name, cpu, _cpu_pct, memory, _mem_pct = out.split()[:5]
    assert cpu.endswith("m") and memory.endswith("Mi"), out


def test_cpu_based_autoscaler_reads_metrics(
    kubectl, api: client.ApiClient, namespace: str, echo_image: str
) -> None:
    apply_manifest(kubectl, namespace, "hpa.yaml", echo_image)
    autoscaling = client.AutoscalingV2Api(api)

    def utilization() -> int | None:
        status = autoscaling.read_namespaced_horizontal_pod_autoscaler("scaled", namespace).status
        for metric in status.current_metrics or []:
            if metric.resource and metric.resource.current.average_utilization is not None:
                return metric.resource.current.average_utilization + 1  # 0% is an answer too
        return None

    wait_for("the autoscaler to read CPU utilization", utilization, timeout=180)
