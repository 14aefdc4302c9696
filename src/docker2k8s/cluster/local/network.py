"""Host networking of the local cluster: the iptables rules d2k owns, and their cleanup.

d2k keeps its rules in chains of its own (DOCKER2K8S-*), jumped to from the built-in chains,
so `down` can remove exactly what `up` added. kube-proxy's KUBE-* chains are removed with
`kube-proxy --cleanup`; CNI leftovers (bridge, IP allocations, network namespaces) by name.
"""

from __future__ import annotations

import ipaddress
import shlex
import shutil
import subprocess
from pathlib import Path

from docker2k8s.errors import D2KError

from ..names import API_SERVICE_IP, POD_CIDR, SERVICE_CIDR
from .layout import API_PORT, CNI_BRIDGE

NAT_PRE = "DOCKER2K8S-PREROUTING"
NAT_OUT = "DOCKER2K8S-OUTPUT"
NAT_POST = "DOCKER2K8S-POSTROUTING"
FILTER_FWD = "DOCKER2K8S-FORWARD"

# (table, our chain, built-in chain it hangs from)
CHAINS = (
    ("nat", NAT_PRE, "PREROUTING"),
    ("nat", NAT_OUT, "OUTPUT"),
    ("nat", NAT_POST, "POSTROUTING"),
    ("filter", FILTER_FWD, "FORWARD"),
)
# Our FORWARD accepts come last, after kube-proxy's rules (which REJECT traffic to Services
# without endpoints) and Docker's; our NAT rules come first, before kube-proxy's DNAT.
LAST = {FILTER_FWD}


def _ipt(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["iptables", "-w", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise D2KError(
            f"iptables {' '.join(args)} failed: {done.stderr.strip()}",
            "check that iptables works here (`iptables -L`); the local cluster needs it",
        )
    return done


def _jump_in_place(table: str, chain: str, parent: str) -> bool:
    rules = _ipt("-t", table, "-S", parent).stdout.splitlines()
    body = [r for r in rules if r.startswith("-A ")]
    jump = f"-A {parent} -j {chain}"
    if body.count(jump) != 1:
        return False
    return body[-1] == jump if chain in LAST else body[0] == jump


def node_ip() -> str:
    """The address of the interface holding the default route (the node's InternalIP)."""
    out = subprocess.run(
        ["ip", "-4", "-o", "route", "get", "192.0.2.255"], capture_output=True, text=True
    ).stdout.split()
    if "src" in out:
        return out[out.index("src") + 1]
    addrs = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True
    ).stdout.split()
    for i, word in enumerate(addrs):
        if word == "inet":
            return addrs[i + 1].split("/")[0]
    return "127.0.0.1"


def ensure_rules(node_ip: str) -> None:
    """Install (or refresh) d2k's chains; each sits first in its built-in chain.

    - Pods and host processes reach the API server, which listens on 127.0.0.1 only, through
      the `kubernetes` Service IP or the node IP: DNAT to 127.0.0.1 before kube-proxy's rules.
    - Pod traffic leaving the pod network is masqueraded (the CNI bridge is set ipMasq=false).
    - Docker sets the FORWARD policy to DROP; pod traffic is accepted explicitly, after
      kube-proxy's and Docker's own FORWARD rules.
    """
    for table, chain, _parent in CHAINS:
        if _ipt("-t", table, "-n", "-L", chain, check=False).returncode != 0:
            _ipt("-t", table, "-N", chain)
        _ipt("-t", table, "-F", chain)
    api = f"127.0.0.1:{API_PORT}"
    for dst, port in ((API_SERVICE_IP, "443"), (node_ip, str(API_PORT))):
        rule = ["-d", f"{dst}/32", "-p", "tcp", "--dport", port, "-j", "DNAT", "--to", api]
        _ipt("-t", "nat", "-A", NAT_PRE, "-s", POD_CIDR, *rule)
        _ipt("-t", "nat", "-A", NAT_OUT, *rule)
    _ipt("-t", "nat", "-A", NAT_POST, "-s", POD_CIDR, "!", "-d", POD_CIDR, "-j", "MASQUERADE")
    # A Service IP still unresolved here has no kube-proxy rule yet: refuse it rather than
    # let it leak to the host's network.
    _ipt("-A", FILTER_FWD, "-d", SERVICE_CIDR, "-j", "REJECT")
    _ipt("-A", FILTER_FWD, "-s", POD_CIDR, "-j", "ACCEPT")
    _ipt("-A", FILTER_FWD, "-d", POD_CIDR, "-j", "ACCEPT")
    for table, chain, parent in CHAINS:
        if not _jump_in_place(table, chain, parent):
            while _ipt("-t", table, "-D", parent, "-j", chain, check=False).returncode == 0:
                pass
            if chain in LAST:
                _ipt("-t", table, "-A", parent, "-j", chain)
            else:
                _ipt("-t", table, "-I", parent, "1", "-j", chain)
    _hold_kube_proxys_place()
    # Packets DNATed to 127.0.0.1 arrive on the pod bridge; the kernel drops them as martians
    # unless route_localnet is on (kube-proxy enables it too, for localhost NodePorts).
    Path("/proc/sys/net/ipv4/conf/all/route_localnet").write_text("1\n")


# kube-proxy's own jump to its Service rules, exactly as it writes it: it prepends the jump
# only when `iptables -C` does not find it (EnsureRule in pkg/proxy/iptables/proxier.go).
KUBE_PROXY_JUMP = ["-m", "comment", "--comment", "kubernetes service portals"]
KUBE_PROXY_JUMP += ["-j", "KUBE-SERVICES"]


def _hold_kube_proxys_place() -> None:
    """Put kube-proxy's jump right after ours before kube-proxy starts. It then finds its
    jump and leaves it there, instead of putting it in front of ours: Pods reach the API server
    from their first moment, whichever component starts first."""
    if _ipt("-t", "nat", "-n", "-L", "KUBE-SERVICES", check=False).returncode != 0:
        _ipt("-t", "nat", "-N", "KUBE-SERVICES")
    for parent in ("PREROUTING", "OUTPUT"):
        if _ipt("-t", "nat", "-C", parent, *KUBE_PROXY_JUMP, check=False).returncode != 0:
            _ipt("-t", "nat", "-I", parent, "2", *KUBE_PROXY_JUMP)


# Chains the kubelet makes (kube-proxy --cleanup leaves them): (table, chain).
KUBELET_CHAINS = (
    ("filter", "KUBE-FIREWALL"),
    ("filter", "KUBE-KUBELET-CANARY"),
    ("nat", "KUBE-KUBELET-CANARY"),
    ("mangle", "KUBE-KUBELET-CANARY"),
    ("mangle", "KUBE-IPTABLES-HINT"),
)


def remove_rules() -> None:
    """Remove d2k's chains and the kubelet's; run after the kubelet has stopped."""
    for table, chain, parent in CHAINS:
        while _ipt("-t", table, "-D", parent, "-j", chain, check=False).returncode == 0:
            pass
        _ipt("-t", table, "-F", chain, check=False)
        _ipt("-t", table, "-X", chain, check=False)
    for table, chain in KUBELET_CHAINS:
        for line in _ipt("-t", table, "-S", check=False).stdout.splitlines():
            if line.startswith("-A ") and line.endswith(f"-j {chain}"):
                _ipt("-t", table, *shlex.split(line.replace("-A ", "-D ", 1)), check=False)
        _ipt("-t", table, "-F", chain, check=False)
        _ipt("-t", table, "-X", chain, check=False)


def remove_cni_leftovers(cni_data_dir: Path, cni_network: str) -> list[str]:
    """Delete the pod network namespaces, the bridge, IP allocations and portmap chains."""
    removed: list[str] = []
    pod_net = ipaddress.ip_network(POD_CIDR)
    netns_dir = Path("/run/netns")
    for ns in sorted(netns_dir.glob("cni-*")) if netns_dir.exists() else []:
        addrs = subprocess.run(
            ["ip", "-n", ns.name, "-4", "-o", "addr"], capture_output=True, text=True
        ).stdout.split()
        ours = any(
            ipaddress.ip_interface(addrs[i + 1]).ip in pod_net
            for i, w in enumerate(addrs)
            if w == "inet"
        )
        if ours or not addrs:
            subprocess.run(["ip", "netns", "delete", ns.name], capture_output=True)
            removed.append(f"netns {ns.name}")
    if subprocess.run(["ip", "link", "show", CNI_BRIDGE], capture_output=True).returncode == 0:
        subprocess.run(["ip", "link", "delete", CNI_BRIDGE], capture_output=True)
        removed.append(f"bridge {CNI_BRIDGE}")
    if cni_data_dir.exists():
        shutil.rmtree(cni_data_dir)
        removed.append(f"IP allocations {cni_data_dir}")
    removed += _remove_portmap_chains(cni_network)
    return removed


def _remove_portmap_chains(cni_network: str) -> list[str]:
    """portmap makes one CNI-DN-* chain per pod, tagged with the network name in a comment."""
    saved = _ipt("-t", "nat", "-S", check=False).stdout.splitlines()
    ours: set[str] = set()
    for line in saved:
        if line.startswith("-A ") and f'name: \\"{cni_network}\\"' in line and "-j CNI-" in line:
            ours.add(line.split("-j ")[-1].split()[0])
    for line in saved:
        if line.startswith("-A ") and line.split("-j ")[-1].split()[0] in ours:
            _ipt("-t", "nat", *shlex.split(line.replace("-A ", "-D ", 1)), check=False)
    for chain in ours:
        _ipt("-t", "nat", "-F", chain, check=False)
        _ipt("-t", "nat", "-X", chain, check=False)
    return [f"iptables chain {c}" for c in sorted(ours)]
