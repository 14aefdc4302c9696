"""Kubeconfig files: building them, writing them privately, merging into ~/.kube/config.

A kubeconfig with admin keys is as good as root on the cluster: every one is written through a
temporary file created 0600 (never readable by others, not even for a moment) and renamed.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from docker2k8s.errors import D2KError

from .names import CONTEXT_NAME


def user_kubeconfig() -> Path:
    return Path.home() / ".kube" / "config"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def build(server: str, ca: Path, cert: Path, key: Path, user: str) -> dict[str, Any]:
    """A self-contained kubeconfig (certificates embedded) with one context, CONTEXT_NAME."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT_NAME,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)},
            }
        ],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": user}}],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    }


def renamed(config: dict[str, Any], user: str) -> dict[str, Any]:
    """A one-context kubeconfig (as `kubectl config view --minify --flatten` prints) with its
    cluster and context called CONTEXT_NAME and its user `user`, ready to merge."""
    for key in ("clusters", "users", "contexts"):
        for entry in config.get(key) or []:
            entry["name"] = CONTEXT_NAME if key != "users" else user
    for entry in config.get("contexts") or []:
        entry["context"].update(cluster=CONTEXT_NAME, user=user)
    config["current-context"] = CONTEXT_NAME
    return config


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600 from the first byte, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def write(path: Path, config: dict[str, Any]) -> None:
    write_private(path, yaml.safe_dump(config, sort_keys=False))


def load_text(text: str, source: str = "the kubeconfig") -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise D2KError(
            f"{source} is not valid YAML ({error}); d2k will not overwrite it.",
            f"repair or move {source} away, then run the command again",
        ) from None
    if loaded is not None and not isinstance(loaded, dict):
        raise D2KError(f"{source} is not a kubeconfig (a YAML mapping).", f"repair {source}")
    return loaded or {}


def load(path: Path) -> dict[str, Any]:
    return load_text(path.read_text(), str(path)) if path.exists() else {}


def _replace(items: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in items if i.get("name") != entry["name"]] + [entry]


def merge_into(target: Path, source: Path) -> None:
    """Add or replace the entries of `source` (cluster, user, context) in `target`, keeping the
    rest, and make CONTEXT_NAME the current context."""
    existing = load(target)
    config = load(source)
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": existing.get("preferences") or {},
        "clusters": existing.get("clusters") or [],
        "users": existing.get("users") or [],
        "contexts": existing.get("contexts") or [],
        "current-context": CONTEXT_NAME,
    }
    for key in ("clusters", "users", "contexts"):
        for entry in config.get(key) or []:
            merged[key] = _replace(merged[key], entry)
    write(target, merged)


def remove_entries(target: Path, ours: dict[str, Any]) -> None:
    """Take the entries of the kubeconfig `ours` out of `target` (when the cluster is deleted);
    CONTEXT_NAME stops being the current context."""
    if not target.exists() or not ours:
        return
    existing = load(target)
    for key in ("clusters", "users", "contexts"):
        names = {entry["name"] for entry in ours.get(key) or []}
        existing[key] = [i for i in existing.get(key) or [] if i.get("name") not in names]
    if existing.get("current-context") == CONTEXT_NAME:
        existing["current-context"] = ""
    write(target, existing)
