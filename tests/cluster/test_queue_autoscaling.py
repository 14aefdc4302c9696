"""Lab 11's queue autoscaling, end to end on the workshop cluster: Prometheus scrapes the inference
Pods (they ask with the prometheus.io annotations), prometheus-adapter serves their
`tgi_queue_size` as a custom metric, and the HorizontalPodAutoscaler of apps/k8s/autoscaling/
scales the Deployment from 1 to 3 replicas while concurrent generate requests queue up, and back
to 1 once they stop. Real server, real metrics, nothing mocked.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client, config
from kubernetes.utils.quantity import parse_quantity
from polling import wait_for

from docker2k8s.cluster import Provider
from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.images import image_id, image_refs
from docker2k8s.paths import REPO_ROOT

pytestmark = pytest.mark.cluster

K8S = REPO_ROOT / "apps" / "k8s"
MANIFESTS = [
    K8S / "autoscaling" / "inference-deployment.yaml",
    K8S / "inference-service.yaml",
    K8S / "autoscaling" / "inference-queue-hpa.yaml",
]
INFERENCE = image_refs(["inference"])[0]
METRIC = "tgi_queue_size"
# 24 clients, each sending its next request as soon as the last is answered: 20 of them wait
# on one replica (4 generate at once), about 4 per replica on 3, over the HPA's target of 2.
CLIENTS = 24
REQUEST = {"inputs": "What is a pod?", "parameters": {"max_new_tokens": 40}}


def _custom_metric(kubectl, namespace: str) -> list[dict]:
    """The custom metrics API's answer for every Pod of the namespace, as an HPA reads it."""
    path = f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/{namespace}/pods/*/{METRIC}"
    return json.loads(kubectl("get", "--raw", path).stdout)["items"]


class Load:
    """CLIENTS threads sending generate requests through the API server's proxy to the Service
    (each request goes to one of its ready Pods), until stopped."""

    def __init__(self, cluster: Provider, namespace: str) -> None:
        configuration = client.Configuration()
        config.load_kube_config(
            str(cluster.kubeconfig()), context=CONTEXT_NAME, client_configuration=configuration
        )
        configuration.connection_pool_maxsize = CLIENTS
        self.api = client.ApiClient(configuration)
        path = f"/api/v1/namespaces/{namespace}/services/inference:http/proxy/generate"
        method, url, headers, body, _ = self.api.param_serialize(
            "POST", path, header_params={"Content-Type": "application/json"}, body=REQUEST,
            auth_settings=["BearerToken"],
        )  # fmt: skip
        self.request = (method, url, headers, body)
        self.stop = threading.Event()
        self.answered = 0
        self.failed: list[str] = []

    def _client(self) -> None:
        while not self.stop.is_set():
            try:
                response = self.api.call_api(*self.request, _request_timeout=60)
                response.read()  # the whole answer: generation ends before the next request
                if response.status != 200:
                    raise RuntimeError(f"{response.status}: {response.data[:200]!r}")
                self.answered += 1
            except Exception as error:  # a replica going away mid-request; counted, not fatal
                self.failed.append(repr(error)[:200])
                time.sleep(0.5)

    def __enter__(self) -> Load:
        self.pool = ThreadPoolExecutor(CLIENTS)
        for _ in range(CLIENTS):
            self.pool.submit(self._client)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.pool.shutdown(wait=True)
        self.api.close()


def test_the_custom_metrics_api_is_trusted_through_the_cluster_ca(
    cluster: Provider, kubectl
) -> None:
    """The API server verifies prometheus-adapter's certificate (no insecureSkipTLSVerify)."""
    bundle = base64.b64encode(cluster.cluster_ca()[0].encode()).decode()
    listed = kubectl("get", "apiservices", "-l", "app.kubernetes.io/name=prometheus-adapter",
                     "-o", "json").stdout  # fmt: skip
    services = json.loads(listed)["items"]
    assert sorted(s["metadata"]["name"] for s in services) == [
        "v1beta1.custom.metrics.k8s.io",
        "v1beta2.custom.metrics.k8s.io",
    ]
    for service in services:
        assert service["spec"].get("caBundle") == bundle, service["metadata"]["name"]
        assert not service["spec"].get("insecureSkipTLSVerify"), service["metadata"]["name"]
        available = {c["type"]: c["status"] for c in service["status"]["conditions"]}
        assert available.get("Available") == "True", service["status"]


@pytest.fixture
def inference(cluster: Provider, kubectl, namespace: str) -> Iterator[str]:
    """The Deployment, its Service and the queue HPA of apps/k8s, as a learner applies them."""
    if image_id(INFERENCE) is None:
        pytest.fail(f"no Docker image {INFERENCE}: build it with `d2k images build inference`")
    cluster.load_image(INFERENCE)
    kubectl("-n", namespace, "apply", *(arg for m in MANIFESTS for arg in ("-f", str(m))))
    kubectl("-n", namespace, "rollout", "status", "deployment/inference", "--timeout=180s",
            timeout=200)  # fmt: skip
    yield namespace


def test_the_queue_scales_the_inference_server_up_and_back_down(
    inference: str, cluster: Provider, kubectl, apps: client.AppsV1Api
) -> None:
    namespace = inference
    autoscaling = client.AutoscalingV2Api(apps.api_client)

    def replicas() -> int:
        return apps.read_namespaced_deployment("inference", namespace).spec.replicas

    def hpa_reads_the_queue() -> bool:
        status = autoscaling.read_namespaced_horizontal_pod_autoscaler("inference", namespace)
        conditions = {c.type: c.status for c in status.status.conditions or []}
        return conditions.get("ScalingActive") == "True"

    # Idle: Prometheus has scraped the Pod, the adapter serves its queue (0), the HPA reads it.
    idle = wait_for(f"{METRIC} of the idle Pod", lambda: _custom_metric(kubectl, namespace), 90)
    assert [parse_quantity(i["value"]) for i in idle] == [0], idle
    wait_for("the HPA reading the custom metric", hpa_reads_the_queue, 60)
    assert replicas() == 1

    times: dict[str, float] = {}
    start = time.monotonic()
    with Load(cluster, namespace) as load:

        def queued() -> list[dict]:
            items = _custom_metric(kubectl, namespace)
            return items if sum(parse_quantity(i["value"]) for i in items) >= 2 else []

        # The API the HPA reads returns the queue, Pod by Pod, while requests wait.
        items = wait_for(f"{METRIC} over 2 in the custom metrics API", queued, 60)
        pods = [i["describedObject"] for i in items]
        assert all(p["kind"] == "Pod" and p["name"].startswith("inference-") for p in pods), items
        assert {i["metric"]["name"] for i in items} == {METRIC}, items
        times["queue seen"] = time.monotonic() - start
        wait_for("a second replica", lambda: replicas() >= 2, 120)
        times["2 replicas"] = time.monotonic() - start
        wait_for("the third replica", lambda: replicas() == 3, 120)
        times["3 replicas"] = time.monotonic() - start
        ready = wait_for(
            "3 replicas ready",
            lambda: (
                apps.read_namespaced_deployment("inference", namespace).status.ready_replicas == 3
            ),
            120,
        )
        assert ready
        times["3 ready"] = time.monotonic() - start
        time.sleep(10)  # the new replicas take requests too
    stopped = time.monotonic()
    assert load.answered > CLIENTS, (load.answered, load.failed[:3])

    wait_for("the scale-down to 1 replica", lambda: replicas() == 1, 180)
    times["back to 1 after the load"] = time.monotonic() - stopped
    assert all(parse_quantity(i["value"]) == 0 for i in _custom_metric(kubectl, namespace))
    print(f"queue autoscaling, seconds: {times}; {load.answered} answers, "
          f"{len(load.failed)} failed")  # fmt: skip
