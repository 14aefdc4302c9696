"""A pid file names one process: not a recycled pid, not a zombie, not one from another boot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from polling import wait_for

from docker2k8s import pidfile


def _sleeper(*extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *extra])


def test_a_running_process_is_alive(tmp_path: Path) -> None:
    proc = _sleeper()
    try:
        pidfile.write(tmp_path / "p.pid", proc.pid, proc.args)
        assert pidfile.alive(tmp_path / "p.pid") == proc.pid
    finally:
        proc.kill()
        proc.wait()
    assert pidfile.alive(tmp_path / "p.pid") is None


def test_a_pid_now_used_by_another_program_is_not_alive(tmp_path: Path) -> None:
    """The file names pid P; P now runs something else (another command line)."""
    ours, other = _sleeper("ours"), _sleeper("other")
    try:
        pidfile.write(tmp_path / "p.pid", ours.pid, ours.args)
        _pid, started, boot, digest = (tmp_path / "p.pid").read_text().split()
        # Same pid field rewritten to the other process: start time and command line differ.
        (tmp_path / "p.pid").write_text(f"{other.pid} {started} {boot} {digest}\n")
        assert pidfile.alive(tmp_path / "p.pid") is None
        # Even with the right start time, another command line is not ours.
        pidfile.write(tmp_path / "q.pid", other.pid, other.args)
        *_, other_digest = (tmp_path / "q.pid").read_text().split()
        text = (tmp_path / "q.pid").read_text().replace(other_digest, digest)
        (tmp_path / "q.pid").write_text(text)
        assert pidfile.alive(tmp_path / "q.pid") is None
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


def test_a_file_from_another_boot_is_not_alive(tmp_path: Path) -> None:
    proc = _sleeper()
    try:
        pidfile.write(tmp_path / "p.pid", proc.pid, proc.args)
        pid, started, _boot, digest = (tmp_path / "p.pid").read_text().split()
        (tmp_path / "p.pid").write_text(f"{pid} {started} 00000000-another-boot {digest}\n")
        assert pidfile.alive(tmp_path / "p.pid") is None
    finally:
        proc.kill()
        proc.wait()


def test_a_zombie_is_not_alive(tmp_path: Path) -> None:
    proc = _sleeper()
    pidfile.write(tmp_path / "p.pid", proc.pid, proc.args)
    proc.kill()
    # Not reaped yet: once it has died it is a zombie, its pid still taken.
    stat = Path(f"/proc/{proc.pid}/stat")
    wait_for("the killed process to be a zombie", lambda: stat.read_text().split(") ")[1][0] == "Z")
    assert pidfile.alive(tmp_path / "p.pid") is None
    proc.wait()


def test_an_old_format_or_garbage_file_is_not_alive(tmp_path: Path) -> None:
    (tmp_path / "old.pid").write_text("1\n")  # a bare pid, as d2k wrote before: init
    (tmp_path / "junk.pid").write_text("not a pid file")
    assert pidfile.alive(tmp_path / "old.pid") is None
    assert pidfile.alive(tmp_path / "junk.pid") is None
    assert pidfile.alive(tmp_path / "missing.pid") is None
