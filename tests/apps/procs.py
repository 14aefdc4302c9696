"""Start the apps' servers as real processes on loopback for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sse import sse_events

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "apps"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode} before {url} answered")
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s (last: {last})")


def read_sse(response: httpx.Response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of the chat backend's server-sent events."""
    return sse_events(response.read().decode().splitlines())


class Server:
    """A Python server module run with the venv's interpreter; logs go to a file."""

    def __init__(self, app_dir: Path, module: str, args: list[str], env: dict, log: Path):
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        full_env = os.environ | {"PYTHONPATH": str(app_dir), "PYTHONUNBUFFERED": "1"} | env
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=full_env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


def start_inference(tmp: Path, *args: str, token_delay_ms: float = 0) -> tuple[Server, str]:
    port = free_port()
    server = Server(
        APPS / "inference",
        "inference_server",
        [
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(tmp / "data"),
            "--token-delay-ms",
            str(token_delay_ms),
            *args,
        ],
        {},
        tmp / f"inference-{port}.log",
    )
    return server, f"http://127.0.0.1:{port}"
