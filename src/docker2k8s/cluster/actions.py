"""What `d2k cluster up` does once a provider's API server answers, the same on every provider.

In the shape of kind's create actions: an ordered list, each step using only the Provider
interface. Every step is idempotent, so an interrupted `up` run again picks up where it stopped.
On a cluster d2k does not run (external) the waits for its nodes and DNS are skipped, and the
add-on steps install only the add-ons `d2k cluster use --install-addons` chose (usually none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from . import health, kubeconfig, registry, webhooks
from .addons import ADDONS, Addon
from .provider import Provider


@dataclass(frozen=True)
class Action:
    name: str
    execute: Callable[[Provider, Console], None]
    managed_only: bool = False  # skipped on a cluster d2k does not run (Provider.managed)


def installed_addons(provider: Provider) -> list[Addon]:
    """The add-ons d2k installs on this provider: those it does not ship itself."""
    return [a for a in ADDONS if a.name not in provider.ships]


def load_images(provider: Provider, console: Console) -> None:
    """Build each add-on image here (cached) and copy it into the nodes (on an external cluster:
    push it to the registry its nodes pull from)."""
    for addon in installed_addons(provider):
        for image in addon.images:
            with console.status(f"image {image.ref}"):
                image.build(console)
                provider.load_image(image.ref)


# Nodes that run containers: KWOK's simulated GPU pool turns Ready only once its add-on runs.
REAL_NODES = "type!=kwok"


def wait_for_nodes(provider: Provider, console: Console) -> None:
    health.wait(console, "nodes Ready", lambda: health.nodes_ready(provider, REAL_NODES), 180)


def registry_credentials(provider: Provider, console: Console) -> None:
    if any(addon.name == "registry" for addon in installed_addons(provider)):
        registry.ensure_credentials(provider, console)


def addon_certificates(provider: Provider, console: Console) -> None:
    for addon in installed_addons(provider):
        for cert in addon.certificates:
            if webhooks.ensure_certificate(provider, addon.namespace, cert):
                console.print(f"[green]✓[/] {addon.name}: {cert.secret} from the cluster CA")


def _apply(provider: Provider, manifests: str) -> None:
    # Server-side: Kueue's CRDs are too large for client-side apply's annotation, and fields
    # set by others (webhook caBundles) survive a re-apply.
    provider.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=d2k", "-f", "-",
        stdin=manifests, timeout=300,
    )  # fmt: skip


def apply_addons(provider: Provider, console: Console) -> None:
    chosen = installed_addons(provider)
    if not chosen:
        return
    _apply(provider, "\n---\n".join(addon.manifest(provider) for addon in chosen))  # one call
    for addon in chosen:
        if addon.certificates:
            webhooks.inject_ca(provider, addon.selector)
        console.print(f"[green]✓[/] add-on {addon.name} ({addon.purpose}) applied")
    for addon in chosen:
        if later := addon.manifest_when_ready(provider):
            _apply_when_ready(provider, console, addon, later)


# Which when-ready manifests were applied, by digest: a warm `up` that finds them unchanged and
# their objects present does not wait for the add-on to start (its webhooks answer only once
# it runs, even for an apply that changes nothing).
APPLIED = "docker2k8s-applied"  # ConfigMap in the add-on's namespace


def _apply_when_ready(provider: Provider, console: Console, addon: Addon, manifests: str) -> None:
    digest = hashlib.sha256(manifests.encode()).hexdigest()
    key = f"{{.data.{addon.name}}}"
    found = provider.kubectl(
        "get", "configmap", APPLIED, "-n", addon.namespace, "-o", f"jsonpath={key}", check=False
    )
    present = provider.kubectl("get", "-f", "-", "-o", "name", stdin=manifests, check=False)
    if found.stdout == digest and found.returncode == 0 and present.returncode == 0:
        return
    health.wait(console, f"add-on {addon.name}", lambda: health.addon_ready(provider, addon), 180)
    _apply(provider, manifests)
    applied = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": APPLIED, "namespace": addon.namespace},
        "data": {addon.name: digest},
    }
    _apply(provider, json.dumps(applied))


def wait_for_dns(provider: Provider, console: Console) -> None:
    health.wait(console, "cluster DNS", lambda: health.dns_ready(provider), 180)


def merge_kubeconfig(provider: Provider, console: Console) -> None:
    target = kubeconfig.user_kubeconfig()
    kubeconfig.merge_into(target, provider.kubeconfig())
    console.print(f"[green]✓[/] kubectl context docker2k8s in {target}")


ACTIONS = (
    Action("load add-on images", load_images),
    Action("wait for nodes", wait_for_nodes, managed_only=True),
    Action("registry credentials", registry_credentials),
    Action("add-on certificates", addon_certificates),
    Action("apply add-ons", apply_addons),
    Action("wait for cluster DNS", wait_for_dns, managed_only=True),
    Action("merge kubeconfig", merge_kubeconfig),
)
