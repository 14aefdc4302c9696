"""How `d2k convert compose` scales with the number of services: generated Compose files where
every service mounts a named volume of its own and calls the next one by URL (the two lookups
that were once per service pair). Prints the median seconds per size and the time per service.

    python bench/convert/bench_convert_scale.py [--runs 3] [--sizes 1000 4000 16000 32000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from docker2k8s.convert import convert_compose


def compose_text(services: int) -> str:
    lines = ["services:"]
    for i in range(services):
        lines += [
            f"  s{i}:",
            "    image: example/app:1.0",
            f"    volumes: [v{i}:/data]",
            f"    environment: [NEXT_URL=http://s{(i + 1) % services}:80]",
        ]
    lines += ["volumes:", *(f"  v{i}: {{}}" for i in range(services))]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000, 32000])
    args = parser.parse_args()
    table = Table(title=f"d2k convert compose, median of {args.runs} runs")
    for column in ("services", "file MB", "median s", "ms per service"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"compose-{size}.yaml"
            path.write_text(compose_text(size))
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                convert_compose(path)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            megabytes = path.stat().st_size / 2**20
            table.add_row(
                str(size), f"{megabytes:.1f}", f"{median:.1f}", f"{median / size * 1000:.2f}"
            )
    Console().print(table)


if __name__ == "__main__":
    main()
