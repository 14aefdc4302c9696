"""The grader's side of a grading run: checks evaluated where the learner's code cannot reach.

The checker keeps a namespace of its own, built from the solution's `checker` cells (the lab's
setup, recorders). Before a check cell runs here, the plain values the check reads from the
notebook (`gpu_id`, `local_port`, ...) are copied out of the learner's kernel as literals, never
as code or objects, and the check compares them with what it finds in the cluster or Docker.
"""

from __future__ import annotations

import ast
import contextlib
import io
from collections.abc import Callable
from typing import Any

from docker2k8s.grading.assemble import free_names, python_of
from docker2k8s.grading.checks import Result, collecting

MAX_VALUE_TEXT = 1_000_000  # characters of one value's repr read from the kernel

# Reads named values from the learner's kernel: {name: the text of its repr} for those it has.
Fetch = Callable[[list[str]], dict[str, str]]


def literal(text: str) -> Any:
    """A value from its repr, when that repr is a Python literal; ValueError otherwise."""
    if len(text) > MAX_VALUE_TEXT:
        raise ValueError(f"longer than {MAX_VALUE_TEXT} characters")
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        raise ValueError(f"not a plain value: {text[:80]}") from error


class Checker:
    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.trusted: dict[str, Any] = {"__name__": "__checker__"}
        self.results: list[Result] = []

    def learner_values(self, source: str) -> dict[str, Any]:
        wanted = sorted(free_names(source) - self.trusted.keys())
        values = {}
        for name, text in self.fetch(wanted).items() if wanted else ():
            with contextlib.suppress(ValueError):
                values[name] = literal(text)
        return values

    def run(self, source: str, label: str, with_learner_values: bool) -> str | None:
        """Run one cell here; return the error it raised outside a check, if any."""
        values = self.learner_values(source) if with_learner_values else {}
        scope = {**self.trusted, **values}
        try:
            # The PASS/FAIL lines are the learner's kernel's to show; here they are dropped.
            with collecting() as results, contextlib.redirect_stdout(io.StringIO()):
                try:
                    exec(compile(python_of(source), label, "exec"), scope)
                finally:
                    self.results += results
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        finally:
            # What the cell defined (helpers, recorders) serves later checks; learner values do not.
            self.trusted.update(
                {k: v for k, v in scope.items() if k not in values or v is not values[k]}
            )
        return None
