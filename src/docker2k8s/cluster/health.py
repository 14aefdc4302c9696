"""What every workshop cluster must have, checked through the API server alone: Ready nodes,
add-on Pods Ready, and cluster DNS with a ready endpoint. `up` waits on these; `status` shows
them after the provider's own rows. Nothing here knows which provider runs the cluster."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from rich.console import Console

from docker2k8s.errors import D2KError

from .addons import ADDONS, Addon
from .provider import ComponentHealth, Provider

Check = Callable[[], tuple[bool, str]]


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


def addon_ready(provider: Provider, addon: Addon) -> tuple[bool, str]:
    try:
        pods = _items(provider, "pods", "-n", addon.namespace, "-l", addon.selector)
    except D2KError as error:
        return False, error.problem
    ready = [
        p["metadata"]["name"]
        for p in pods
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    ]
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


def cluster_rows(provider: Provider) -> list[ComponentHealth]:
    rows = [ComponentHealth("nodes", *nodes_ready(provider))]
    rows += [
        ComponentHealth(f"add-on {a.name} ({a.purpose})", *addon_ready(provider, a)) for a in ADDONS
    ]
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
