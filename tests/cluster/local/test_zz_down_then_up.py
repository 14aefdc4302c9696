"""`down` removes what `up` made; `up` after `down` brings the same cluster back.

Named to run last: it restarts the cluster the other tests use.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster import ClusterBackend
from docker2k8s.cluster.layout import CNI_BRIDGE, Layout

pytestmark = pytest.mark.cluster


def _iptables() -> str:
    return "\n".join(
        subprocess.run(["iptables-save", "-t", t], capture_output=True, text=True).stdout
        for t in ("nat", "filter", "mangle")
    )


def test_down_then_up(cluster: ClusterBackend, core: client.CoreV1Api) -> None:
    if cluster.name != "local":
        pytest.skip("kind's down deletes its containers; covered by kind itself")
    from docker2k8s.cluster.local import LocalBackend

    assert isinstance(cluster, LocalBackend)
    lay = Layout.default()
    cluster.down()
    assert not any(row.healthy for row in cluster.status() if row.name != "cluster DNS")
    rules = _iptables()
    for prefix in ("DOCKER2K8S-", "KUBE-", "CNI-"):
        assert f":{prefix}" not in rules, f"{prefix}* chains left after down"
    link = subprocess.run(["ip", "link", "show", CNI_BRIDGE], capture_output=True)
    assert link.returncode != 0, f"bridge {CNI_BRIDGE} left after down"
    assert not lay.cni_data_dir.exists()
    mounts = Path("/proc/self/mounts").read_text()
    assert str(lay.containerd_state) + "/" not in mounts

    cluster.up()
    node = core.list_node().items[0]
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    wait_for(
        "CoreDNS ready again",
        lambda: (
            core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns")
            .items[0]
            .status.container_statuses[0]
            .ready
        ),
    )
