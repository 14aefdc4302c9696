"""Fixtures shared by every test folder.

Tests use real parts: a missing prerequisite fails the test with the fix, it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from docker2k8s.paths import REPO_ROOT, tool_path

os.environ["PATH"] = tool_path()

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests keep screenshots and logs for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def docker_engine() -> None:
    from docker2k8s.prerequisites import docker_engine as probe

    finding = probe()
    if not finding.ok:
        pytest.fail(f"Docker Engine is not running ({finding.detail}); fix: d2k setup")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port():
    """free_port() -> a TCP port on loopback that nobody listens on right now."""
    return _free_port


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site built once with `mkdocs build --strict`."""
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        ["mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return site


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site served on loopback, as a reader's browser would see it."""
    handler = partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (Playwright's own browser download is not used)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; fix: apt-get install chromium (or: d2k setup)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _run_d2k(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("d2k") or "d2k", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )


@pytest.fixture(scope="session")
def d2k():
    """Run the installed `d2k` command as a user would: d2k("doctor") -> CompletedProcess."""
    return _run_d2k


@pytest.fixture(scope="session")
def cluster():
    """The workshop cluster's provider, brought up once per session (`up` is idempotent).

    The provider is D2K_CLUSTER_PROVIDER (default auto: the one `up` recorded, else kind where
    it works, else local).
    """
    from docker2k8s import cluster as clusters
    from docker2k8s.errors import D2KError

    try:
        return clusters.up(os.environ.get("D2K_CLUSTER_PROVIDER", "auto"))
    except D2KError as error:
        pytest.fail(f"`d2k cluster up` failed: {error}")


# Wall time per area (the folder under tests/), summed over the setup, call and teardown of its
# tests and printed at the end: where `make test` spends its time. Labs are graded side by side,
# so each graded lab's own time is printed apart from the areas (it overlaps other labs').
_SECONDS_BY_AREA: dict[str, float] = {}
_SECONDS_BY_LAB: dict[str, tuple[float, float]] = {}  # (the solution, all three ways)


def _area(nodeid: str) -> str:
    path = nodeid.partition("::")[0]
    if path.endswith("test_lab_grading.py"):
        return "course: the labs graded"
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 else parts[-1]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    area = _area(report.nodeid)
    _SECONDS_BY_AREA[area] = _SECONDS_BY_AREA.get(area, 0.0) + report.duration
    for name, value in report.user_properties:
        if name == "graded_seconds":
            _SECONDS_BY_LAB[report.nodeid.rpartition("[")[2].rstrip("]")] = value


def pytest_terminal_summary(terminalreporter) -> None:
    if not _SECONDS_BY_AREA:
        return
    terminalreporter.section("time per area")
    for area, seconds in sorted(_SECONDS_BY_AREA.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds / 60:7.1f} min  {area}")
    total = sum(_SECONDS_BY_AREA.values())
    terminalreporter.write_line(f"{total / 60:7.1f} min  in all")
    for lab, (solution, three_ways) in sorted(_SECONDS_BY_LAB.items()):
        terminalreporter.write_line(
            f"{three_ways / 60:7.1f} min  {lab} graded three ways (solution {solution / 60:.1f})"
        )
