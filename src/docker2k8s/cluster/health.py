"""What every workshop cluster must have, checked through the API server alone: Ready nodes,
add-on Pods Ready, what the labs use (GPUs, a default StorageClass, the metrics API, the GPU
queue, the rights to do the labs) and cluster DNS with a ready endpoint. `up` waits on some;
`status` shows all after the provider's own rows. Nothing here knows which provider runs it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from rich.console import Console

from docker2k8s.errors import D2KError

from .addons import Addon, by_name
from .provider import ComponentHealth, Provider

Check = Callable[[], tuple[bool, str]]
GPU = "nvidia.com/gpu"
PRODUCT = "nvidia.com/gpu.product"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
DEFAULT_INGRESS_CLASS = "ingressclass.kubernetes.io/is-default-class"
METRICS = "/apis/metrics.k8s.io/v1beta1/nodes"
CUSTOM_METRICS = "/apis/custom.metrics.k8s.io/v1beta2"  # what an HPA on the queue reads
QUEUE = "gpus"  # the ClusterQueue the batch labs' LocalQueues point at
# What a learner does in a lab, asked with `kubectl auth can-i`.
LAB_VERBS = (
    ("create", "namespaces"),
    ("create", "deployments.apps"),
    ("create", "services"),
    ("create", "persistentvolumeclaims"),
    ("create", "jobs.batch"),
    ("create", "pods/exec"),
)


def _items(provider: Provider, *args: str) -> list[dict]:
    done = provider.kubectl("get", *args, "-o", "json", check=False, timeout=20)
    if done.returncode != 0:
        raise D2KError(f"kubectl get {' '.join(args)}: {done.stderr.strip()}")
    return json.loads(done.stdout)["items"]


def nodes_ready(provider: Provider, selector: str = "") -> tuple[bool, str]:
    """Whether every node (or those `selector` picks) says Ready."""
    try:
        nodes = _items(provider, "nodes", *(["-l", selector] if selector else []))
    except D2KError as error:
        return False, error.problem
    states = {
        n["metadata"]["name"]: next(
            (c["status"] for c in n["status"].get("conditions", []) if c["type"] == "Ready"),
            "Unknown",
        )
        for n in nodes
    }
    ready = bool(states) and all(s == "True" for s in states.values())
    return ready, ", ".join(f"{n} Ready={s}" for n, s in states.items()) or "no nodes yet"


def _condition(obj: dict, kind: str) -> bool:
    """Whether the object's status has condition `kind` (Ready, Active, Accepted) True."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def _defaults(objects: list[dict], annotation: str) -> list[str]:
    """Names of the objects marked as the cluster's default class by `annotation`."""
    return [
        o["metadata"]["name"]
        for o in objects
        if (o["metadata"].get("annotations") or {}).get(annotation) == "true"
    ]


def _rolled_out(workload: dict) -> bool:
    """Every replica of a Deployment or DaemonSet runs its newest template and is available."""
    status = workload.get("status", {})
    if status.get("observedGeneration", 0) < workload["metadata"]["generation"]:
        return False
    if workload["kind"] == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        return status.get("updatedNumberScheduled", 0) == want == status.get("numberAvailable", 0)
    want = workload["spec"].get("replicas", 1)
    counts = ("replicas", "updatedReplicas", "availableReplicas")
    return all(status.get(count, 0) == want for count in counts)


def addon_ready(provider: Provider, addon: Addon) -> tuple[bool, str]:
    """Its Pods Ready, and none of them from a template being replaced: during a rollout the old
    Pod is still Ready (and still serves the old webhook certificate)."""
    try:
        pods = _items(provider, "pods", "-n", addon.namespace, "-l", addon.selector)
        workloads = _items(
            provider, "deployments,daemonsets", "-n", addon.namespace, "-l", addon.selector
        )
    except D2KError as error:
        return False, error.problem
    rolling = [w["metadata"]["name"] for w in workloads if not _rolled_out(w)]
    if rolling:
        return False, f"rolling out {', '.join(rolling)} in {addon.namespace}"
    ready = [p["metadata"]["name"] for p in pods if _condition(p, "Ready")]
    detail = f"{len(ready)}/{len(pods)} Pods Ready in {addon.namespace}"
    return bool(pods) and len(ready) == len(pods), detail


def dns_ready(provider: Provider) -> tuple[bool, str]:
    """A ready kube-dns endpoint whose CoreDNS answers its readiness endpoint now, asked through
    the API server's proxy: an EndpointSlice alone can still show a Pod from before a restart."""
    try:
        slices = _items(
            provider,
            "endpointslices",
            "-n",
            "kube-system",
            "-l",
            "kubernetes.io/service-name=kube-dns",
        )
    except D2KError as error:
        return False, error.problem
    pods = {
        e["targetRef"]["name"]: e["addresses"][0]
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready") and e.get("targetRef")
    }
    for pod, address in pods.items():
        path = f"/api/v1/namespaces/kube-system/pods/{pod}:8181/proxy/ready"
        done = provider.kubectl("get", "--raw", path, check=False, timeout=10)
        if done.returncode == 0 and done.stdout.strip() == "OK":
            return True, f"CoreDNS {pod} ({address}) ready"
    return False, f"kube-dns endpoints ready: {', '.join(pods.values()) or 'none'}, none answers"


def gpus(provider: Provider) -> tuple[bool, str]:
    nodes = _items(provider, "nodes")
    count = sum(int(n["status"].get("allocatable", {}).get(GPU, "0")) for n in nodes)
    products = sorted(
        {n["metadata"]["labels"][PRODUCT] for n in nodes if PRODUCT in n["metadata"]["labels"]}
    )
    if not count:
        return False, (
            f"no node offers {GPU}: install NVIDIA's device plugin (or GPU Operator), or use "
            "the workshop's own cluster (`d2k cluster up`), whose GPUs are simulated"
        )
    return True, f"{count} {GPU} on the nodes; products: {', '.join(products) or 'unlabelled'}"


def default_storage(provider: Provider) -> tuple[bool, str]:
    classes = _items(provider, "storageclasses")
    default = _defaults(classes, DEFAULT_CLASS)
    if default:
        return True, f"default StorageClass {default[0]}"
    names = ", ".join(c["metadata"]["name"] for c in classes) or "none"
    return False, (
        f"no default StorageClass (classes: {names}): a PVC without storageClassName stays "
        f"Pending; mark one with `kubectl annotate storageclass NAME {DEFAULT_CLASS}=true`"
    )


def metrics_api(provider: Provider) -> tuple[bool, str]:
    done = provider.kubectl("get", "--raw", METRICS, check=False, timeout=10)
    if done.returncode == 0:
        return True, f"{METRICS} answers (kubectl top)"
    return False, (
        f"{METRICS}: {done.stderr.strip()[-200:]}; install metrics-server for `kubectl top` "
        "and CPU autoscaling"
    )


def custom_metrics_api(provider: Provider) -> tuple[bool, str]:
    """The custom metrics API answers: lab 11 scales the inference server on its queue."""
    done = provider.kubectl("get", "--raw", CUSTOM_METRICS, check=False, timeout=10)
    if done.returncode != 0:
        return False, (
            f"{CUSTOM_METRICS}: {done.stderr.strip()[-200:]}; autoscaling on the inference "
            "queue needs Prometheus and prometheus-adapter (cluster/addons/prometheus, "
            "cluster/addons/prometheus-adapter)"
        )
    resources = json.loads(done.stdout).get("resources") or []
    names = sorted({r["name"].split("/", 1)[-1] for r in resources})
    return True, f"{CUSTOM_METRICS} answers, {len(names)} metrics of scraped Pods"


def gpu_queue(provider: Provider) -> tuple[bool, str]:
    done = provider.kubectl("get", "clusterqueue", QUEUE, "-o", "json", check=False, timeout=10)
    if done.returncode != 0:
        return False, (
            f"no Kueue ClusterQueue {QUEUE}: {done.stderr.strip()[-200:]}; the batch labs "
            "need Kueue and a ClusterQueue named gpus (cluster/addons/kueue)"
        )
    active = _condition(json.loads(done.stdout), "Active")
    return active, f"ClusterQueue {QUEUE} " + ("active" if active else "not active")


def ingress_and_gateway(provider: Provider) -> tuple[bool, str]:
    """A default IngressClass and an accepted GatewayClass: how lab 12 exposes the chat app."""
    default = _defaults(_items(provider, "ingressclasses"), DEFAULT_INGRESS_CLASS)
    done = provider.kubectl("get", "gatewayclasses", "-o", "json", check=False, timeout=10)
    gateway_classes = json.loads(done.stdout)["items"] if done.returncode == 0 else []
    accepted = [c["metadata"]["name"] for c in gateway_classes if _condition(c, "Accepted")]
    missing = []
    if not default:
        missing.append(f"no default IngressClass (annotate one {DEFAULT_INGRESS_CLASS}=true)")
    if not accepted:
        missing.append(
            "no accepted GatewayClass (install the Gateway API CRDs and a controller, "
            "e.g. Traefik: cluster/addons/gateway)"
        )
    if missing:
        return False, "; ".join(missing)
    return True, f"IngressClass {default[0]} (default), GatewayClass {', '.join(accepted)}"


def permissions(provider: Provider) -> tuple[bool, str]:
    missing = [
        f"{verb} {resource}"
        for verb, resource in LAB_VERBS
        if provider.kubectl("auth", "can-i", verb, resource, check=False, timeout=10).stdout.strip()
        != "yes"
    ]
    if missing:
        return False, (
            f"not allowed: {', '.join(missing)}; ask the cluster's admins for these rights "
            "(each lab makes its own namespace)"
        )
    return True, f"may {', '.join(f'{v} {r}' for v, r in LAB_VERBS)}"


# What the labs use, how to check it, and the workshop's add-on that provides it (None: only
# the cluster's admins can: real GPUs need NVIDIA's device plugin, rights need RBAC).
LAB_NEEDS: tuple[tuple[str, Callable[[Provider], tuple[bool, str]], str | None], ...] = (
    ("GPUs", gpus, None),
    ("default StorageClass", default_storage, "storage"),
    ("metrics API", metrics_api, "metrics-server"),
    ("custom metrics API (queue autoscaling)", custom_metrics_api, "prometheus-adapter"),
    ("batch queue (Kueue)", gpu_queue, "kueue"),
    ("Ingress and Gateway API", ingress_and_gateway, "gateway"),
    ("permissions for the labs", permissions, None),
)


def lab_needs(provider: Provider) -> list[ComponentHealth]:
    """What the labs use, checked the same way on any cluster; a missing one says the fix."""
    rows = []
    for name, check, _addon in LAB_NEEDS:
        try:
            rows.append(ComponentHealth(name, *check(provider)))
        except D2KError as error:
            rows.append(ComponentHealth(name, False, error.problem))
    return rows


def addons_for_missing_needs(provider: Provider) -> list[str]:
    """The workshop add-ons that would provide what this cluster lacks (with those they need:
    prometheus-adapter reads Prometheus)."""
    provides = {name: addon for name, _check, addon in LAB_NEEDS if addon}
    missing = [row.name for row in lab_needs(provider) if not row.healthy]
    chosen = [provides[name] for name in missing if name in provides]
    return [needed for name in chosen for needed in (*by_name(name).requires, name)]


def cluster_rows(provider: Provider) -> list[ComponentHealth]:
    from .actions import installed_addons

    rows = [ComponentHealth("nodes", *nodes_ready(provider))]
    rows += [
        ComponentHealth(f"add-on {a.name} ({a.purpose})", *addon_ready(provider, a))
        for a in installed_addons(provider)
    ]
    rows += lab_needs(provider)
    rows.append(ComponentHealth("cluster DNS", *dns_ready(provider)))
    return rows


def wait(console: Console, what: str, check: Check, timeout: float, hint: str = "") -> None:
    """Poll `check` until it passes; a D2KError with its last answer after `timeout` s."""
    deadline = time.monotonic() + timeout
    detail = ""
    with console.status(f"waiting for {what}") as status:
        while time.monotonic() < deadline:
            ok, detail = check()
            if ok:
                console.print(f"[green]✓[/] {what}: {detail}")
                return
            status.update(f"waiting for {what}: {detail}")
            time.sleep(0.5)
    raise D2KError(
        f"{what} did not become ready within {timeout:.0f} s: {detail}.",
        hint or "`d2k cluster status` shows each part and its log",
    )
