"""Pid files that cannot name the wrong process: the workshop servers' and the cluster's.

A bare pid goes stale: after a reboot or a crash the number can belong to anything, and
signalling it as root would hit an innocent process. So a pid file also records the process's
start time (clock ticks since boot, from /proc/PID/stat), the boot it belongs to and a digest of
its command line; `alive` trusts the file only while all of them still match.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _digest(argv: Sequence[str]) -> str:
    return hashlib.sha256(b"".join(a.encode() + b"\0" for a in argv)).hexdigest()[:16]


def _started(pid: int) -> str:
    """The start time of a running process; OSError when it is gone or a zombie."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    if stat[0] == "Z":  # it has exited; only its parent has not reaped it yet
        raise ProcessLookupError(pid)
    return stat[19]


def _cmdline(pid: int) -> bytes:
    # Right after exec the kernel can still show an empty command line for a moment.
    for _ in range(20):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if cmdline:
            return cmdline
        time.sleep(0.05)
    return b""


def write(path: Path, pid: int, argv: Sequence[str]) -> None:
    """Record the running process `pid`, started with `argv`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    boot = _BOOT_ID.read_text().strip()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid} {_started(pid)} {boot} {_digest(argv)}\n")
    os.replace(tmp, path)


def alive(path: Path) -> int | None:
    """The pid in `path` if that very process still runs; None for a missing or old-format
    file, another boot, a pid now used by another program, or a zombie."""
    try:
        pid_text, started, boot, digest = path.read_text().split()
        pid = int(pid_text)
        if boot != _BOOT_ID.read_text().strip() or started != _started(pid):
            return None
        cmdline = _cmdline(pid)
    except (OSError, ValueError):
        return None
    argv = [a.decode(errors="surrogateescape") for a in cmdline.split(b"\0")[:-1]]
    return pid if _digest(argv) == digest else None
