"""Test helpers: apply a manifest of manifests/, wait for the cluster to converge."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

MANIFESTS = Path(__file__).parent / "manifests"


def wait_for(what: str, check: Callable[[], object], timeout: float = 120) -> object:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as err:  # the API may answer 404 until the object exists
            last = err
        else:
            if last:
                return last
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def apply_manifest(kubectl: Callable[..., object], namespace: str, name: str, image: str) -> None:
    """`kubectl apply` manifests/NAME in `namespace`, with IMAGE replaced by `image`."""
    text = (MANIFESTS / name).read_text().replace("IMAGE", image)
    path = Path(f"/tmp/d2k-{uuid.uuid4().hex[:8]}-{name}")
    path.write_text(text)
    try:
        kubectl("-n", namespace, "apply", "-f", str(path))
    finally:
        path.unlink()
