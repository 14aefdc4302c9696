"""Which provider runs the workshop cluster: written by `up`, read by every later command.

Kept next to the kubeconfig whose `docker2k8s` context it describes (~/.kube), not in the
workshop's state directory: moving D2K_STATE_DIR must not make a running cluster vanish.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docker2k8s import versions


def path() -> Path:
    return Path.home() / ".kube" / "docker2k8s-cluster.json"


def save(provider: str, settings: dict[str, Any] | None = None) -> None:
    """Record the provider, and what it needs to find its cluster again (external: the context,
    the registry)."""
    path().parent.mkdir(parents=True, exist_ok=True)
    entry = {"provider": provider, "kubernetes": versions.KUBERNETES, "settings": settings or {}}
    path().write_text(json.dumps(entry) + "\n")


def _load() -> dict[str, Any]:
    try:
        entry = json.loads(path().read_text())
    except (OSError, ValueError):
        return {}
    return entry if isinstance(entry, dict) else {}


def provider() -> str | None:
    name = _load().get("provider")
    return name if isinstance(name, str) else None


def settings() -> dict[str, Any]:
    found = _load().get("settings")
    return found if isinstance(found, dict) else {}


def clear() -> None:
    path().unlink(missing_ok=True)
