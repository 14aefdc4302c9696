"""Long-running helper processes (dockerd, JupyterLab, the docs server) started detached from the
caller, so they outlive a notebook kernel or a `make` run, with a pid file and a log per name."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from docker2k8s import pidfile
from docker2k8s.paths import state_dir


def pid_file(name: str) -> Path:
    return state_dir() / "run" / f"{name}.pid"


def log_file(name: str) -> Path:
    return state_dir() / "logs" / f"{name}.log"


def running_pid(name: str) -> int | None:
    """The pid of `name` if its pid file names the very process `start` started."""
    return pidfile.alive(pid_file(name))


def start(name: str, argv: list[str], cwd: Path | None = None, env: dict | None = None) -> int:
    """Start `argv` in its own session unless `name` already runs; return its pid."""
    pid = running_pid(name)
    if pid is not None:
        return pid
    for path in (pid_file(name), log_file(name)):
        path.parent.mkdir(parents=True, exist_ok=True)
    with log_file(name).open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.write(pid_file(name), process.pid, argv)
    return process.pid


def stop(name: str, timeout: float = 20) -> bool:
    """Stop `name` and its session (TERM, then KILL after `timeout`); whether it was running."""
    pid = running_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)
    return True
