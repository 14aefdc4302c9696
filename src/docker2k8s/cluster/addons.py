"""The cluster's add-ons: what each one is, which images it runs, and its rendered manifests.

Manifests live in cluster/addons/<name>/*.yaml with ${placeholders} for image references (from
versions.toml) and for the few values a provider decides (manifest_values); when-ready/ holds
those applied once the add-on runs. An add-on with a kustomization.yaml is an overlay over its
project's own manifests, taken from the pinned Go module. A provider that ships an add-on itself
(kind's CoreDNS and local-path storage) lists it in `Provider.ships`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from string import Template

from rich.console import Console

from docker2k8s import images, versions
from docker2k8s.errors import D2KError
from docker2k8s.gpu import image as gpu_image
from docker2k8s.paths import cluster_dir

from . import gateway, gobuild, node_images, registry
from .gobuild import GoProgram
from .provider import Provider
from .webhooks import ServingCert


@dataclass(frozen=True)
class Image:
    """An image an add-on runs, and how to make it in Docker here (cheap when up to date)."""

    ref: str
    build: Callable[[Console], object]


@dataclass(frozen=True)
class Upstream:
    """A directory of a project's own manifests, in the Go module a program builds with."""

    program: GoProgram
    module: str
    directory: str

    def path(self) -> Path:
        return gobuild.module_source(self.program, self.module) / self.directory


@dataclass(frozen=True)
class Addon:
    name: str  # directory under cluster/addons/
    purpose: str
    images: tuple[Image, ...]
    namespace: str
    selector: str  # label selector of its Pods (kind's own copies carry the same labels)
    # A Kustomize overlay (kustomization.yaml in its directory) over this directory, linked as
    # upstream/: the project's own manifests at the pinned version, never copied.
    upstream: Upstream | None = None
    # Certificates its servers read, issued from the cluster CA; the CA is also set as the
    # caBundle of its webhook configurations and APIServices (those matching `selector`).
    certificates: tuple[ServingCert, ...] = ()
    # Add-ons it cannot work without: installed with it where d2k picks add-ons (external).
    requires: tuple[str, ...] = ()

    def directory(self) -> Path:
        return cluster_dir() / "addons" / self.name

    def manifest(self, provider: Provider) -> str:
        """Every manifest of the add-on, placeholders filled in, as one multi-document YAML."""
        values = template_values() | provider.manifest_values()
        files = {p.name: _fill(p, values) for p in sorted(self.directory().glob("*.yaml"))}
        if "kustomization.yaml" not in files:
            return "\n---\n".join(files.values())
        assert self.upstream, f"{self.name} has a kustomization but no upstream module"
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in files.items():
                Path(tmp, name).write_text(text)
            Path(tmp, "upstream").symlink_to(self.upstream.path())
            # The overlay reaches outside its directory (upstream/), which Kustomize only
            # allows when asked.
            return provider.kubectl(
                "kustomize", "--load-restrictor=LoadRestrictionsNone", tmp
            ).stdout

    def manifest_when_ready(self, provider: Provider) -> str:
        """Manifests in when-ready/, applied once the add-on's Pods are Ready: objects its own
        webhooks check (Kueue's queues), or of kinds its CRDs define."""
        values = template_values() | provider.manifest_values()
        paths = sorted((self.directory() / "when-ready").glob("*.yaml"))
        return "\n---\n".join(_fill(p, values) for p in paths)


def _fill(path: Path, values: dict[str, str]) -> str:
    try:
        return Template(path.read_text()).substitute(values)
    except (KeyError, ValueError) as error:
        raise D2KError(
            f"{path} has a placeholder d2k cannot fill in: {error}",
            "use one of " + ", ".join(sorted(values)),
        ) from None


def _node(image: node_images.NodeImage) -> Image:
    return Image(image.ref, image.ensure)


# The Debian base image: the storage helper Pods run it (busybox cannot be pulled here).
_BASE = Image(images.BASE_REF, lambda _console: images.build_images(["base"]))
ADDONS = (
    Addon(
        "coredns",
        "cluster DNS",
        (_node(node_images.COREDNS),),
        "kube-system",
        "k8s-app=kube-dns",
    ),
    Addon(
        "storage",
        "default StorageClass",
        (_node(node_images.LOCAL_PATH_PROVISIONER), _BASE),
        "local-path-storage",
        "app=local-path-provisioner",
    ),
    Addon(
        "metrics-server",
        "kubectl top, CPU autoscaling",
        (_node(node_images.METRICS_SERVER),),
        "kube-system",
        "k8s-app=metrics-server",
    ),
    Addon(
        "gpu",
        "simulated nvidia.com/gpu",
        (Image(gpu_image.image_name(), lambda _console: gpu_image.build_plugin_image()),),
        "kube-system",
        "app.kubernetes.io/name=gpu-device-plugin",
    ),
    Addon(
        "gpu-dra",
        "GPUs for ResourceClaims (DRA)",
        (_node(node_images.GPU_DRA_DRIVER),),
        "kube-system",
        "app.kubernetes.io/name=gpu-dra-driver",
    ),
    Addon(
        "registry",
        "image registry on localhost:5001 and :5002",
        (_node(node_images.REGISTRY),),
        "registry",
        "app.kubernetes.io/name=registry",
    ),
    Addon(
        "kueue",
        "batch queues with GPU quotas",
        (_node(node_images.KUEUE),),
        "kueue-system",
        "app.kubernetes.io/name=kueue,control-plane=controller-manager",
        upstream=Upstream(gobuild.KUEUE, "sigs.k8s.io/kueue", "config"),
        certificates=(
            ServingCert("kueue-webhook-server-cert", "kueue-webhook-service"),
            ServingCert("kueue-metrics-server-cert", "kueue-controller-manager-metrics-service"),
            ServingCert("kueue-visibility-server-cert", "kueue-visibility-server"),
        ),
    ),
    Addon(
        "gateway",
        f"Gateway API and Ingress (Traefik) on NodePort {gateway.HTTP_PORT}",
        (_node(node_images.TRAEFIK),),
        gateway.NAMESPACE,
        "app.kubernetes.io/name=traefik",
        upstream=Upstream(gobuild.TRAEFIK, "sigs.k8s.io/gateway-api", "config/crd"),
    ),
    Addon(
        "prometheus",
        "metrics scraped from annotated Pods",
        (_node(node_images.PROMETHEUS),),
        "monitoring",
        "app.kubernetes.io/name=prometheus",
    ),
    Addon(
        "prometheus-adapter",
        "custom metrics API from Prometheus, for HPAs",
        (_node(node_images.PROMETHEUS_ADAPTER),),
        "monitoring",
        "app.kubernetes.io/name=prometheus-adapter",
        certificates=(ServingCert("prometheus-adapter-serving-cert", "prometheus-adapter"),),
        requires=("prometheus",),
    ),
    Addon(
        "gpu-pool",
        "simulated GPU nodes (KWOK)",
        (_node(node_images.KWOK),),
        "kube-system",
        "app=kwok-controller",
    ),
)


def template_values() -> dict[str, str]:
    """Placeholders every provider's manifests share: image references from versions.toml."""
    return {
        "coredns_image": node_images.COREDNS.ref,
        "metrics_server_image": node_images.METRICS_SERVER.ref,
        "local_path_provisioner_image": node_images.LOCAL_PATH_PROVISIONER.ref,
        "helper_image": images.BASE_REF,
        "gpu_plugin_image": gpu_image.image_name(),
        "kwok_image": node_images.KWOK.ref,
        "gpu_dra_driver_image": node_images.GPU_DRA_DRIVER.ref,
        "registry_image": node_images.REGISTRY.ref,
        "kueue_image": node_images.KUEUE.ref,
        "traefik_image": node_images.TRAEFIK.ref,
        "traefik_version": versions.TRAEFIK,
        "prometheus_image": node_images.PROMETHEUS.ref,
        "prometheus_adapter_image": node_images.PROMETHEUS_ADAPTER.ref,
        "gateway_http_port": str(gateway.HTTP_PORT),
        "gateway_https_port": str(gateway.HTTPS_PORT),
        "registry_port": str(registry.PORT),
        "protected_registry_port": str(registry.PROTECTED_PORT),
        "kubernetes_version": versions.KUBERNETES,
        # The workshop's own clusters get every add-on image copied into their nodes.
        "image_pull_policy": "Never",
    }


def by_name(name: str) -> Addon:
    return next(a for a in ADDONS if a.name == name)
