"""The converter's table of `docker run` flags against the installed Docker CLI's own help,
so a flag Docker knows is never rejected as unknown, and value flags take their value."""

import re
import shutil
import subprocess

import pytest

from docker2k8s.convert import docker_run

_FLAG = re.compile(r"^\s+(?:-(\w), )?--([\w-]+)(?: (\S+))?\s{2,}")


@pytest.mark.docker
def test_flag_table_matches_docker_cli() -> None:
    docker = shutil.which("docker")
    assert docker, "the docker CLI is not installed: `d2k doctor` says how to install it"
    help_text = subprocess.run(
        [docker, "run", "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    seen = 0
    for line in help_text.splitlines():
        match = _FLAG.match(line)
        if not match:
            continue
        short, name, kind = match.groups()
        seen += 1
        if kind:
            assert name in docker_run._VALUE_FLAGS, f"--{name} takes a {kind}: not in the table"
        else:
            assert name in docker_run._BOOL_FLAGS, f"--{name} is a switch: not in the table"
        if short:
            assert docker_run._SHORT.get(short) == name, f"-{short} should mean --{name}"
    assert seen > 90, f"parsed only {seen} flags from docker run --help"
