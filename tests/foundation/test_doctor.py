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
