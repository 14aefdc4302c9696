"""Kueue on the workshop cluster: a flavor per GPU product, the ClusterQueue `gpus`, webhooks
trusted through the cluster CA, and a Job over quota held suspended until quota frees."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster.node_images import PAUSE

pytestmark = pytest.mark.cluster

REAL_GPU = "NVIDIA-A100-SXM4-40GB"  # the real node's simulated GPUs: 8, and the flavor's quota


def _job(name: str, gpus: int) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "team"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 0,
                    "nodeSelector": {"nvidia.com/gpu.product": REAL_GPU},
                    "containers": [
                        {
                            "name": "train",
                            "image": PAUSE.ref,  # runs until deleted: holds its GPUs
                            "imagePullPolicy": "Never",
                            "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                        }
                    ],
                }
            },
        },
    }


def test_a_flavor_for_each_gpu_product_of_the_nodes(kubectl, core: client.CoreV1Api) -> None:
    products = {
        n.metadata.labels["nvidia.com/gpu.product"]
        for n in core.list_node().items
        if "nvidia.com/gpu.product" in n.metadata.labels
    }
    flavors = json.loads(kubectl("get", "resourceflavors", "-o", "json").stdout)["items"]
    assert {f["spec"]["nodeLabels"]["nvidia.com/gpu.product"] for f in flavors} == products
    queue = json.loads(kubectl("get", "clusterqueue", "gpus", "-o", "json").stdout)
    active = {c["type"]: c["status"] for c in queue["status"]["conditions"]}
    assert active.get("Active") == "True", queue["status"]


def test_webhooks_trust_the_cluster_ca(cluster, kubectl) -> None:
    import base64

    bundle = base64.b64encode(cluster.cluster_ca()[0].encode()).decode()
    for kind in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        listed = kubectl("get", kind, "-l", "app.kubernetes.io/name=kueue", "-o", "json").stdout
        hooks = [h for c in json.loads(listed)["items"] for h in c["webhooks"]]
        assert hooks and all(h["clientConfig"].get("caBundle") == bundle for h in hooks), kind


def test_a_job_over_quota_waits_suspended_until_quota_frees(
    kubectl, core: client.CoreV1Api, namespace: str
) -> None:
    local_queue = {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "LocalQueue",
        "metadata": {"name": "team"},
        "spec": {"clusterQueue": "gpus"},
    }
    for manifest in (local_queue, _job("first", 8), _job("second", 8)):
        kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))

    def suspended(name: str) -> bool:
        job = json.loads(kubectl("-n", namespace, "get", "job", name, "-o", "json").stdout)
        return job["spec"].get("suspend", False)

    def running(name: str) -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
        return any(p.status.phase == "Running" for p in pods)

    def pending_reason() -> str:
        workloads = json.loads(kubectl("-n", namespace, "get", "workloads", "-o", "json").stdout)
        for w in workloads["items"]:
            if w["metadata"]["ownerReferences"][0]["name"] == "second":
                return " ".join(
                    c["message"] for c in w.get("status", {}).get("conditions", [])
                    if c["type"] == "QuotaReserved" and c["status"] == "False"
                )  # fmt: skip
        return ""

    wait_for("the first Job admitted and running", lambda: running("first"), 90)
    assert "insufficient" in wait_for("the second Job's reason", pending_reason, 60).lower()
    assert suspended("second") and not running("second")

    kubectl("-n", namespace, "delete", "job", "first", "--cascade=foreground")
    wait_for("the second Job admitted once quota freed", lambda: not suspended("second"), 90)
    wait_for("the second Job running", lambda: running("second"), 90)


def test_up_puts_back_a_deleted_queue(cluster, kubectl) -> None:
    """A warm `up` skips the queues when they are unchanged and present, not when one is gone."""
    from docker2k8s import cluster as clusters

    kubectl("delete", "clusterqueue", "gpus")
    clusters.up(cluster.name)
    assert kubectl("get", "clusterqueue", "gpus", "-o", "name").stdout.strip() == (
        "clusterqueue.kueue.x-k8s.io/gpus"
    )
