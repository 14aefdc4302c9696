"""Bring the learner's tools up: JupyterLab on the repository and the docs site, on localhost."""

from __future__ import annotations

import os
import secrets
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from docker2k8s import processes, shell
from docker2k8s.errors import D2KError
from docker2k8s.paths import REPO_ROOT, state_dir, tool_path

SITE_DIR = REPO_ROOT / "site"


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    log: Path


def build_docs() -> None:
    argv = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(SITE_DIR)]
    shell.run(argv, cwd=REPO_ROOT, what="building the docs site (mkdocs build --strict)")


def _token() -> str:
    """JupyterLab's login token, generated once and kept out of the repository."""
    path = state_dir() / "jupyter.token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise D2KError(
                    f"{url} did not answer within {timeout:.0f} s.",
                    f"read the logs in {state_dir() / 'logs'}",
                ) from None
            time.sleep(0.5)


def up(host: str = "127.0.0.1", lab_port: int = 8888, docs_port: int = 8000) -> list[Endpoint]:
    """Start JupyterLab and a static server for the built docs; both survive this process."""
    build_docs()  # every time: a site left from an older checkout would show stale chapters
    token = _token()
    processes.start(
        "jupyterlab",
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.ip={host}",
            f"--ServerApp.port={lab_port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={REPO_ROOT}",
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ, PATH=tool_path()),
    )
    processes.start(
        "docs",
        [sys.executable, "-m", "http.server", str(docs_port), "--bind", host, "-d", str(SITE_DIR)],
    )
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    lab_url = f"http://{shown}:{lab_port}/lab/tree/labs?token={token}"
    docs_url = f"http://{shown}:{docs_port}/"
    _wait_http(f"http://{shown}:{lab_port}/api/status?token={token}", 60)
    _wait_http(docs_url, 20)
    return [
        Endpoint("JupyterLab (the labs)", lab_url, processes.log_file("jupyterlab")),
        Endpoint("Docs site", docs_url, processes.log_file("docs")),
    ]


def down() -> list[str]:
    """Stop what `up` started; returns the names that were running."""
    return [name for name in ("jupyterlab", "docs") if processes.stop(name)]
