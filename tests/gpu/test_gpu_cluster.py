"""On the workshop cluster: pods get simulated GPUs through the scheduler and the device plugin.

Needs `d2k cluster up` (kubeconfig context `docker2k8s`) with the gpu add-on's DaemonSet running.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException
from polling import wait_for

from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.gpu.devices import gpu_ids
from docker2k8s.gpu.image import DOCKERFILE, image_name

pytestmark = pytest.mark.cluster

RESOURCE = "nvidia.com/gpu"
EXAMPLE = DOCKERFILE.parent / "examples" / "two-gpus.yaml"
UUID_ID = r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def core() -> client.CoreV1Api:
    try:
        api_client = config.new_client_from_config(context=CONTEXT_NAME)
    except (config.ConfigException, OSError) as error:
        pytest.fail(
            f"no kubeconfig context {CONTEXT_NAME!r} ({error}): start it with `d2k cluster up`"
        )
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def gpu_node(core: client.CoreV1Api) -> client.V1Node:
    def find() -> client.V1Node | None:
        for node in core.list_node().items:
            if int((node.status.allocatable or {}).get(RESOURCE, "0")) > 0:
                return node
        return None

    return wait_for(
        f"a node advertising {RESOURCE}; is the DaemonSet kube-system/gpu-device-plugin running "
        "(kubectl -n kube-system get pods -l app.kubernetes.io/name=gpu-device-plugin)?",
        find,
        timeout=180,
        interval=2,
    )


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"d2k-gpu-test-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, grace_period_seconds=0)


def gpu_pod(name: str, gpus: int, command: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            restart_policy="Never",
            termination_grace_period_seconds=0,
            containers=[
                client.V1Container(
                    name="main",
                    image=image_name(),  # on every GPU node already: the plugin runs from it
                    image_pull_policy="Never",
                    command=["sh", "-c", command],
                    resources=client.V1ResourceRequirements(limits={RESOURCE: str(gpus)}),
                )
            ],
        ),
    )


def gpu_count(node: client.V1Node) -> int:
    return int(node.status.allocatable[RESOURCE])


def test_node_carries_gpu_feature_discovery_labels(
    core: client.CoreV1Api, gpu_node: client.V1Node
) -> None:
    name = gpu_node.metadata.name

    def labels() -> dict[str, str] | None:
        found = core.read_node(name).metadata.labels or {}
        return found if "nvidia.com/gpu.product" in found else None

    found = wait_for(f"nvidia.com/gpu.* labels on node {name}", labels, timeout=60)
    assert found["nvidia.com/gpu.count"] == str(gpu_count(gpu_node))
    assert found["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"
    assert found["nvidia.com/gpu.memory"] == "40960"


def test_pod_limited_to_two_gpus_sees_two_ids(
    core: client.CoreV1Api, namespace: str, gpu_node: client.V1Node
) -> None:
    pod = yaml.safe_load(EXAMPLE.read_text())  # the file the add-on's README shows
    assert pod["spec"]["containers"][0]["resources"]["limits"][RESOURCE] == 2
    # The dynamic client sends the YAML as kubectl does (the typed one rejects `2` as a quantity).
    pods = dynamic.DynamicClient(core.api_client).resources.get(api_version="v1", kind="Pod")
    pods.create(body=pod, namespace=namespace)

    def finished() -> str | None:
        phase = core.read_namespaced_pod("two-gpus", namespace).status.phase
        return phase if phase in ("Succeeded", "Failed") else None

    assert wait_for("the 2-GPU pod to finish", finished, timeout=120) == "Succeeded"
    log = core.read_namespaced_pod_log("two-gpus", namespace)
    match = re.search(r"^NVIDIA_VISIBLE_DEVICES=(.*)$", log, re.MULTILINE)
    assert match, log
    ids = match.group(1).split(",")
    assert len(ids) == 2 and len(set(ids)) == 2, log
    assert all(re.fullmatch(UUID_ID, i) for i in ids), log
    scheduled_on = core.read_namespaced_pod("two-gpus", namespace).spec.node_name
    node = core.read_node(scheduled_on)
    assert set(ids) <= set(gpu_ids(scheduled_on, gpu_count(node)))


def test_pod_asking_for_more_gpus_than_exist_stays_pending(
    core: client.CoreV1Api, namespace: str, gpu_node: client.V1Node
) -> None:
    gpu_nodes = [n for n in core.list_node().items if RESOURCE in (n.status.allocatable or {})]
    too_many = max(gpu_count(n) for n in gpu_nodes) + 1
    core.create_namespaced_pod(namespace, gpu_pod("too-many", too_many, "sleep 3600"))

    def insufficient() -> str | None:
        try:
            events = core.list_namespaced_event(
                namespace, field_selector="involvedObject.name=too-many"
            ).items
        except ApiException:
            return None
        for event in events:
            if event.reason == "FailedScheduling" and f"Insufficient {RESOURCE}" in (
                event.message or ""
            ):
                return event.message
        return None

    message = wait_for(f"an 'Insufficient {RESOURCE}' event", insufficient, timeout=90, interval=2)
    assert f"Insufficient {RESOURCE}" in message
    assert core.read_namespaced_pod("too-many", namespace).status.phase == "Pending"
