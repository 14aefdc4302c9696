"""Workloads: a locally built image behind Services, self-healing Deployments, volumes."""

from __future__ import annotations

import urllib.request

import pytest
from cluster_workload import apply_manifest
from kubernetes import client
from polling import wait_for

pytestmark = pytest.mark.cluster


def _ready_pods(core: client.CoreV1Api, namespace: str, selector: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]


def test_service_answers_by_dns_name_and_node_port(
    kubectl, core: client.CoreV1Api, namespace: str, echo_image: str
) -> None:
    apply_manifest(kubectl, namespace, "web.yaml", echo_image)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s")

    url = f"http://web.{namespace}.svc.cluster.local/"
    answer = kubectl("-n", namespace, "exec", "client", "--", "/echo", "get", url).stdout
    assert answer.startswith("hello from web-"), answer

    port = core.read_namespaced_service("web-nodeport", namespace).spec.ports[0].node_port
    node = core.list_node().items[0]
    node_ip = next(a.address for a in node.status.addresses if a.type == "InternalIP")

    def fetch() -> str:
        with urllib.request.urlopen(f"http://{node_ip}:{port}/", timeout=3) as resp:
            return resp.read().decode()

    body = wait_for(f"NodePort {node_ip}:{port}", fetch, timeout=60)
    assert str(body).startswith("hello from web-"), body


def test_deployment_replaces_a_deleted_pod(
    kubectl, core: client.CoreV1Api, namespace: str, echo_image: str
) -> None:
    apply_manifest(kubectl, namespace, "web.yaml", echo_image)
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s")
    (first,) = _ready_pods(core, namespace, "app=web")
    core.delete_namespaced_pod(first.metadata.name, namespace)
    replacement = wait_for(
        "a replacement pod",
        lambda: [
            p
            for p in _ready_pods(core, namespace, "app=web")
            if p.metadata.name != first.metadata.name
        ],
    )
    assert len(replacement) == 1  # type: ignore[arg-type]


def test_claim_binds_dynamically_and_data_survives_the_pod(
    kubectl, core: client.CoreV1Api, namespace: str, echo_image: str
) -> None:
    apply_manifest(kubectl, namespace, "pvc.yaml", echo_image)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/writer", "--timeout=120s")
    claim = core.read_namespaced_persistent_volume_claim("data", namespace)
    assert claim.status.phase == "Bound"
    assert claim.spec.storage_class_name, "the default StorageClass was not applied"
    kubectl("-n", namespace, "exec", "writer", "--", "/echo", "write", "/data/note", "kept")

    kubectl("-n", namespace, "delete", "pod", "writer", "--wait=true")
    apply_manifest(kubectl, namespace, "pvc.yaml", echo_image)
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/writer", "--timeout=120s")
    read = kubectl("-n", namespace, "exec", "writer", "--", "/echo", "read", "/data/note")
    assert read.stdout == "kept"
    # kind's default class, on every provider: the labs' `kubectl get pvc` reads the same.
    assert claim.spec.storage_class_name == "standard"
    volume = core.read_persistent_volume(claim.spec.volume_name)
    assert volume.metadata.annotations["pv.kubernetes.io/provisioned-by"] == "rancher.io/local-path"
