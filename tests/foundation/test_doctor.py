"""`d2k doctor` tells the truth, including on a machine without Docker Engine."""

import os
import shutil
from pathlib import Path

import pytest

from docker2k8s import prerequisites


@pytest.mark.docker
def test_ready_machine(docker_engine, d2k):
    result = d2k("doctor", "--only", "workshop")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Docker Engine" in result.stdout and "missing" not in result.stdout


def test_engine_not_running_is_reported_with_the_fix(d2k, tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-such-docker.sock")
    result = d2k("doctor", "--only", "workshop", env=env)
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if "Docker Engine" in line)
    assert "missing" in row and "d2k setup" in row
    assert "cannot run until" in result.stderr


def test_no_docker_at_all(d2k, tmp_path):
    """A machine where neither the docker CLI nor the engine exists."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python3", "dpkg-query", "go"):  # keep what the other rows need
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    env = dict(
        os.environ,
        PATH=str(bin_dir),
        DOCKER_HOST=f"unix://{tmp_path}/no-such-docker.sock",
        COLUMNS="200",
    )
    result = d2k("doctor", "--only", "workshop", env=env)
    assert result.returncode == 1
    cli_row = next(line for line in result.stdout.splitlines() if "Docker CLI" in line)
    assert "missing" in cli_row and "apt-get install docker.io" in cli_row


def test_unknown_only_value_names_the_choices(d2k):
    result = d2k("doctor", "--only", "gpu")
    assert result.returncode == 2
    assert "workshop" in result.stderr and "local cluster" in result.stderr


def test_every_prerequisite_names_a_fix():
    for prerequisite in prerequisites.PREREQUISITES:
        assert prerequisite.fix.strip(), prerequisite.name


def test_missing_apt_package_is_detected():
    assert prerequisites.missing_apt_packages({"no-such-package-d2k"}) == ["no-such-package-d2k"]
    assert prerequisites.missing_apt_packages({"dpkg"}) == []


def test_a_failing_probe_is_a_finding_not_a_crash():
    def broken():
        raise OSError("permission denied")

    prerequisite = prerequisites.Prerequisite("x", prerequisites.WORKSHOP, broken, "fix it")
    finding = prerequisite.check()
    assert not finding.ok and "permission denied" in finding.detail


def test_state_and_cache_dirs_can_be_moved(monkeypatch, tmp_path: Path):
    from docker2k8s import paths

    monkeypatch.setenv("D2K_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("D2K_STATE_DIR", str(tmp_path / "s"))
    assert paths.cache_dir() == tmp_path / "c" and paths.state_dir() == tmp_path / "s"


def test_kubectl_is_checked_for_kind(d2k, tmp_path):
    """kind brings no kubectl: the doctor's kind rows say how to get one."""
    env = dict(os.environ, PATH=str(tmp_path), COLUMNS="300")
    result = d2k("doctor", "--only", "kind cluster", env=env)
    row = next(line for line in result.stdout.splitlines() if "kubectl" in line)
    assert "missing" in row and "Install Tools" in row, result.stdout


def test_setup_plan_leaves_debian_docker_out_where_a_docker_is():
    missing = ["debootstrap", "docker.io", "containerd", "bubblewrap"]
    install, skipped = prerequisites.apt_plan(missing, "a Docker Engine answers (Engine 27.3.1)")
    assert install == ["debootstrap", "bubblewrap"]
    assert set(skipped) == {"docker.io", "containerd"}
    assert "Engine 27.3.1" in skipped["docker.io"]
    assert prerequisites.apt_plan(missing, None) == (missing, {})  # no Docker at all: Debian's


def test_setup_dry_run_on_a_host_with_docker_ce(d2k, tmp_path):
    """Docker CE installed and stopped: its docker CLI is on PATH, its Engine does not answer, and
    dpkg knows no docker.io. `d2k setup` must not install Debian's Docker over it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "docker": 'test "$1" = --version && echo "Docker version 27.3.1, build ce12230"\n',
        "dpkg-query": 'printf "unknown ok not-installed"\n',  # every package missing
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}")
        (bin_dir / name).chmod(0o755)
    env = dict(
        os.environ,
        PATH=str(bin_dir),
        DOCKER_HOST=f"unix://{tmp_path}/docker-ce-stopped.sock",
        COLUMNS="300",
    )
    result = d2k("setup", "--dry-run", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    planned = next(line for line in result.stdout.splitlines() if "would install:" in line)
    assert "debootstrap" in planned and "docker.io" not in planned, result.stdout
    assert (
        f"not installing docker.io: Docker is already here: a docker CLI is installed at "
        f"{bin_dir}/docker" in result.stdout
    )


def test_a_host_without_debian_is_told_what_to_install_instead(d2k, tmp_path):
    """Ubuntu or macOS: no bookworm apt sources, no debootstrap. The doctor names the online way
    (a pulled Debian image) and Docker Desktop, not Debian's packages, and crashes on no row."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python3", "go"):  # what the other rows need; no docker, no debootstrap
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    env = dict(
        os.environ,
        PATH=str(bin_dir),
        D2K_APT_DIR=str(tmp_path / "no-apt"),
        DOCKER_HOST=f"unix://{tmp_path}/no-such-docker.sock",
        COLUMNS="400",
    )
    result = d2k("doctor", "--only", "workshop", env=env)
    assert "Traceback" not in result.stderr and "check failed" not in result.stdout, result
    rows = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if "│" in line}
    base = rows["Debian base image (debootstrap, or a pulled one)"]
    assert "missing" in base and "d2k images build --base debian:bookworm-slim" in base, base
    assert "apt-get" not in base
    assert "Docker Desktop" in rows["Docker CLI"] and "apt-get" not in rows["Docker CLI"]
    assert "GiB on this host" in rows["Memory"]  # no Engine answering: the host's own memory
