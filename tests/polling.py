"""Waiting for a real system to converge, shared by the test folders (tests/ is on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(
    what: str, probe: Callable[[], object], timeout: float = 120, interval: float = 1.0
) -> object:
    """Call `probe` until it returns something truthy; fail naming `what` and the last value.

    An exception counts as "not yet" (the API answers 404 until an object exists) and is shown
    as the last value if time runs out.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Exception as err:
            last = err
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
