"""Every expected failure reaches the user as `error:` and `fix:` lines, never a traceback:
a failed command, a hung one, a missing tool, a bad environment value and a full disk, each
run through the real `d2k` command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from docker2k8s.paths import REPO_ROOT


def _fake_docker(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose PATH has a `docker` that runs `body` (a shell script)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"#!/bin/sh\n{body}\n")
    docker.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _reported(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    assert "\nfix: " in done.stderr, done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def test_a_failed_command(d2k, tmp_path: Path) -> None:
    env = _fake_docker(tmp_path, "echo 'Cannot connect to the Docker daemon' >&2; exit 1")
    done = d2k("images", "build", "web", env=env)
    _reported(done, "Docker Engine is not reachable", "Cannot connect to the Docker daemon")


def test_a_command_that_hangs(d2k, tmp_path: Path) -> None:
    env = _fake_docker(tmp_path, "exec sleep 600")
    done = d2k("images", "build", "web", env=env)
    _reported(done, "did not finish within 15 s", "docker version")


def test_a_missing_tool(d2k) -> None:
    done = d2k("images", "build", "web", env={**os.environ, "PATH": "/nonexistent"})
    _reported(done, "`docker` is not installed", "apt-get install docker.io")


def test_a_bad_environment_value(d2k) -> None:
    done = d2k("cluster", "status", env={**os.environ, "D2K_CLUSTER_RUN_DIR": "run-here"})
    _reported(done, "D2K_CLUSTER_RUN_DIR='run-here' is not an absolute path")


def test_a_full_disk(d2k, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    try:
        (disk / "filler").write_bytes(b"\0" * 60_000)
        compose = REPO_ROOT / "apps" / "compose.yaml"
        done = d2k("convert", "compose", str(compose), "-o", str(disk / "manifests"), "-q")
        _reported(done, "No space left on the disk", "d2k cluster repair")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
