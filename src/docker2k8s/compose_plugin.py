"""Docker Compose v2 as a Docker CLI plugin, built from source where `docker compose` is missing.

Debian ships only Compose v1 (`docker-compose` 1.29), which cannot apply the CPU override
apps/compose.cpu.yaml (`devices: !reset []`), and an air-gapped machine cannot download the
plugin. Its Go module builds like the cluster's programs, into the same cache.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from rich.console import Console

from docker2k8s.cluster.gobuild import COMPOSE, build


def plugin_dir() -> Path:
    """Where the Docker CLI looks for plugins: system-wide for root, else the user's own."""
    if os.geteuid() == 0:
        return Path("/usr/local/lib/docker/cli-plugins")
    return Path.home() / ".docker" / "cli-plugins"


def compose_version() -> str | None:
    """`docker compose version --short`, or None when the plugin is missing or broken."""
    try:
        done = subprocess.run(
            ["docker", "compose", "version", "--short"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def install_compose_plugin(console: Console | None = None) -> Path:
    """Build Compose v2 (cached) and link it into the CLI plugin directory; return the link."""
    binary = build(COMPOSE, console) / "docker-compose"
    link = plugin_dir() / "docker-compose"
    link.parent.mkdir(parents=True, exist_ok=True)
    # A link, not a copy: a wiped cache leaves a dangling link, `docker compose` fails, and the
    # next `d2k setup` rebuilds.
    link.unlink(missing_ok=True)
    link.symlink_to(binary)
    return link
