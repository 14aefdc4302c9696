"""A small process supervisor for the local cluster, run detached as its own session.

It imports nothing of d2k but pid files: it stays small (about 15 MiB) for as long as the
cluster runs. `python -m docker2k8s.supervisor SPEC.json` starts every component listed in the
spec in order, writes one pid file per component (docker2k8s.pidfile), restarts a component that
exits (with backoff), keeps each component's log under LOG_LIMIT (the older half is kept as
<log>.1) and, on SIGTERM, stops them in reverse order. It outlives the shell or notebook kernel
that ran `d2k cluster up`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from docker2k8s import pidfile

STOP_TIMEOUT = 10.0  # then SIGKILL: state lives in etcd and containerd, not in memory
LOG_LIMIT = 32 * 2**20  # bytes; a full disk stops etcd, and a week of kubelet logs is gigabytes


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    pid_path: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    next_start: float = 0.0


def _say(out: TextIO, message: str) -> None:
    out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")
    out.flush()


def _start(child: Child, out: TextIO) -> None:
    child.log.parent.mkdir(parents=True, exist_ok=True)
    with open(child.log, "ab") as log:
        try:
            child.proc = subprocess.Popen(
                child.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **child.env},
                close_fds=True,
                umask=0o022,  # d2k runs with 077 for its keys; the components expect the usual
            )
        except OSError as err:
            # Keep supervising the others; retry this one later.
            log.write(f"d2k supervisor: cannot start {child.argv[0]}: {err}\n".encode())
            child.failures += 1
            child.next_start = time.monotonic() + min(30.0, 2.0**child.failures)
            _say(out, f"cannot start {child.name}: {err}")
            return
    child.started = time.monotonic()
    pidfile.write(child.pid_path, child.proc.pid, child.argv)
    _say(out, f"started {child.name} pid {child.proc.pid}")


def _stop(child: Child, out: TextIO) -> None:
    proc = child.proc
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    child.pid_path.unlink(missing_ok=True)
    _say(out, f"stopped {child.name}")


def rotate(log: Path, limit: int = LOG_LIMIT) -> bool:
    """Move the log aside as <log>.1 (replacing the older one) and empty it, when it is over
    `limit`. The component keeps writing through its O_APPEND descriptor, now at the start."""
    try:
        if log.stat().st_size <= limit:
            return False
    except OSError:
        return False
    shutil.copyfile(log, log.with_name(log.name + ".1"))
    with open(log, "r+b") as fh:
        fh.truncate(0)
    return True


def run(spec: dict[str, Any]) -> None:
    out = sys.stdout
    children = [
        Child(
            name=c["name"],
            argv=c["argv"],
            env=c.get("env", {}),
            log=Path(c["log"]),
            pid_path=Path(c["pidfile"]),
        )
        for c in spec["components"]
    ]
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    for child in children:
        if stopping:
            break
        _start(child, out)
        time.sleep(0.3)
    while not stopping:
        time.sleep(1.0)
        now = time.monotonic()
        for child in children:
            if stopping:
                break
            if rotate(child.log):
                _say(out, f"rotated {child.log}")
            proc = child.proc
            if proc is not None and proc.poll() is None:
                if now - child.started > 60:
                    child.failures = 0
                continue
            if proc is not None:
                child.failures += 1
                child.next_start = now + min(30.0, 2.0**child.failures)
                _say(out, f"{child.name} exited ({proc.returncode}); restarting, log {child.log}")
                child.proc = None
            if now >= child.next_start:  # child.proc is None here: never started, or exited
                _start(child, out)
    for child in reversed(children):
        _stop(child, out)
    _say(out, "supervisor stopped")


def main() -> None:
    spec_path = Path(sys.argv[1])
    spec = json.loads(spec_path.read_text())
    # One supervisor per cluster: a second one would start every component twice.
    lock = open(spec_path.with_name("supervisor.lock"), "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        _say(sys.stdout, "another supervisor runs this cluster; exiting")
        raise SystemExit(1) from None
    run(spec)


if __name__ == "__main__":
    main()
