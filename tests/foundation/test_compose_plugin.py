"""`d2k setup` leaves Compose v2 working: the CPU override of apps/compose.yaml needs it."""

import re

import pytest

from docker2k8s.cluster.layout import COMPOSE_VERSION, repo_cluster_dir
from docker2k8s.compose_plugin import compose_version, plugin_dir


def test_the_compose_module_pins_the_version_setup_builds():
    go_mod = (repo_cluster_dir() / "go" / "compose" / "go.mod").read_text()
    pinned = re.search(r"github\.com/docker/compose/v2 (v\S+)", go_mod)
    assert pinned and pinned.group(1) == COMPOSE_VERSION, pinned


@pytest.mark.docker
def test_setup_made_docker_compose_v2_work(d2k):
    version = compose_version()
    assert version, "`docker compose` does not work after `d2k setup`"
    major, minor = (int(n) for n in version.lstrip("v").split(".")[:2])
    assert (major, minor) >= (2, 24), f"Compose {version} cannot apply `!reset` (needs 2.24+)"
    link = plugin_dir() / "docker-compose"
    if link.is_symlink():  # ours: it points at the cached build
        assert link.resolve().exists(), f"{link} points at a missing build"
    # Nothing left to do: a second setup repairs nothing.
    again = d2k("setup", "--for", "workshop")
    assert again.returncode == 0, again.stderr
    assert "setting up" not in again.stdout and "setup done" in again.stdout
