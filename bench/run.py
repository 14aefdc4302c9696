"""Benchmarks of the workshop's own tooling: medians over runs, printed as a table.

    python bench/run.py [--runs N] [NAME ...]

Names: docs (mkdocs build, target < 20 s), test (make test wall time on a warm machine).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def docs_build() -> float:
    with tempfile.TemporaryDirectory() as site:
        return _timed([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", site])


def make_test() -> float:
    return _timed(["make", "test"])


# name: (what, function returning seconds, target in seconds or None)
BENCHMARKS: dict[str, tuple[str, Callable[[], float], float | None]] = {
    "docs": ("mkdocs build --strict", docs_build, 20.0),
    "test": ("make test (warm machine)", make_test, None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(BENCHMARKS)} (default all)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if unknown := set(args.names) - set(BENCHMARKS):
        parser.error(
            f"unknown benchmark {', '.join(sorted(unknown))}; choose from {list(BENCHMARKS)}"
        )
    args.names = args.names or list(BENCHMARKS)
    table = Table(title=f"docker2k8s benchmarks (median of {args.runs} runs)")
    for column in ("benchmark", "median s", "min s", "max s", "target s", "verdict"):
        table.add_column(column)
    for name in args.names:
        what, measure, target = BENCHMARKS[name]
        times = [measure() for _ in range(args.runs)]
        median = statistics.median(times)
        verdict = "" if target is None else ("ok" if median <= target else "over target")
        table.add_row(
            what,
            f"{median:.1f}",
            f"{min(times):.1f}",
            f"{max(times):.1f}",
            "" if target is None else f"{target:.0f}",
            verdict,
        )
    Console().print(table)


if __name__ == "__main__":
    main()
