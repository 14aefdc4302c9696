"""Every process of the cluster killed at once, as a crashed host loses them, and `d2k cluster up`
run again: the workload comes back and the data on its volume is still there.

Named to run late: it kills the cluster the other tests use (and `up` brings it back).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal

import pytest
from polling import wait_for

from docker2k8s import cluster as clusters
from docker2k8s.cluster import health
from docker2k8s.cluster.local import LocalProvider, cleanup, supervision

pytestmark = pytest.mark.cluster

KEEPER = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: keeper}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: keeper}
spec:
  selector: {matchLabels: {app: keeper}}
  template:
    metadata: {labels: {app: keeper}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: keeper
          image: docker2k8s/inference:0.1.0
          command: [sleep, infinity]
          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: keeper}}]
"""


def _kill_every_process(local: LocalProvider) -> int:
    """SIGKILL the supervisor first (nothing restarts), then each component, then the Pods'
    processes and their shims; return how many processes died."""
    pids = [supervision.running(local.layout)]
    pids += [supervision.running(local.layout, p.stem) for p in local.layout.pids.glob("*.pid")]
    killed = 0
    for pid in dict.fromkeys(p for p in pids if p):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed + cleanup.kill_pods(local.layout)


def test_the_whole_host_killed_then_up_brings_back_workloads_and_data(
    local: LocalProvider, kubectl, namespace: str
) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=KEEPER)
    kubectl("rollout", "status", "-n", namespace, "deployment/keeper", "--timeout=180s")
    marker = secrets.token_hex(8)
    kubectl("exec", "-n", namespace, "deploy/keeper", "--", "sh", "-c", f"echo {marker} > /data/m")
    uid = kubectl("get", "pvc", "-n", namespace, "keeper", "-o", "jsonpath={.metadata.uid}").stdout

    assert _kill_every_process(local) > 8
    assert supervision.running(local.layout) is None
    assert not [r for r in clusters.status(local) if r.healthy and r.name != "disk"]

    clusters.up("local")
    assert health.nodes_ready(local)[0]
    wait_for(
        "the keeper Deployment available again",
        lambda: kubectl(
            "get", "deploy", "-n", namespace, "keeper", "-o",
            "jsonpath={.status.availableReplicas}", check=False,
        ).stdout == "1",
        timeout=180,
    )  # fmt: skip
    read = kubectl("exec", "-n", namespace, "deploy/keeper", "--", "cat", "/data/m").stdout
    assert read.strip() == marker, "the volume's data did not survive"
    after = kubectl("get", "pvc", "-n", namespace, "keeper", "-o", "jsonpath={.metadata.uid}")
    assert after.stdout == uid, "the claim was made again, not kept"
    wait_for(
        "every part of the cluster healthy",
        lambda: [r for r in clusters.status(local) if not r.healthy] == [],
        90,
    )
