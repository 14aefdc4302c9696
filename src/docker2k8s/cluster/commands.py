"""`d2k cluster ...` commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import BACKENDS, ClusterError, current_backend, get_backend

app = typer.Typer(help="Create, inspect and remove the workshop cluster.", no_args_is_help=True)
console = Console(stderr=True)


def _fail(err: ClusterError) -> None:
    console.print(f"[red]error:[/] {err}")
    raise typer.Exit(1)


@app.command()
def up(
    backend: Annotated[
        str, typer.Option(help=f"Which cluster to run: {', '.join(BACKENDS)}.")
    ] = "auto",
) -> None:
    """Create or start the cluster (harmless when it already runs)."""
    try:
        get_backend(backend).up(console)
    except ClusterError as err:
        _fail(err)


@app.command()
def down(
    purge: Annotated[
        bool, typer.Option(help="Also delete cluster data (etcd, certificates, volumes).")
    ] = False,
) -> None:
    """Stop the cluster and remove the network state it made."""
    try:
        current_backend().down(console, purge=purge)
    except ClusterError as err:
        _fail(err)


@app.command()
def status() -> None:
    """Show each component's health and where its log is."""
    try:
        backend = current_backend()
        rows = backend.status()
    except ClusterError as err:
        _fail(err)
        return
    table = Table(title=f"cluster ({backend.name} backend)")
    for col in ("component", "health", "detail", "log"):
        table.add_column(col)
    for row in rows:
        health = "[green]ok[/]" if row.healthy else "[red]down[/]"
        table.add_row(row.name, health, row.detail, str(row.log or ""))
    # Log paths are long; do not squeeze the table to 80 columns when piped.
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


@app.command()
def kubeconfig() -> None:
    """Print the path of a kubeconfig whose context `docker2k8s` is this cluster."""
    typer.echo(str(current_backend().kubeconfig()))
