"""Benchmarks of the local cluster, printed as a table of medians.

    python bench/cluster/bench_cluster.py [--runs N] [--pods N] [--cold]

- cold build of each Go program (only with --cold: an empty cache, module downloads included,
  ~20 minutes; without it, the durations the cached builds recorded are shown);
- warm `d2k cluster up` after a `down`, until it returns (the node Ready, cluster DNS answering,
  Kueue Ready for its queues), and until every add-on's Pods are Ready;
- apply-to-Ready of a small pod;
- idle resident memory of the cluster's processes (components, the add-on pods and their shims).
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

from docker2k8s import cluster, pidfile
from docker2k8s.cluster import gobuild, health
from docker2k8s.cluster.actions import installed_addons
from docker2k8s.cluster.addons import ADDONS
from docker2k8s.cluster.local import LocalProvider
from docker2k8s.cluster.local.layout import Layout
from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.cluster.node_images import PAUSE


def recorded_build_seconds() -> dict[str, float]:
    """What each cached build took when it ran (its `.complete` stamp)."""
    return {
        p.name: float((p.out_dir() / ".complete").read_text().split()[1].rstrip("s"))
        for p in gobuild.CLUSTER_PROGRAMS
    }


def cold_build_seconds() -> dict[str, float]:
    """Each program built into an empty cache, in the order `up` builds them."""
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="d2k-cold-") as tmp:
        os.environ["D2K_CACHE_DIR"] = tmp
        try:
            for program in gobuild.CLUSTER_PROGRAMS:
                start = time.monotonic()
                gobuild.build(program, Console(stderr=True))
                seconds[program.name] = time.monotonic() - start
        finally:
            del os.environ["D2K_CACHE_DIR"]
    return seconds


def warm_up_seconds(quiet: Console) -> tuple[float, float]:
    """Seconds from `down` to `up` returning (the node Ready, cluster DNS answering), and to
    every add-on's Pods Ready."""
    cluster.down(console=quiet)
    start = time.monotonic()
    provider = cluster.up("local", quiet)
    returned = time.monotonic() - start
    for addon in installed_addons(provider):
        health.wait(quiet, addon.name, lambda a=addon: health.addon_ready(provider, a), 300)
    return returned, time.monotonic() - start


def apply_to_ready_seconds(core: client.CoreV1Api, namespace: str) -> float:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            termination_grace_period_seconds=0,
            containers=[client.V1Container(name="p", image=PAUSE.ref, image_pull_policy="Never")],
        ),
    )
    start = time.monotonic()
    core.create_namespaced_pod(namespace, pod)
    while True:
        status = core.read_namespaced_pod_status(name, namespace).status
        if any(c.type == "Ready" and c.status == "True" for c in status.conditions or []):
            elapsed = time.monotonic() - start
            break
        time.sleep(0.05)
    core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    return elapsed


ADDON_NAMESPACES = sorted({a.namespace for a in ADDONS})


def cluster_pids(lay: Layout, core: client.CoreV1Api) -> set[int]:
    """Components, the add-on pods and their shims; other namespaces' workloads are left out."""
    pids = {pid for path in lay.pids.glob("*.pid") if (pid := pidfile.alive(path))}
    uids = {
        pod.metadata.uid for ns in ADDON_NAMESPACES for pod in core.list_namespaced_pod(ns).items
    }
    pod_pids: set[int] = set()
    for procs in Path("/sys/fs/cgroup").glob("memory/kubepods/**/cgroup.procs"):
        if any(f"pod{uid}" in str(procs) for uid in uids):
            pod_pids.update(int(p) for p in procs.read_text().split())
    pids |= pod_pids
    # One containerd shim per pod: count the shims whose children are add-on pod processes.
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
    parser.add_argument("--runs", type=int, default=3, help="warm `up` runs")
    parser.add_argument("--pods", type=int, default=20, help="pods applied for apply -> Ready")
    parser.add_argument("--cold", action="store_true", help="also time a cold build (slow)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the local cluster benchmarks need root")
    provider = LocalProvider()
    quiet = Console(stderr=True, quiet=True)
    rows: list[tuple[str, str, str]] = []

    builds = cold_build_seconds() if args.cold else recorded_build_seconds()
    how = "1 run, empty cache" if args.cold else "recorded by the cached build"
    for name, seconds in builds.items():
        rows.append((f"cold build: {name}", f"{seconds:.0f} s", how))
    rows.append(("cold build: total", f"{sum(builds.values()):.0f} s", how))

    ups = [warm_up_seconds(quiet) for _ in range(args.runs)]
    for i, what in enumerate(("node Ready + DNS", "every add-on Ready")):
        median = statistics.median(u[i] for u in ups)
        rows.append((f"warm up -> {what}", f"{median:.1f} s", f"{args.runs} runs"))

    api = config.new_client_from_config(str(provider.kubeconfig()), context=CONTEXT_NAME)
    core = client.CoreV1Api(api)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        times = [apply_to_ready_seconds(core, namespace) for _ in range(args.pods)]
        rows.append(
            ("apply -> Ready, small pod", f"{statistics.median(times):.2f} s", f"{args.pods} runs")
        )
    finally:
        core.delete_namespace(namespace)

    time.sleep(20)  # let start-up work settle before measuring idle memory
    samples = []
    for _ in range(3):
        samples.append(rss_mib(cluster_pids(provider.layout, core)))
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
