"""Test helper: apply a manifest of manifests/ with a locally built image."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

MANIFESTS = Path(__file__).parent / "manifests"


def apply_manifest(kubectl: Callable[..., object], namespace: str, name: str, image: str) -> None:
    """`kubectl apply` manifests/NAME in `namespace`, with IMAGE replaced by `image`."""
    text = (MANIFESTS / name).read_text().replace("IMAGE", image)
    path = Path(f"/tmp/d2k-{uuid.uuid4().hex[:8]}-{name}")
    path.write_text(text)
    try:
        kubectl("-n", namespace, "apply", "-f", str(path))
    finally:
        path.unlink()
