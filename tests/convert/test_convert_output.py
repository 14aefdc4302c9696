"""Output side: YAML files per object (stale ones removed), the wait-for-dependency shell loop
run by a real shell against a real listening socket, and credential detection in env names."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from docker2k8s.convert import convert_compose, to_yaml, write_files
from docker2k8s.convert.manifests import is_secret_name, wait_script
from docker2k8s.convert.probes import tcp_socket


def test_write_files_removes_stale_output(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  a:\n    image: x:1\n    expose: ['80']\n  b:\n    image: y:1\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.yaml").write_text("kind: Something\n")  # not ours: kept
    written, removed = write_files(convert_compose(compose, environ={}).objects, out)
    assert sorted(p.name for p in written) == ["a-deployment.yaml", "a-service.yaml",
                                               "b-deployment.yaml"]  # fmt: skip
    assert removed == []
    compose.write_text("services:\n  a:\n    image: x:1\n")
    written, removed = write_files(convert_compose(compose, environ={}).objects, out)
    assert sorted(p.name for p in removed) == ["a-service.yaml", "b-deployment.yaml"]
    assert sorted(p.name for p in out.iterdir()) == ["a-deployment.yaml", "notes.yaml"]
    assert yaml.safe_load((out / "a-deployment.yaml").read_text())["kind"] == "Deployment"


def test_yaml_has_block_strings_and_no_anchors() -> None:
    objects = [{"a": {"x": 1}, "b": "line one\nline two\n"}]
    objects[0]["c"] = objects[0]["a"]  # the same dict twice
    text = to_yaml(objects)
    assert "&" not in text and "*" not in text
    assert "b: |\n  line one\n  line two\n" in text


def _tools_dir(tmp_path: Path, tools: list[str]) -> str:
    """A PATH holding only the named programs, to run the loop as a small image would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        real = sys.executable if tool == "python3" else subprocess.run(
            ["sh", "-c", f"command -v {tool}"], capture_output=True, text=True, check=True
        ).stdout.strip()  # fmt: skip
        (bin_dir / tool).symlink_to(real)
    return str(bin_dir)


@pytest.mark.parametrize("tools", [["sleep", "bash"], ["sleep", "python3"]])
def test_wait_script_waits_for_a_listener(
    tmp_path: Path, tools: list[str], free_port: Callable[[], int]
) -> None:
    port = free_port()
    env = {**os.environ, "PATH": _tools_dir(tmp_path, tools)}
    shell = subprocess.run(["sh", "-c", "command -v sh"], capture_output=True, text=True).stdout
    loop = subprocess.Popen(
        [shell.strip(), "-c", wait_script("127.0.0.1", port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2.5)
        assert loop.poll() is None, "the loop ended before anything listened"
        with socket.create_server(("127.0.0.1", port)):
            assert loop.wait(timeout=15) == 0
    finally:
        loop.kill()
    assert f"waiting for 127.0.0.1:{port}" in (loop.stdout.read() if loop.stdout else "")


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("HF_TOKEN", True), ("MYSQL_ROOT_PASSWORD", True), ("AWS_SECRET_ACCESS_KEY", True),
        ("OPENAI_API_KEY", True), ("client_secret", True), ("DB_PASSWD", True),
        ("TOKEN_DELAY_MS", False), ("MAX_NEW_TOKENS", False), ("DB_PASSWORD_FILE", False),
        ("PRIMARY_KEY", False), ("TOKENIZER", False), ("SECRET_NAME_PREFIX", False),
    ],
)  # fmt: skip
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("test", "port"),
    [
        (["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3306"], 3306),
        (["CMD-SHELL", "nc -z localhost 6379 || exit 1"], 6379),
        (["CMD", "nc", "-z", "-w", "2", "127.0.0.1", "5432"], 5432),
        (["CMD", "bash", "-c", "exec 3<>/dev/tcp/db/3306"], None),  # another host
        (["CMD", "pg_isready"], None),
    ],
)
def test_tcp_probe_detection(test: list[str], port: int | None) -> None:
    assert tcp_socket(test) == (None if port is None else {"port": port})
