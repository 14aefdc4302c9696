"""Where docker2k8s keeps things outside the repository.

Builds are cached (never committed) so a second run is fast; running processes keep pid files and
logs in a state directory that outlives any notebook kernel. Environment variables move both.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cluster_dir() -> Path:
    """The repository's cluster/ directory: Go modules, config templates, add-on manifests."""
    return Path(os.environ.get("D2K_CLUSTER_DIR") or REPO_ROOT / "cluster")


def cache_dir() -> Path:
    """Built binaries, images and downloads: safe to delete, expensive to rebuild."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "docker2k8s"
    return Path(os.environ.get("D2K_CACHE_DIR", default))


def state_dir() -> Path:
    """Pid files, logs and generated credentials of running services."""
    default = (
        Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "docker2k8s"
    )
    return Path(os.environ.get("D2K_STATE_DIR", default))


def tool_path() -> str:
    """PATH for kernels and servers we start: this Python's bin directory first, so `!d2k` in a
    notebook finds the same installation as the process that started it."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
