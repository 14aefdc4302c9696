"""The one error type for expected failures: what went wrong, and what the user can do about it.

Everything d2k can foresee (a failed command, a timeout, a missing tool, a bad environment value,
a full disk) raises D2KError; the CLI root prints it without a traceback (cli.main). A traceback
then always means a bug in d2k.
"""

from __future__ import annotations


class D2KError(Exception):
    """`problem` says what failed and why; `fix` says what to do next (may be empty when the
    problem already says it). `exit_code` 2 means bad input, 1 a failed operation."""

    exit_code = 1

    def __init__(self, problem: str, fix: str = "", exit_code: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.problem}\nfix: {self.fix}" if self.fix else self.problem


def raise_if_stale(problems: list[str], fix: str) -> None:
    """Generated files that differ from a fresh build: one error listing them (`--check`)."""
    if problems:
        raise D2KError("stale:\n" + "\n".join(f"  {p}" for p in problems), fix)
