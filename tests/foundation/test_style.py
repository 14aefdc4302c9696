"""The code is ruff-clean: lint rules and formatting, as configured in pyproject.toml."""

import subprocess

import pytest

from docker2k8s.paths import REPO_ROOT

PYTHON_TREES = ["src", "tests", "bench", "apps", "docs/hooks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=" ".join)
def test_ruff(command: list[str]):
    trees = [tree for tree in PYTHON_TREES if (REPO_ROOT / tree).exists()]
    result = subprocess.run(
        ["ruff", *command, *trees], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"
