"""What `down` removes from the host, touching only what this cluster made.

Pod processes are found through the pods this cluster's kubelet ran (their uids in its root
directory), shims through this cluster's containerd socket; mounts under the cluster's own
directories are unmounted and checked; `purge` deletes only directories that carry the
cluster's marker file. Another kubelet or containerd on the host is never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from docker2k8s import shell
from docker2k8s.errors import D2KError

from .host import owned
from .layout import MARKER, Layout

_CGROUPS = Path("/sys/fs/cgroup")


def _pod_cgroups(layout: Layout) -> list[Path]:
    """The cgroups of the pods this cluster's kubelet ran: pod<uid> under kubepods (cgroupfs
    driver), in every cgroup v1 hierarchy or in the v2 tree."""
    pods = layout.kubelet_root / "pods"
    names = {f"pod{p.name}" for p in pods.iterdir()} if pods.exists() else set()
    candidates = [*_CGROUPS.glob("*/kubepods/**/pod*"), *_CGROUPS.glob("kubepods/**/pod*")]
    return [d for d in candidates if d.name in names and d.is_dir()]


def _shims(layout: Layout) -> set[int]:
    """containerd-shim processes started by this cluster's containerd (its socket is their
    argument)."""
    socket = str(layout.containerd_socket).encode()
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if args[0].endswith(b"containerd-shim-runc-v2") and socket in args:
                pids.add(int(cmdline.parent.name))
    return pids


def kill_pods(layout: Layout) -> int:
    """SIGKILL the processes of this cluster's pods, then its shims; return how many."""
    cgroups = _pod_cgroups(layout)
    pids: set[int] = set()
    for cgroup in cgroups:
        for procs in cgroup.glob("**/cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(x) for x in procs.read_text().split())
    pids |= _shims(layout)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    # A cgroup can be removed once its last process has exited: give the killed ones time.
    left = sorted({d for c in cgroups for d in (*c.glob("**/"), c)}, key=lambda p: -len(p.parts))
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        for cgroup in left:
            with contextlib.suppress(OSError):
                cgroup.rmdir()
        left = [c for c in left if c.exists()]
        time.sleep(0.1 if left else 0)
    return len(pids)


def _mounts_under(prefixes: tuple[str, ...]) -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return sorted((m for m in mounts if m.startswith(prefixes)), key=len, reverse=True)


def unmount(layout: Layout) -> None:
    """Unmount everything under the cluster's directories (pod volumes, container rootfs,
    network namespaces), deepest first; a D2KError when a mount stays."""
    prefixes = tuple(str(root) + "/" for root in layout.roots)
    for target in _mounts_under(prefixes):
        shell.run(["umount", target], check=False)
    for target in _mounts_under(prefixes):  # busy: detach it, it goes once the last user does
        shell.run(["umount", "-l", target], check=False)
    left = _mounts_under(prefixes)
    if left:
        raise D2KError(
            f"{len(left)} mounts under the cluster's directories could not be removed: "
            + ", ".join(left[:5]),
            "stop the processes that use them (`fuser -vm PATH`), then run `d2k cluster down` "
            "again",
        )


def purge(layout: Layout) -> list[Path]:
    """Delete the cluster's own directories: only those that carry its marker."""
    removed = []
    for root in layout.roots:
        if not root.exists():
            continue
        if not owned(root):
            raise D2KError(
                f"{root} has no {MARKER} file, so it may not be the cluster's; d2k will not "
                "delete it.",
                f"check what {root} holds and delete it yourself if it is the cluster's",
            )
        if _mounts_under((str(root) + "/",)):
            raise D2KError(f"{root} still has mounts; d2k will not delete it.", "d2k cluster down")
        shutil.rmtree(root)
        removed.append(root)
    return removed
