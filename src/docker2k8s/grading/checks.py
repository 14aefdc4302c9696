"""The `check` primitive: evaluate, print one PASS/FAIL line, record the result."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

# Set by `d2k grade`: results are appended here as JSON lines, so they survive a crashed kernel.
RESULTS_FILE_ENV = "D2K_GRADE_RESULTS"
# Set by the test suite: a failed check raises, so nbval reports it as a failing cell.
STRICT_ENV = "D2K_STRICT_CHECKS"


class CheckFailed(AssertionError):
    """Raised by a failed check in strict mode."""


@dataclass(frozen=True)
class Result:
    name: str
    passed: bool
    detail: str = ""


def check(name: str, condition: bool | Callable[[], object], hint: str = "") -> bool:
    """Grade one thing: `condition` is a bool, or a callable that raises or returns False.

    A callable is preferred: an exception in it (a missing object, a typo in the learner's code)
    fails this check with its message instead of crashing the cell.
    """
    seen = ""
    try:
        outcome = condition() if callable(condition) else condition
        passed = outcome is not False
    except NotImplementedError:
        passed, seen = False, "the exercise above is not done yet"
    except Exception as error:
        passed, seen = False, str(error) or type(error).__name__
    detail = "; ".join(part for part in (hint, seen) if part) if not passed else ""
    result = Result(name, passed, detail)
    _record(result)
    print(f"PASS {name}" if passed else f"FAIL {name}: {detail}" if detail else f"FAIL {name}")
    if not passed and os.environ.get(STRICT_ENV) == "1":
        raise CheckFailed(f"{name}: {detail}")
    return passed


def _record(result: Result) -> None:
    path = os.environ.get(RESULTS_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(result)) + "\n")
