"""`down` removes what `up` made and gives back the kernel settings; `up` after `down` brings
the same cluster back.

Named to run last in this folder: it restarts the cluster the other tests use.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kubernetes import client
from polling import wait_for

from docker2k8s import cluster as clusters
from docker2k8s.cluster import Provider
from docker2k8s.cluster.local.layout import CNI_BRIDGE

pytestmark = pytest.mark.cluster
ROUTE_LOCALNET = Path("/proc/sys/net/ipv4/conf/all/route_localnet")


def _iptables() -> str:
    return "\n".join(
        subprocess.run(["iptables-save", "-t", t], capture_output=True, text=True).stdout
        for t in ("nat", "filter", "mangle")
    )


def _down_leaves_nothing(local: Provider) -> None:
    lay = local.layout
    clusters.down()
    assert not any(row.healthy for row in local.status() if row.name != "disk")
    rules = _iptables()
    for prefix in ("DOCKER2K8S-", "KUBE-", "CNI-"):
        assert f":{prefix}" not in rules, f"{prefix}* chains left after down"
    link = subprocess.run(["ip", "link", "show", CNI_BRIDGE], capture_output=True)
    assert link.returncode != 0, f"bridge {CNI_BRIDGE} left after down"
    assert not lay.cni_data_dir.exists()
    mounts = Path("/proc/self/mounts").read_text()
    for root in lay.roots:
        assert str(root) + "/" not in mounts, f"mounts left under {root}"
    assert not lay.sysctls.exists(), "the saved kernel settings were not given back"


def test_down_then_up_restores_the_host_and_the_cluster(
    local: Provider, core: client.CoreV1Api
) -> None:
    _down_leaves_nothing(local)
    # The host's own setting, whatever it was: the cluster needs 1 while it runs, and must
    # give back exactly this value.
    ROUTE_LOCALNET.write_text("0\n")
    clusters.up("local")
    assert ROUTE_LOCALNET.read_text().strip() == "1"
    _down_leaves_nothing(local)
    assert ROUTE_LOCALNET.read_text().strip() == "0"

    clusters.up("local")
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
