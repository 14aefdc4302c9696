"""Which provider runs the workshop cluster: written by `up`, read by every later command.

Kept next to the kubeconfig whose `docker2k8s` context it describes (~/.kube), not in the
workshop's state directory: moving D2K_STATE_DIR must not make a running cluster vanish.
"""

from __future__ import annotations

import json
from pathlib import Path

from docker2k8s import versions


def path() -> Path:
    return Path.home() / ".kube" / "docker2k8s-cluster.json"


def save(provider: str) -> None:
    path().parent.mkdir(parents=True, exist_ok=True)
    path().write_text(json.dumps({"provider": provider, "kubernetes": versions.KUBERNETES}) + "\n")


def provider() -> str | None:
    try:
        return json.loads(path().read_text())["provider"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear() -> None:
    path().unlink(missing_ok=True)
