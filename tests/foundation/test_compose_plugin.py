"""`d2k setup` leaves Compose v2 working: the CPU override of apps/compose.yaml needs it."""

import pytest

from docker2k8s.compose_plugin import compose_version, plugin_dir


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
