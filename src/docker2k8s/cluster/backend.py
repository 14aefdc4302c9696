"""The small interface every cluster backend (local, kind) implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rich.console import Console


@dataclass(frozen=True)
class ComponentHealth:
    """One part of the cluster as `d2k cluster status` shows it."""

    name: str
    healthy: bool
    detail: str
    log: Path | None = None


class ClusterBackend(Protocol):
    name: str

    def up(self, console: Console | None = None) -> None:
        """Create or start the cluster; harmless when it already runs."""
        ...

    def down(self, console: Console | None = None, purge: bool = False) -> None:
        """Stop the cluster and remove the host state it created (kept: caches, images, and
        unless `purge`, the cluster's data)."""
        ...

    def status(self) -> list[ComponentHealth]:
        """Health of each component, with the path of its log."""
        ...

    def load_image(self, name: str) -> None:
        """Copy the local Docker image `name` into the cluster's nodes."""
        ...

    def kubeconfig(self) -> Path:
        """A kubeconfig whose context `docker2k8s` points at this cluster."""
        ...
