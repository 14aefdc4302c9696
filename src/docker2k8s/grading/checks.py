"""The `check` primitive: evaluate, print one PASS/FAIL line, and hand the result to the grader.

In a learner's kernel a check is feedback: it prints PASS or FAIL and nothing counts it. Scores
come from `d2k grade`, which runs each check cell of the instructor's solution again in its own
process (`collecting`), where the learner's code cannot reach the results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Set by `d2k grade` in the learner's kernel: the grader evaluates checks, the kernel skips them.
GRADING_ENV = "D2K_GRADING"


@dataclass(frozen=True)
class Result:
    name: str
    passed: bool
    detail: str = ""


_collected: list[Result] | None = None  # set only in the grader's own process


@contextmanager
def collecting() -> Iterator[list[Result]]:
    """Within this block every check's result is appended to the list it yields."""
    global _collected
    outer, _collected = _collected, []
    try:
        yield _collected
    finally:
        _collected = outer


def check(name: str, condition: bool | Callable[[], object], hint: str = "") -> bool | None:
    """Grade one thing: `condition` is a bool, or a callable that raises or returns False.

    A callable is preferred: an exception in it (a missing object, a typo in the learner's code)
    fails this check with its message instead of crashing the cell.
    """
    if _collected is None and os.environ.get(GRADING_ENV) == "1":
        print(f"{name}: scored by d2k grade")
        return None
    seen = ""
    try:
        outcome = condition() if callable(condition) else condition
        passed = outcome is not False
    except NotImplementedError:
        passed, seen = False, "the exercise above is not done yet"
    except NameError as error:
        seen = f"the notebook has no plain value (str, number, list, dict) named {error.name}"
        passed = False
    except Exception as error:
        passed, seen = False, str(error) or type(error).__name__
    detail = "; ".join(part for part in (hint, seen) if part) if not passed else ""
    if _collected is not None:
        _collected.append(Result(name, passed, detail))
    print(f"PASS {name}" if passed else f"FAIL {name}: {detail}" if detail else f"FAIL {name}")
    return passed
