"""Starting and stopping the local cluster's supervisor (docker2k8s.supervisor) from d2k.

The supervisor is started through a short-lived launcher so that it is re-parented to init: a
long-lived caller (a notebook kernel) then never holds it as a zombie. Its spec carries a digest
of every config and certificate, so `up` restarts the components only when something changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from docker2k8s import pidfile, shell

from .components import Component
from .layout import Layout

SUPERVISOR = "docker2k8s.supervisor"

_LAUNCHER = """
import subprocess, sys
with open(sys.argv[1], "ab") as log:
    proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
print(proc.pid)
"""


def pid_path(layout: Layout, name: str = "supervisor") -> Path:
    return layout.pids / f"{name}.pid"


def running(layout: Layout, name: str = "supervisor") -> int | None:
    """The pid of the supervisor (or of component `name`) while that very process runs."""
    return pidfile.alive(pid_path(layout, name))


def _config_digest(layout: Layout) -> str:
    digest = hashlib.sha256()
    for path in sorted([*layout.config.glob("*"), *layout.pki.glob("*")]):
        if path.is_file() and path.name != "supervisor.json":
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def spec(layout: Layout, components: list[Component]) -> dict[str, object]:
    return {
        "config_digest": _config_digest(layout),
        "components": [
            {
                "name": comp.name,
                "argv": comp.argv,
                "env": comp.env,
                "log": str(layout.logs / f"{comp.name}.log"),
                "pidfile": str(pid_path(layout, comp.name)),
            }
            for comp in components
        ],
    }


def start(layout: Layout, wanted: dict[str, object]) -> bool:
    """Start the supervisor unless it already runs this exact spec; True if it started."""
    text = json.dumps(wanted, indent=1)
    spec_path = layout.config / "supervisor.json"
    pid = running(layout)
    if pid and spec_path.exists() and spec_path.read_text() == text:
        return False
    if pid:
        stop(layout)
    stop_orphans(layout)
    layout.pids.mkdir(mode=0o700, parents=True, exist_ok=True)
    spec_path.write_text(text)
    supervisor = [sys.executable, "-m", SUPERVISOR, str(spec_path)]
    launched = shell.run(
        [sys.executable, "-c", _LAUNCHER, layout.logs / "supervisor.log", *supervisor],
        what="starting the cluster supervisor",
    )
    pidfile.write(pid_path(layout), int(launched.stdout), supervisor)
    return True


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.2)


def stop(layout: Layout, timeout: float = 180.0) -> None:
    """Stop the supervisor, which stops the components in reverse order first."""
    pid = running(layout)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        _wait_gone([pid], timeout)
        if running(layout):
            os.kill(pid, signal.SIGKILL)
    pid_path(layout).unlink(missing_ok=True)


def stop_orphans(layout: Layout, timeout: float = 30.0) -> None:
    """Stop components a dead supervisor left running (they would hold the ports). Only the
    processes their pid files name exactly: never a recycled pid."""
    if not layout.pids.exists():
        return
    paths = [p for p in layout.pids.glob("*.pid") if p.stem != "supervisor"]
    for signum in (signal.SIGTERM, signal.SIGKILL):
        pids = [pid for p in paths if (pid := pidfile.alive(p))]
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)
        _wait_gone(pids, timeout)
    for p in paths:
        p.unlink(missing_ok=True)
