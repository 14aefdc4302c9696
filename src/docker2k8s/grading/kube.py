"""Kubernetes-aware conditions for `check`: each returns what it found or raises AssertionError
saying what it saw instead, so a FAIL line tells the learner where they are.

They read cluster state through the official client, using the kubeconfig context `docker2k8s`
(the workshop cluster) when it exists, else the current context; D2K_KUBE_CONTEXT overrides both.
"""

from __future__ import annotations

import os
import re
import time
from functools import cache
from typing import Any

from kubernetes import config, dynamic
from kubernetes.client import ApiClient
from kubernetes.dynamic.exceptions import NotFoundError

from docker2k8s.cluster.names import CONTEXT_NAME

# The kinds labs ask about, so learners can write "Deployment" instead of an apiVersion.
API_VERSIONS = {
    "Pod": "v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "PersistentVolumeClaim": "v1",
    "PersistentVolume": "v1",
    "Namespace": "v1",
    "Node": "v1",
    "Event": "v1",
    "ResourceQuota": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "LocalQueue": "kueue.x-k8s.io/v1beta2",
    "Workload": "kueue.x-k8s.io/v1beta2",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "Ingress": "networking.k8s.io/v1",
    "Gateway": "gateway.networking.k8s.io/v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "StorageClass": "storage.k8s.io/v1",
    "PriorityClass": "scheduling.k8s.io/v1",
    "ResourceClaim": "resource.k8s.io/v1",
    "ResourceSlice": "resource.k8s.io/v1",
}


@cache
def client() -> dynamic.DynamicClient:
    try:
        contexts, _ = config.list_kube_config_contexts()
        names = {c["name"] for c in contexts}
        named = os.environ.get("D2K_KUBE_CONTEXT")
        wanted = named or (CONTEXT_NAME if CONTEXT_NAME in names else None)
        configuration = config.new_client_from_config(context=wanted).configuration
    except config.ConfigException as error:  # no kubeconfig, or no current context after `down`
        raise AssertionError(
            f"no cluster to read ({error}): start the workshop's with `d2k cluster up`, or pick "
            "one with `kubectl config use-context NAME`"
        ) from None
    return dynamic.DynamicClient(ApiClient(configuration))


def _resource(kind: str):
    if kind not in API_VERSIONS:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(sorted(API_VERSIONS))}")
    return client().resources.get(api_version=API_VERSIONS[kind], kind=kind)


def get(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    """The object as a dict; AssertionError naming it when it does not exist."""
    try:
        return _resource(kind).get(name=name, namespace=namespace).to_dict()
    except NotFoundError:
        where = f" in namespace {namespace}" if namespace else ""
        raise AssertionError(f"no {kind} named {name!r}{where}") from None


def list_objects(
    kind: str, namespace: str | None = None, selector: str | None = None
) -> list[dict[str, Any]]:
    found = _resource(kind).get(namespace=namespace, label_selector=selector)
    return found.to_dict()["items"]


def node_has_image(ref: str) -> bool:
    """Some node lists `ref` among its images (the kubelet reports docker.io/REF for REF)."""
    return any(
        name == ref or name.endswith("/" + ref)
        for node in list_objects("Node")
        for image in (node.get("status") or {}).get("images") or []
        for name in image.get("names") or []
    )


def field(obj: dict[str, Any], path: str) -> Any:
    """Read a dotted path with list indexes, e.g. `spec.template.spec.containers[0].image`."""
    value: Any = obj
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        except (KeyError, IndexError, TypeError):
            raise AssertionError(f"{path} is not set") from None
    return value


def has_field(kind: str, name: str, namespace: str | None, path: str, expected: Any) -> Any:
    actual = field(get(kind, name, namespace), path)
    if actual != expected:
        raise AssertionError(f"{kind} {name}: {path} is {actual!r}, expected {expected!r}")
    return actual


class WillNotHappen(AssertionError):
    """A failed condition that waiting cannot fix (an image the node cannot pull, say)."""


def eventually(condition, timeout: float = 10, interval: float = 1.0):
    """Retry `condition` until it stops raising AssertionError or `timeout` passes: controllers
    need a moment to catch up, so a check's condition may want a few tries."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return condition()
        except WillNotHappen:
            raise
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)


def pod_is_ready(pod: dict[str, Any]) -> bool:
    """The Pod's Ready condition is True: it passes its readiness probe and gets traffic."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# A container waiting for one of these will not start by waiting longer: its image must change.
UNPULLABLE = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")


def pod_ready(name: str, namespace: str, timeout: float = 60) -> dict[str, Any]:
    """The Pod exists and its Ready condition is True (waiting up to `timeout` seconds). It fails
    at once, naming why, when the Pod has not appeared within 5 s (a person makes a bare Pod; a
    StatefulSet's controller makes its Pod within a moment) or its image cannot be pulled."""

    def ready() -> dict[str, Any]:
        pod = get("Pod", name, namespace)
        if not pod_is_ready(pod):
            status = pod.get("status") or {}
            for container in status.get("containerStatuses") or []:
                waiting = (container.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") in UNPULLABLE:
                    raise WillNotHappen(
                        f"Pod {name}: the node cannot pull {container['image']} "
                        f"({waiting['reason']}: {waiting.get('message', '')})"
                    )
            raise AssertionError(
                f"Pod {name} is not Ready (phase {status.get('phase', 'unknown')})"
            )
        return pod

    eventually(lambda: get("Pod", name, namespace), min(timeout, 5))
    return eventually(ready, timeout)


def pods_ready(namespace: str, selector: str, count: int, timeout: float = 90) -> list[dict]:
    """Exactly `count` Pods match `selector` and all are Ready. With none after 5 s and no
    workload in the namespace whose Pod template matches, it fails at once: none will come."""
    started = time.monotonic()

    def ready() -> list[dict]:
        pods = [
            p
            for p in list_objects("Pod", namespace, selector)
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        ]
        waited = time.monotonic() - started > 5
        if not pods and count and waited and not _a_workload_makes(namespace, selector):
            raise WillNotHappen(
                f"no Pod matches {selector!r} in namespace {namespace}, and no Deployment, "
                "ReplicaSet, StatefulSet, DaemonSet, Job or CronJob there makes one"
            )
        ready_pods = [p for p in pods if pod_is_ready(p)]
        if len(pods) != count or len(ready_pods) != count:
            raise AssertionError(
                f"{len(ready_pods)} of {len(pods)} Pods matching {selector!r} are Ready, "
                f"expected {count}"
            )
        return pods

    return eventually(ready, timeout)


# Where each workload kind keeps the labels of the Pods it makes.
TEMPLATE_LABELS = {
    "Deployment": "spec.template.metadata.labels",
    "ReplicaSet": "spec.template.metadata.labels",
    "StatefulSet": "spec.template.metadata.labels",
    "DaemonSet": "spec.template.metadata.labels",
    "Job": "spec.template.metadata.labels",
    "CronJob": "spec.jobTemplate.spec.template.metadata.labels",
}


def _a_workload_makes(namespace: str, selector: str) -> bool:
    """Some workload's Pod template carries every label of an equality `selector` (`a=b` or
    `a==b` terms joined by commas); for any other selector, assume one might."""
    wanted = {}
    for term in selector.split(","):
        key, equals, value = term.replace("==", "=").partition("=")
        if not equals or key.endswith("!") or not re.fullmatch(r"[\w./-]+", key.strip()):
            return True
        wanted[key.strip()] = value.strip()
    for kind, path in TEMPLATE_LABELS.items():
        for workload in list_objects(kind, namespace):
            labels = _labels(workload, path)
            if all(labels.get(k) == v for k, v in wanted.items()):
                return True
    return False


def _labels(workload: dict[str, Any], path: str) -> dict[str, str]:
    try:
        return field(workload, path) or {}
    except AssertionError:  # a template without labels
        return {}


def deployment_available(
    name: str, namespace: str, replicas: int | None = None, timeout: float = 120
) -> dict[str, Any]:
    """The Deployment's rollout finished: every wanted replica updated and available (waiting up
    to `timeout` seconds for the controllers; not for the Deployment itself to appear)."""

    def available() -> dict[str, Any]:
        deployment = get("Deployment", name, namespace)
        wanted = deployment["spec"].get("replicas", 1)
        status = deployment.get("status") or {}
        if replicas is not None and wanted != replicas:
            raise AssertionError(f"Deployment {name} wants {wanted} replicas, expected {replicas}")
        if (
            status.get("updatedReplicas", 0) != wanted
            or status.get("availableReplicas", 0) != wanted
        ):
            raise AssertionError(
                f"Deployment {name}: {status.get('availableReplicas', 0)}/{wanted} available"
            )
        return deployment

    get("Deployment", name, namespace)  # none yet: only a person makes one, waiting will not
    return eventually(available, timeout)
