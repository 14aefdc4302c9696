from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubelet_peer import KubeletPeer


class PluginProcess:
    """`python -m docker2k8s.gpu` as a real process, its log kept for assertions and failures."""

    def __init__(self, plugin_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log_path = plugin_dir.parent / "plugin.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "docker2k8s.gpu", "--plugin-dir", str(plugin_dir), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "D2K_GPU_LABEL_NODE": "no", **(env or {})},
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # Short path under /tmp: a unix socket path may not exceed 107 bytes, pytest's tmp_path can.
    root = Path(tempfile.mkdtemp(prefix="d2kgpu-"))
    directory = root / "device-plugins"
    directory.mkdir()
    yield directory
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def kubelet(socket_dir: Path) -> Iterator[KubeletPeer]:
    peer = KubeletPeer(socket_dir)
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture
def start_plugin(socket_dir: Path) -> Iterator[Callable[..., PluginProcess]]:
    started: list[PluginProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> PluginProcess:
        plugin = PluginProcess(socket_dir, *args, env=env)
        started.append(plugin)
        return plugin

    yield start
    for plugin in started:
        plugin.stop()
