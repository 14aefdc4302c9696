"""What the local cluster needs from the host and changes on it: root, a few Debian packages,
disk space, its own directories (0700, marked as its own), and kernel settings it restores.

The kubelet and kube-proxy tune the kernel when they start (vm.overcommit_memory, kernel.panic,
route_localnet, ...). `up` saves the values from before the first start and `down` writes them
back, so a stopped cluster leaves the host as it found it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from docker2k8s.errors import D2KError

from .. import gobuild
from .layout import MARKER, Layout

# host program -> Debian package. containerd and runc are built from their Go modules.
HOST_TOOLS = {
    "iptables": "iptables",
    "conntrack": "conntrack",
    "ip": "iproute2",
    "openssl": "openssl",
    "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
MIN_FREE_GIB = 4

# Kernel settings the kubelet, kube-proxy or d2k's own rules may change (names under /proc/sys).
SYSCTLS = (
    "net/ipv4/conf/all/route_localnet",
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "net/netfilter/nf_conntrack_max",
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)


def check_prerequisites(layout: Layout) -> None:
    if os.geteuid() != 0:
        raise D2KError(
            "The local cluster runs containerd, the kubelet and iptables, and needs root.",
            "run `sudo d2k cluster up` (or run as root)",
        )
    missing = sorted({pkg for tool, pkg in HOST_TOOLS.items() if not shutil.which(tool)})
    if any(not Path("/usr/lib/cni", p).exists() for p in CNI_PLUGINS):
        missing.append("containernetworking-plugins")
    if missing:
        raise D2KError(
            f"Missing host packages for the local cluster: {', '.join(missing)}.",
            f"apt-get install {' '.join(missing)}",
        )
    if not all(gobuild.is_built(p) for p in gobuild.CLUSTER_PROGRAMS):
        gobuild.find_go()
    where = _existing_parent(layout.state)
    free = shutil.disk_usage(where).free
    if free < MIN_FREE_GIB * 2**30:
        raise D2KError(
            f"Only {free / 2**30:.1f} GiB free under {where}; the local cluster needs at least "
            f"{MIN_FREE_GIB} GiB for etcd, containerd and images.",
            "free some disk space (`d2k cluster repair` rotates the cluster's logs), or set "
            "D2K_CLUSTER_STATE_DIR to a larger disk",
        )


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def free_disk(layout: Layout) -> tuple[bool, str]:
    where = _existing_parent(layout.state)
    free = shutil.disk_usage(where).free / 2**30
    return free >= MIN_FREE_GIB, f"{free:.1f} GiB free under {where} (needs {MIN_FREE_GIB})"


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files and directories made inside are private from their first byte (umask 077): keys,
    kubeconfigs, the cluster's state. The components get the usual 022 from the supervisor."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def claim(root: Path) -> None:
    """Make `root` the cluster's own: create it 0700 with the marker, or adopt it when it is
    empty, already marked, or a cluster an older d2k made (its CA is docker2k8s-ca). Refuse a
    directory that holds someone else's files."""
    if root.exists() and not (root / MARKER).exists() and any(root.iterdir()) and not _legacy(root):
        raise D2KError(
            f"{root} holds files that are not the cluster's (no {MARKER} in it); d2k will not "
            "take it over, because `d2k cluster down --purge` would delete it.",
            "point D2K_CLUSTER_STATE_DIR / D2K_CLUSTER_RUN_DIR at an empty or new directory, or "
            f"if {root} is an old docker2k8s cluster, delete it yourself",
        )
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    (root / MARKER).write_text("This directory belongs to the docker2k8s local cluster.\n")


def _legacy(root: Path) -> bool:
    """A state root an older d2k made (its CA), or a run root holding only what it kept there."""
    ca = root / "pki" / "ca.crt"
    if ca.exists():
        return b"docker2k8s-ca" in _subject(ca)
    return {p.name for p in root.iterdir()} <= {"pids", "containerd", "d2k-cluster.lock"}


def _subject(cert: Path) -> bytes:
    done = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-subject"], capture_output=True
    )
    return done.stdout


def owned(root: Path) -> bool:
    return (root / MARKER).is_file()


def _read(name: str) -> str | None:
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:  # not on this kernel (bridge netfilter not loaded, ...)
        return None


def save_sysctls(layout: Layout) -> None:
    """Record the host's values once, before the first component starts."""
    if layout.sysctls.exists():
        return
    values = {name: value for name in SYSCTLS if (value := _read(name)) is not None}
    layout.sysctls.write_text(json.dumps(values, indent=1) + "\n")


def restore_sysctls(layout: Layout) -> list[str]:
    """Write back what `save_sysctls` recorded; return the settings that changed back."""
    if not layout.sysctls.exists():
        return []
    restored = []
    for name, value in json.loads(layout.sysctls.read_text()).items():
        if _read(name) != value:
            try:
                Path("/proc/sys", name).write_text(value + "\n")
            except OSError as error:
                raise D2KError(
                    f"Could not restore {name.replace('/', '.')} to {value}: {error}",
                    f"sysctl -w {name.replace('/', '.')}={value}",
                ) from None
            restored.append(f"{name.replace('/', '.')}={value}")
    layout.sysctls.unlink()
    return restored
