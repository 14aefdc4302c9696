"""Benchmark the running example: inference tokens/s and latency at 1 and 16 clients, the whole
Compose stack end to end (a chat message through web -> chat -> inference -> db), memory of each
Compose service idle and under load, and image sizes. Prints tables of medians over runs.

    python bench/apps/bench_apps.py [--runs 3] [--requests 64]

Needs Docker Engine and the images (`d2k images build`). Inference is measured in containers
started here, with TOKEN_DELAY_MS=0 (raw server cost) and 20 (the demo's streaming pace); the
stack runs as apps/compose.yaml sets it (TOKEN_DELAY_MS=20, MAX_NEW_TOKENS=60).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from docker2k8s import images

APPS = Path(__file__).resolve().parents[2] / "apps"
console = Console()


def sh(*args: str, **kw) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, **kw).stdout.strip()


def container_ip(cid: str) -> str:
    return sh(
        "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", cid
    ).split()[0]


def wait_health(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy")


async def run_clients(worker, clients: int) -> float:
    """Seconds until `clients` copies of `worker`, sharing one connection pool, are done."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients)) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(clients)))
        return time.perf_counter() - t0


async def load(url: str, clients: int, requests: int, max_new: int) -> dict:
    latencies: list[float] = []
    tokens = 0
    queue = list(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal tokens
        while queue:
            seed = queue.pop() + 1
            t0 = time.perf_counter()
            r = await client.post(
                f"{url}/generate",
                json={
                    "inputs": "What is a pod?",
                    "parameters": {
                        "max_new_tokens": max_new,
                        "do_sample": True,
                        "seed": seed,
                        "details": True,
                    },
                },
            )
            r.raise_for_status()
            latencies.append(time.perf_counter() - t0)
            tokens += r.json()["details"]["generated_tokens"]

    wall = await run_clients(worker, clients)
    return {
        "tok_s": tokens / wall,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
    }


def bench_inference(runs: int, requests: int) -> Table:
    table = Table(
        title=f"inference /generate (up to 50 new tokens, MAX_BATCH_SIZE=16, median of {runs} runs)"
    )
    for col in ("TOKEN_DELAY_MS", "clients", "tokens/s", "p50 latency", "p95 latency"):
        table.add_column(col, justify="right")
    for delay in (0, 20):
        cid = sh(
            "docker",
            "run",
            "-d",
            "-e",
            f"TOKEN_DELAY_MS={delay}",
            "-e",
            "MAX_BATCH_SIZE=16",
            "--tmpfs",
            "/data:uid=10001",
            "docker2k8s/inference:0.1.0",
        )
        try:
            url = f"http://{container_ip(cid)}:80"
            wait_health(url)
            asyncio.run(load(url, 4, 16, 50))  # warm-up
            for clients in (1, 16):
                n = requests if clients > 1 else max(8, requests // 4)
                results = [asyncio.run(load(url, clients, n, 50)) for _ in range(runs)]
                med = {k: statistics.median(r[k] for r in results) for k in results[0]}
                table.add_row(
                    str(delay),
                    str(clients),
                    f"{med['tok_s']:.0f}",
                    f"{med['p50'] * 1000:.0f} ms",
                    f"{med['p95'] * 1000:.0f} ms",
                )
        finally:
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    return table


def parse_mem(text: str) -> float:
    value = text.split("/")[0].strip()
    units = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1 / 1000, "MB": 1, "GB": 1000, "B": 0}
    for unit, factor in units.items():
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def compose_base(project: str) -> list[str]:
    files = ["-f", str(APPS / "compose.yaml"), "-f", str(APPS / "compose.cpu.yaml")]
    return ["docker", "compose", "-p", project, *files]


async def chat_load(url: str, clients: int, requests: int) -> dict:
    """`requests` chat messages from `clients` concurrent users of the page: each streams its
    reply through nginx and chat from the inference server, and both messages are stored."""
    first_token: list[float] = []
    latencies: list[float] = []
    tokens = errors = 0
    queue = list(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal tokens, errors
        while queue:
            body = {"message": f"What is a pod? ({queue.pop()})"}
            t0 = time.perf_counter()
            seen, done = 0, False
            async with client.stream("POST", f"{url}/api/chat", json=body) as response:
                async for line in response.aiter_lines():
                    if line == "event: token":
                        seen += 1
                        if seen == 1:
                            first_token.append(time.perf_counter() - t0)
                    done = done or line == "event: done"
            latencies.append(time.perf_counter() - t0)
            tokens += seen
            errors += not done or response.status_code != 200

    wall = await run_clients(worker, clients)
    return {
        "tok_s": tokens / wall,
        "ttft_p50": percentile(first_token, 0.5),
        "ttft_p95": percentile(first_token, 0.95),
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "errors": errors,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def memory(base: list[str], env: dict) -> dict[str, float]:
    """MiB per Compose service, now."""
    ids = sh(*base, "ps", "-q", env=env).split()
    found = {}
    label = '{{index .Config.Labels "com.docker.compose.service"}}'
    for line in sh("docker", "stats", "--no-stream", "--format", "{{json .}}", *ids).splitlines():
        row = json.loads(line)
        found[sh("docker", "inspect", "-f", label, row["ID"])] = parse_mem(row["MemUsage"])
    return found


def bench_stack(runs: int, requests: int) -> tuple[Table, Table]:
    subprocess.run([str(APPS / "secrets" / "create.sh")], check=True, capture_output=True)
    base = compose_base(f"d2kbench{os.getpid()}")
    env = os.environ | {"WEB_PORT": "0"}
    idle: dict[str, list[float]] = {}
    loaded: dict[str, list[float]] = {}
    chat = Table(
        title=f"chat end to end through the web port (median of {runs} runs; inference generates "
        "for 4 requests at a time, MAX_BATCH_SIZE, so 16 clients queue for their first token)"
    )
    for col in (
        "clients",
        "tokens/s",
        "first token p50",
        "p95",
        "whole reply p50",
        "p95",
        "errors",
    ):
        chat.add_column(col, justify="right")
    try:
        subprocess.run([*base, "up", "-d", "--wait"], check=True, capture_output=True, env=env)
        url = "http://" + sh(*base, "port", "web", "80", env=env)
        time.sleep(15)  # let health checks pass and the stack settle
        for _ in range(runs):
            for service, mib in memory(base, env).items():
                idle.setdefault(service, []).append(mib)
            time.sleep(2)
        asyncio.run(chat_load(url, 4, 8))  # warm-up
        for clients in (1, 16):
            n = requests if clients > 1 else max(8, requests // 4)
            results = []
            for _ in range(runs):
                results.append(asyncio.run(chat_load(url, clients, n)))
                if clients > 1:
                    for service, mib in memory(base, env).items():
                        loaded.setdefault(service, []).append(mib)
            med = {k: statistics.median(r[k] for r in results) for k in results[0]}
            chat.add_row(
                str(clients),
                f"{med['tok_s']:.0f}",
                *(f"{med[k] * 1000:.0f} ms" for k in ("ttft_p50", "ttft_p95", "p50", "p95")),
                str(sum(r["errors"] for r in results)),
            )
    finally:
        subprocess.run([*base, "down", "-v"], capture_output=True, env=env)
    table = Table(title=f"memory per service (median of {runs} samples)")
    for col in ("service", "idle", "after 16 clients"):
        table.add_column(col, justify="right" if col != "service" else "left")
    totals = [0.0, 0.0]
    for service in sorted(idle):
        row = [statistics.median(idle[service]), statistics.median(loaded.get(service, [0]))]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        table.add_row(service, *(f"{mib:.1f} MiB" for mib in row))
    table.add_row("[bold]whole stack", *(f"[bold]{mib:.1f} MiB" for mib in totals))
    return chat, table


def image_table() -> Table:
    table = Table(title="image sizes")
    table.add_column("image")
    table.add_column("size", justify="right")
    for ref in images.image_refs():
        table.add_row(ref, f"{images.image_size_mb(ref):.0f} MB")
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--requests", type=int, default=64, help="requests per run at 16 clients")
    args = p.parse_args()
    missing = set(images.image_refs()) - set(images.built_images())
    if missing:
        raise SystemExit(f"missing images {sorted(missing)}: run `d2k images build` first")
    console.print(image_table())
    console.print(bench_inference(args.runs, args.requests))
    for table in bench_stack(args.runs, args.requests):
        console.print(table)


if __name__ == "__main__":
    main()
