"""The simulated GPU pool (KWOK nodes): the scheduler places Pods on it by GPU product, count,
taints and tolerations, as on a real GPU cluster; nothing runs there."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster.node_images import PAUSE

pytestmark = pytest.mark.cluster

POOL = {  # the nodes cluster/addons/gpu-pool/nodes.yaml declares
    "gpu-a100-0": ("NVIDIA-A100-SXM4-80GB", "8"),
    "gpu-a100-1": ("NVIDIA-A100-SXM4-80GB", "8"),
    "gpu-t4-0": ("Tesla-T4", "4"),
}
TOLERATIONS = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "docker2k8s/simulated", "operator": "Exists", "effect": "NoSchedule"},
]


def _pod(name: str, gpus: int, selector: dict[str, str], tolerations: list[dict]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": selector,
            "tolerations": tolerations,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "train",
                    "image": PAUSE.ref,
                    "imagePullPolicy": "Never",
                    "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                }
            ],
        },
    }


def _apply(kubectl, namespace: str, pod: dict) -> None:
    kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump(pod))


def _scheduling_message(core: client.CoreV1Api, namespace: str, name: str) -> str:
    events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}")
    return " ".join(e.message for e in events.items if e.reason == "FailedScheduling")


def test_pool_nodes_look_like_gpu_nodes_and_say_they_are_simulated(core: client.CoreV1Api) -> None:
    nodes = {n.metadata.name: n for n in core.list_node(label_selector="type=kwok").items}
    assert set(nodes) == set(POOL)
    for name, (product, count) in POOL.items():
        node = nodes[name]
        labels = node.metadata.labels
        assert labels["nvidia.com/gpu.product"] == product
        assert labels["nvidia.com/gpu.count"] == count
        assert "node-role.kubernetes.io/simulated" in labels  # ROLES: simulated
        assert node.status.allocatable["nvidia.com/gpu"] == count
        assert {t.key for t in node.spec.taints} >= {"nvidia.com/gpu", "docker2k8s/simulated"}
        ready = wait_for(
            f"{name} Ready",
            lambda name=name: any(
                c.type == "Ready" and c.status == "True"
                for c in core.read_node(name).status.conditions or []
            ),
        )
        assert ready
        assert core.read_node(name).status.node_info.container_runtime_version.startswith("kwok")


def test_a_pod_asking_for_a_t4_lands_on_the_t4_node(
    kubectl, core: client.CoreV1Api, namespace: str
) -> None:
    _apply(kubectl, namespace, _pod("t4", 2, {"nvidia.com/gpu.product": "Tesla-T4"}, TOLERATIONS))

    def running_on() -> str | None:
        pod = core.read_namespaced_pod("t4", namespace)
        return pod.spec.node_name if pod.status.phase == "Running" else None

    assert wait_for("the Pod to run (as KWOK reports it)", running_on) == "gpu-t4-0"


def test_sixteen_gpus_fit_no_node_and_the_pod_stays_pending(
    kubectl, core: client.CoreV1Api, namespace: str
) -> None:
    _apply(kubectl, namespace, _pod("big", 16, {}, TOLERATIONS))
    message = wait_for(
        "the scheduler's reason", lambda: _scheduling_message(core, namespace, "big")
    )
    assert "Insufficient nvidia.com/gpu" in str(message), message
    assert core.read_namespaced_pod("big", namespace).status.phase == "Pending"


def test_without_the_tolerations_no_pool_node_takes_it(
    kubectl, core: client.CoreV1Api, namespace: str
) -> None:
    _apply(kubectl, namespace, _pod("no-tol", 1, {"nvidia.com/gpu.product": "Tesla-T4"}, []))
    message = wait_for(
        "the scheduler's reason", lambda: _scheduling_message(core, namespace, "no-tol")
    )
    assert "untolerated taint" in str(message), message
    assert core.read_namespaced_pod("no-tol", namespace).spec.node_name is None
