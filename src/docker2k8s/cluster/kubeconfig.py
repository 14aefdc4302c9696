"""Kubeconfig files for the cluster's components and its user, and the merge into ~/.kube/config."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from .layout import CONTEXT_NAME


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


def write(path: Path, config: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.chmod(0o600)
    os.replace(tmp, path)


def _replace(items: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in items if i.get("name") != entry["name"]] + [entry]


def merge_into(target: Path, config: dict[str, Any], make_current: bool = True) -> None:
    """Add or replace the docker2k8s cluster, user and context in `target`, keeping the rest."""
    existing: dict[str, Any] = {}
    if target.exists():
        existing = yaml.safe_load(target.read_text()) or {}
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": existing.get("preferences") or {},
        "clusters": existing.get("clusters") or [],
        "users": existing.get("users") or [],
        "contexts": existing.get("contexts") or [],
        "current-context": existing.get("current-context", ""),
    }
    for key in ("clusters", "users", "contexts"):
        for entry in config[key]:
            merged[key] = _replace(merged[key], entry)
    if make_current or not merged["current-context"]:
        merged["current-context"] = CONTEXT_NAME
    write(target, merged)


def remove_from(target: Path, user: str) -> None:
    """Take the docker2k8s entries out of `target` (used when the cluster is deleted)."""
    if not target.exists():
        return
    existing = yaml.safe_load(target.read_text()) or {}
    for key, name in (("clusters", CONTEXT_NAME), ("users", user), ("contexts", CONTEXT_NAME)):
        existing[key] = [i for i in existing.get(key) or [] if i.get("name") != name]
    if existing.get("current-context") == CONTEXT_NAME:
        existing["current-context"] = ""
    write(target, existing)
