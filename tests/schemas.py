"""Kubernetes schema validation for the pinned release (kubernetes-validate's bundled schemas)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import all_versions

from docker2k8s import versions

VERSION = f"{versions.kubernetes_minor()}.0"


def validate(obj: dict[str, Any]) -> None:
    """Strict validation against the pinned release's schemas; fails if they are not bundled."""
    assert VERSION in all_versions(), (
        f"kubernetes-validate ships schemas {all_versions()}, not {VERSION}: install one that "
        f"bundles them (pip install 'kubernetes-validate>={versions.kubernetes_minor()}')"
    )
    kubernetes_validate.validate(obj, VERSION, strict=True)
