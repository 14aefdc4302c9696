"""How fast the simulated GPU plugin gets going, and what it costs: medians over runs.

    .venv/bin/python bench/gpu/plugin_latency.py [--runs 5]

Each run starts `python -m docker2k8s.gpu` against the test kubelet (tests/gpu/kubelet_peer.py) in a
fresh temp directory, and measures: process start to Register received, Register to the first
ListAndWatch list, one Allocate round trip (median of 50), a kubelet restart to re-registration,
and the plugin's resident memory once idle. Loopback unix sockets only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "gpu"))
from kubelet_peer import KubeletPeer

from docker2k8s.gpu import api


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run() -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="d2kbench-"))
    directory = root / "dp"
    directory.mkdir()
    kubelet = KubeletPeer(directory)
    kubelet.start()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "docker2k8s.gpu", "--plugin-dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "D2K_GPU_LABEL_NODE": "no", "NODE_NAME": "bench"},
    )
    try:
        request = kubelet.registrations.get(timeout=30)
        registered = time.perf_counter()
        devices = kubelet.device_lists.get(timeout=30)
        listed = time.perf_counter()
        m = api.load()
        allocate = m.AllocateRequest(
            container_requests=[m.ContainerAllocateRequest(devices_ids=[d for d, _ in devices[:2]])]
        )
        stub = kubelet.plugin(request.endpoint)
        stub.Allocate(allocate, timeout=5)  # connect outside the timed loop
        rtts = []
        for _ in range(50):
            t = time.perf_counter()
            stub.Allocate(allocate, timeout=5)
            rtts.append(time.perf_counter() - t)
        time.sleep(1.0)
        rss = rss_mib(proc.pid)
        t = time.perf_counter()
        kubelet.restart()
        kubelet.registrations.get(timeout=30)
        reregistered = time.perf_counter() - t
        return {
            "start -> Register (s)": registered - started,
            "Register -> device list (ms)": (listed - registered) * 1000,
            "Allocate round trip (ms)": statistics.median(rtts) * 1000,
            "kubelet restart -> re-Register (s)": reregistered,
            "idle RSS (MiB)": rss,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        kubelet.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    console = Console()
    api.load()  # compile the .proto once, outside the timings
    results = []
    with console.status("benchmarking") as status:
        for i in range(runs):
            status.update(f"run {i + 1}/{runs}")
            results.append(one_run())
    table = Table(title=f"simulated GPU plugin, 8 GPUs, median of {runs} runs")
    table.add_column("measure")
    table.add_column("median", justify="right")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    for key in results[0]:
        values = [r[key] for r in results]
        table.add_row(key, *(f"{f(values):.2f}" for f in (statistics.median, min, max)))
    console.print(table)


if __name__ == "__main__":
    main()
