"""Benchmarks of the local cluster, printed as a table of medians.

    python bench/cluster/bench_cluster.py [--runs N] [--cold]

- cold build: every Go program from an empty cache (only with --cold: it takes many minutes;
  without it, the durations recorded by the last cold build are shown);
- warm `up` until the node is Ready and cluster DNS answers (after a `down`);
- apply-to-Ready of a small pod;
- idle resident memory of every cluster process (components, shims, pods).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from kubernetes import client, config
from rich.console import Console
from rich.table import Table

from docker2k8s.cluster import gobuild
from docker2k8s.cluster.layout import CONTEXT_NAME, PAUSE_IMAGE, Layout
from docker2k8s.cluster.local import LocalBackend


def recorded_build_seconds(lay: Layout) -> float:
    total = 0.0
    for program in gobuild.ALL_PROGRAMS:
        stamp = program.out_dir(lay) / ".complete"
        total += float(stamp.read_text().split()[1].rstrip("s"))
    return total


def cold_build_seconds() -> float:
    with tempfile.TemporaryDirectory(prefix="d2k-cold-") as tmp:
        lay = Layout(state=Path(tmp) / "state", run=Path(tmp) / "run", cache=Path(tmp) / "cache")
        start = time.monotonic()
        gobuild.build_all(lay, Console(stderr=True))
        return time.monotonic() - start


def warm_up_seconds(backend: LocalBackend, quiet: Console) -> float:
    backend.down(quiet)
    start = time.monotonic()
    backend.up(quiet)  # returns once the node is Ready and cluster DNS answers
    return time.monotonic() - start


def apply_to_ready_seconds(core: client.CoreV1Api, namespace: str) -> float:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            termination_grace_period_seconds=0,
            containers=[client.V1Container(name="p", image=PAUSE_IMAGE, image_pull_policy="Never")],
        ),
    )
    start = time.monotonic()
    core.create_namespaced_pod(namespace, pod)
    while True:
        status = core.read_namespaced_pod_status(name, namespace).status
        if any(c.type == "Ready" and c.status == "True" for c in status.conditions or []):
            elapsed = time.monotonic() - start
            break
        time.sleep(0.1)
    core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    return elapsed


SYSTEM_NAMESPACES = ("kube-system", "docker2k8s-storage")  # add-ons, GPU plugin included


def cluster_pids(lay: Layout, core: client.CoreV1Api) -> set[int]:
    """Components, shims and the add-on pods; workloads of other namespaces are left out."""
    pids = set()
    for pidfile in lay.pids.glob("*.pid"):
        pids.add(int(pidfile.read_text()))
    uids = {
        pod.metadata.uid for ns in SYSTEM_NAMESPACES for pod in core.list_namespaced_pod(ns).items
    }
    pod_pids: set[int] = set()
    for procs in Path("/sys/fs/cgroup").glob("memory/kubepods/**/cgroup.procs"):
        if any(f"pod{uid}" in str(procs) for uid in uids):
            pod_pids.update(int(p) for p in procs.read_text().split())
    pids |= pod_pids
    # One containerd shim per pod: count the shims whose children are system pod processes.
    sock = str(lay.containerd_socket).encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            args = (proc / "cmdline").read_bytes()
            if sock in args and b"shim" in args:
                children = (proc / "task" / proc.name / "children").read_text().split()
                if pod_pids & {int(c) for c in children}:
                    pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def rss_mib(pids: set[int]) -> float:
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a cold build (slow)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the local cluster benchmarks need root")
    backend = LocalBackend()
    lay = backend.layout
    quiet = Console(stderr=True, quiet=True)
    rows: list[tuple[str, str, str]] = []

    if args.cold:
        rows.append(("cold build, all Go programs", f"{cold_build_seconds():.0f} s", "1 run"))
    else:
        rows.append(
            ("cold build, all Go programs", f"{recorded_build_seconds(lay):.0f} s", "recorded")
        )

    ups = [warm_up_seconds(backend, quiet) for _ in range(args.runs)]
    rows.append(
        ("warm up -> node Ready + DNS", f"{statistics.median(ups):.1f} s", f"{args.runs} runs")
    )

    api = config.new_client_from_config(str(backend.kubeconfig()), context=CONTEXT_NAME)
    core = client.CoreV1Api(api)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        runs = max(5, args.runs)
        times = [apply_to_ready_seconds(core, namespace) for _ in range(runs)]
        rows.append(
            ("apply -> Ready, small pod", f"{statistics.median(times):.2f} s", f"{runs} runs")
        )
    finally:
        core.delete_namespace(namespace)

    time.sleep(20)  # let start-up work settle before measuring idle memory
    samples = []
    for _ in range(3):
        samples.append(rss_mib(cluster_pids(lay, core)))
        time.sleep(2)
    rows.append(
        ("idle RSS, all cluster processes", f"{statistics.median(samples):.0f} MiB", "3 samples")
    )

    table = Table(title="local cluster (medians)")
    for col in ("measure", "value", "runs"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
