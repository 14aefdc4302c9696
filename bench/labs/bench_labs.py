"""Execution time of each solution notebook, of each part of the course, and of the whole course
(targets: part 1, labs 00-07, 8 minutes; part 2a, labs 08-10, 6 minutes; part 2b, labs 11-14,
6 minutes; all of it 15 minutes, on 2 cores).

    python bench/labs/bench_labs.py [--runs N] [NOTEBOOK ...]

Each run is `d2k grade solutions/NN-*.ipynb`: a fresh kernel, every cell, against the running
cluster, as a learner's "Run all" would. Needs `make up` first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[2]
# part: (first lab, last lab, target seconds)
PARTS = {"part 1": (0, 7, 8 * 60), "part 2a": (8, 10, 6 * 60), "part 2b": (11, 14, 6 * 60)}
COURSE_TARGET = 15 * 60
D2K = Path(sys.executable).with_name("d2k")


def grade(notebook: Path) -> tuple[float, str]:
    """(seconds, "passed/total") of one graded run."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        start = time.perf_counter()
        subprocess.run(
            [str(D2K), "grade", str(notebook), "--json", str(report)],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - start
        result = json.loads(report.read_text())
    return seconds, f"{result['passed']}/{result['total']}"


def part_of(notebook: Path) -> str | None:
    number = int(notebook.stem[:2])
    return next((part for part, (first, last, _) in PARTS.items() if first <= number <= last), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every part's solutions")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    notebooks = args.notebooks or [
        path for path in sorted((REPO / "solutions").glob("*.ipynb")) if part_of(path)
    ]
    if missing := [str(n) for n in notebooks if not n.exists()]:
        parser.error(f"no such notebook: {', '.join(missing)}")
    table = Table(title=f"solution notebooks, d2k grade (median of {args.runs} runs)")
    for column in ("notebook", "median s", "min s", "max s", "checks passed"):
        table.add_column(column)
    totals = dict.fromkeys([*PARTS, None], 0.0)
    for notebook in notebooks:
        runs = [grade(notebook) for _ in range(args.runs)]
        times = [seconds for seconds, _ in runs]
        totals[part_of(notebook)] += statistics.median(times)
        row = (f"{statistics.median(times):.1f}", f"{min(times):.1f}", f"{max(times):.1f}")
        table.add_row(notebook.stem, *row, runs[-1][1])
    rows = [(part, total, PARTS[part][2]) for part, total in totals.items() if part and total]
    if len(rows) == len(PARTS):
        rows.append(("whole course", sum(total for _, total, _ in rows), COURSE_TARGET))
    for name, total, target in rows:
        verdict = "ok" if total <= target else "over target"
        table.add_row(
            f"[bold]{name}", f"[bold]{total:.1f}", "", "", f"target {target} s: {verdict}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
