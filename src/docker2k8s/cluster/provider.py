"""The small interface every cluster provider (local, kind) offers, in the shape of kind's own.

A provider brings nodes up and down and copies images into them. Everything that only needs a
running API server (add-ons, waits, the kubeconfig merge) is a shared action (actions.py) that
uses nothing but this interface, so it runs the same way on every provider.
"""

from __future__ import annotations

import subprocess
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


class Provider(Protocol):
    name: str
    # Add-ons (names in addons.ADDONS) this kind of cluster brings itself; the shared actions
    # install the others. kind ships CoreDNS and local-path storage.
    ships: frozenset[str]
    # Whether d2k runs this cluster's nodes and add-ons (local, kind): `up` then loads images,
    # applies add-ons and waits for them. An external cluster is only checked and reported on.
    managed: bool

    def up(self, console: Console) -> None:
        """Create or start the nodes until the API server answers; harmless when running."""
        ...

    def down(self, console: Console, purge: bool = False) -> None:
        """Stop the cluster and remove the host state it made (kept unless `purge`: its data)."""
        ...

    def exists(self) -> bool:
        """Whether this provider has a cluster here (running or stopped)."""
        ...

    def status(self) -> list[ComponentHealth]:
        """Health of the provider's own parts (processes, node containers), with their logs."""
        ...

    def load_image(self, ref: str) -> None:
        """Copy the local Docker image `ref` into every node (skipped when already there)."""
        ...

    def kubeconfig(self) -> Path:
        """A kubeconfig file whose context CONTEXT_NAME is this cluster, with admin rights."""
        ...

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; with `check`, a failure raises D2KError."""
        ...

    def manifest_values(self) -> dict[str, str]:
        """Provider-specific values for the add-on manifests' ${placeholders}."""
        ...

    def cluster_ca(self) -> tuple[str, str]:
        """The cluster CA's certificate and key (PEM): add-on webhooks get certificates from it."""
        ...
