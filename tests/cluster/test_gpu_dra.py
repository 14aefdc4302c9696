"""Dynamic Resource Allocation of the simulated GPUs: claims select a GPU by CEL on its
attributes; the scheduler finds a matching device or says why not; on the real node the driver
prepares the claim and the container sees the GPU it was given."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client
from polling import wait_for

pytestmark = pytest.mark.cluster

DRIVER = "gpu.nvidia.com"
POOL_TOLERATIONS = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "docker2k8s/simulated", "operator": "Exists", "effect": "NoSchedule"},
]


def _claim_and_pod(name: str, cel: str, image: str, tolerations: list[dict]) -> str:
    claim = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": name},
        "spec": {
            "devices": {
                "requests": [
                    {
                        "name": "gpu",
                        "exactly": {
                            "deviceClassName": DRIVER,
                            "selectors": [{"cel": {"expression": cel}}],
                        },
                    }
                ]
            }
        },
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "tolerations": tolerations,
            "terminationGracePeriodSeconds": 0,
            "resourceClaims": [{"name": "gpu", "resourceClaimName": name}],
            "containers": [
                {
                    "name": "train",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "args": ["sleep"],
                    "resources": {"claims": [{"name": "gpu"}]},
                }
            ],
        },
    }
    return yaml.safe_dump_all([claim, pod])


def _allocated(kubectl, namespace: str, name: str) -> dict | None:
    claim = json.loads(kubectl("-n", namespace, "get", "resourceclaim", name, "-o", "json").stdout)
    allocation = claim.get("status", {}).get("allocation")
    return allocation["devices"]["results"][0] if allocation else None


def _slices(kubectl) -> list[dict]:
    return json.loads(kubectl("get", "resourceslices", "-o", "json").stdout)["items"]


def test_every_node_publishes_its_gpus_for_claims(kubectl, core: client.CoreV1Api) -> None:
    kubectl("get", "deviceclass", DRIVER)
    nodes = {n.metadata.name for n in core.list_node().items}

    def every_node_published() -> list[dict] | None:
        slices = _slices(kubectl)
        return slices if {s["spec"]["nodeName"] for s in slices} >= nodes else None

    slices = wait_for("a ResourceSlice for every node", every_node_published)
    for piece in slices:  # type: ignore[union-attr]
        assert piece["spec"]["driver"] == DRIVER
        for device in piece["spec"]["devices"]:
            attributes = device["attributes"]
            assert {"index", "uuid", "productName", "architecture"} <= set(attributes)
            assert device["capacity"]["memory"]["value"].endswith("Gi")


@pytest.mark.parametrize(
    ("cel", "nodes"),
    [
        (
            f'device.capacity["{DRIVER}"].memory.compareTo(quantity("80Gi")) >= 0',
            {"gpu-a100-0", "gpu-a100-1"},
        ),
        (f'device.attributes["{DRIVER}"].productName == "Tesla-T4"', {"gpu-t4-0"}),
    ],
    ids=["80GiB-or-more", "a-T4"],
)
def test_a_claim_lands_on_a_matching_device(
    kubectl, core: client.CoreV1Api, namespace: str, echo_image: str, cel: str, nodes: set[str]
) -> None:
    manifest = _claim_and_pod("pick", cel, echo_image, POOL_TOLERATIONS)
    kubectl("-n", namespace, "apply", "-f", "-", stdin=manifest)
    result = wait_for("the claim's allocation", lambda: _allocated(kubectl, namespace, "pick"))
    assert result["pool"] in nodes, result  # type: ignore[index]
    pod = wait_for(
        "the Pod to be scheduled",
        lambda: core.read_namespaced_pod("pick", namespace).spec.node_name,
    )
    assert pod == result["pool"]  # type: ignore[index]


def test_an_impossible_claim_leaves_the_pod_pending_with_the_reason(
    kubectl, core: client.CoreV1Api, namespace: str, echo_image: str
) -> None:
    cel = f'device.attributes["{DRIVER}"].productName == "NVIDIA-H100-80GB-HBM3"'
    manifest = _claim_and_pod("h100", cel, echo_image, POOL_TOLERATIONS)
    kubectl("-n", namespace, "apply", "-f", "-", stdin=manifest)

    def reason() -> str:
        events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=h100")
        return " ".join(e.message for e in events.items if e.reason == "FailedScheduling")

    message = str(wait_for("the scheduler's reason", reason))
    assert "cannot allocate all claims" in message, message
    assert core.read_namespaced_pod("h100", namespace).status.phase == "Pending"
    assert _allocated(kubectl, namespace, "h100") is None


def test_on_the_real_node_the_container_sees_its_allocated_gpu(
    kubectl, namespace: str, echo_image: str
) -> None:
    """The real node's GPUs are the only 40 GB A100s: the driver prepares the claim there and
    CDI gives the container that GPU's UUID, as NVIDIA's stack would."""
    cel = f'device.attributes["{DRIVER}"].productName == "NVIDIA-A100-SXM4-40GB"'
    kubectl("-n", namespace, "apply", "-f", "-", stdin=_claim_and_pod("real", cel, echo_image, []))
    kubectl("-n", namespace, "wait", "--for=condition=Ready", "pod/real", "--timeout=120s")
    result = _allocated(kubectl, namespace, "real")
    assert result is not None
    (piece,) = [s for s in _slices(kubectl) if s["spec"]["pool"]["name"] == result["pool"]]
    (device,) = [d for d in piece["spec"]["devices"] if d["name"] == result["device"]]
    visible = kubectl(
        "-n", namespace, "exec", "real", "--", "/echo", "env", "NVIDIA_VISIBLE_DEVICES"
    )
    assert visible.stdout.strip() == device["attributes"]["uuid"]["string"]
