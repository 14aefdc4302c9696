"""`d2k cluster ...` commands. Expected failures raise D2KError, which the CLI root prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from docker2k8s import cluster

app = typer.Typer(help="Create, inspect and remove the workshop cluster.", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def up(
    provider: Annotated[
        str,
        typer.Option(
            help=f"Which cluster to run: {', '.join(cluster.PROVIDERS)} (the one `up` recorded; "
            "on a first `up`, kind where it works, else local)."
        ),
    ] = "auto",
) -> None:
    """Create or start the cluster (harmless when it already runs)."""
    cluster.up(provider, console)


@app.command()
def use(
    context: Annotated[
        str, typer.Argument(help="a context of the kubeconfig (kubectl config get-contexts)")
    ],
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="the kubeconfig file that has the context [default: ~/.kube/config]"),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            help="registry HOST/PATH the cluster's nodes pull from; `d2k images load` pushes there"
        ),
    ] = None,
    namespace_prefix: Annotated[
        str,
        typer.Option(help="put before each lab's namespace (alice- gives alice-lab03)"),
    ] = "",
    install_addons: Annotated[
        bool,
        typer.Option(
            help="install the workshop's add-ons for what the labs need and the cluster lacks "
            "(needs --registry and admin rights)"
        ),
    ] = False,
) -> None:
    """Use an existing cluster (a company GPU cluster, a cloud or classroom cluster) for the labs.

    Nothing is installed there unless --install-addons; `d2k cluster status` says what the labs
    need and what is missing.
    """
    source = kubeconfig or Path.home() / ".kube" / "config"
    cluster.use(context, source, registry, namespace_prefix, install_addons, console)


@app.command()
def down(
    purge: Annotated[
        bool, typer.Option(help="Also delete the cluster's data (etcd, certificates, volumes).")
    ] = False,
) -> None:
    """Stop the cluster and remove what it changed on the host."""
    cluster.down(purge, console)


@app.command()
def status() -> None:
    """Show which provider runs the cluster, each part's health and where its log is."""
    provider = cluster.current()
    rows = cluster.status(provider)
    table = Table(title=f"docker2k8s cluster: provider {provider.name}")
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
def repair() -> None:
    """Recover from a full disk or a full etcd: rotate logs, compact and defragment etcd,
    clear its space alarm, and say what else takes the disk."""
    from .local import LocalProvider
    from .local import repair as local_repair

    provider = cluster.current()
    if not isinstance(provider, LocalProvider):
        console.print(f"`repair` is for the local cluster; {provider.name} manages its own disk.")
        raise typer.Exit(1)
    for line in local_repair.repair(provider.layout):
        console.print(line)


@app.command()
def kubeconfig() -> None:
    """Print the path of a kubeconfig whose context `docker2k8s` is this cluster."""
    typer.echo(str(cluster.current().kubeconfig()))
