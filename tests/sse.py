"""Reading the chat's server-sent events as they arrive, shared by the test folders (tests/ is on
sys.path)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable


def sse_events(
    lines: Iterable[str], on_token: Callable[[], object] | None = None
) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a stream's lines; comment lines (the chat's keep-alives) are
    skipped. `on_token` is called once, when the first token arrives: to break something
    while the answer streams."""
    events: list[tuple[str, dict]] = []
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
            if kind == "token" and on_token:
                on_token, callback = None, on_token
                callback()
    return events
