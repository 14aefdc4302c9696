"""Every `d2k` command explains itself."""

import subprocess
import sys

import pytest
import typer.main

import docker2k8s
from docker2k8s.cli import app


def _command_paths(group) -> list[tuple[str, ...]]:
    """("",), ("doctor",), ("cluster", "up"), ...: every group and command under `group`."""
    paths: list[tuple[str, ...]] = [()]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths += [(name, *sub) for sub in _command_paths(command)]
        else:
            paths.append((name,))
    return paths


@pytest.mark.parametrize(
    "path", _command_paths(typer.main.get_command(app)), ids=lambda p: " ".join(("d2k", *p))
)
def test_help(path, d2k):
    result = d2k(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_python_dash_m_is_d2k():
    out = subprocess.run(
        [sys.executable, "-m", "docker2k8s", "version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == docker2k8s.__version__
