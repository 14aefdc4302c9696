"""The versions docker2k8s pins, read from the repository's one file of pins, versions.toml."""

from __future__ import annotations

import tomllib

from docker2k8s.paths import REPO_ROOT

PINS_FILE = REPO_ROOT / "versions.toml"
PINS: dict[str, str] = tomllib.loads(PINS_FILE.read_text())

KUBERNETES = PINS["kubernetes"]
ETCD = PINS["etcd"]
COREDNS = PINS["coredns"]
METRICS_SERVER = PINS["metrics-server"]
CONTAINERD = PINS["containerd"]
RUNC = PINS["runc"]
LOCAL_PATH_PROVISIONER = PINS["local-path-provisioner"]
KWOK = PINS["kwok"]
REGISTRY = PINS["registry"]
KUEUE = PINS["kueue"]
TRAEFIK = PINS["traefik"]
GATEWAY_API = PINS["gateway-api"]
PROMETHEUS = PINS["prometheus"]
PROMETHEUS_ADAPTER = PINS["prometheus-adapter"]
COMPOSE = PINS["compose"]
KIND = PINS["kind"]
KOMPOSE = PINS["kompose"]
KIND_NODE_IMAGE = PINS["kind-node-image"]
PAUSE = PINS["pause"]
APPS = PINS["apps"]


def kubernetes_minor() -> str:
    """`1.37` for v1.37.2: what docs say when they name the release, not the patch."""
    return ".".join(KUBERNETES.lstrip("v").split(".")[:2])
