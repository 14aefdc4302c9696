"""`d2k classroom ...`: seats for the learners of an instructor-led class on the current cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from docker2k8s.classroom import seats

app = typer.Typer(
    help="Seats for an instructor-led class: one per learner on the current cluster.",
    no_args_is_help=True,
)
console = Console()


@app.command()
def create(
    roster: Annotated[
        Path | None, typer.Option(help="CSV file, one learner id per line (first column)")
    ] = None,
    seats_: Annotated[
        int | None, typer.Option("--seats", help="numbered seats (seat01 ...) instead of a roster")
    ] = None,
    hours: Annotated[float, typer.Option(help="how long the learners' credentials last")] = 8,
    out: Annotated[Path, typer.Option(help="where the learners' kubeconfigs are written")] = Path(
        "seats"
    ),
    server: Annotated[
        str, typer.Option(help="the API server's address as learners reach it [default: yours]")
    ] = "",
    gpus: Annotated[int, typer.Option(help="GPUs per namespace")] = seats.Quota.gpus,
    cpu: Annotated[str, typer.Option(help="CPU requests per namespace")] = seats.Quota.cpu,
    memory: Annotated[str, typer.Option(help="memory requests per namespace")] = (
        seats.Quota.memory
    ),
    pods: Annotated[int, typer.Option(help="Pods per namespace")] = seats.Quota.pods,
    storage: Annotated[str, typer.Option(help="volume storage per namespace")] = (
        seats.Quota.storage
    ),
) -> None:
    """Make a seat per learner (or renew it: run again to extend the credentials)."""
    if (roster is None) == (seats_ is None):
        raise seats.ClassroomError(
            "say who the class is", fix="--roster learners.csv, or --seats N (not both)"
        )
    learners = seats.read_roster(roster) if roster else seats.numbered(seats_ or 0)
    quota = seats.Quota(gpus, cpu, memory, pods, storage)
    made = seats.create(learners, hours, out, quota, server)
    table = Table(title=f"{len(made)} seat(s)")
    for column in ("learner", "namespaces", "kubeconfig", "expires (UTC)"):
        table.add_column(column)
    for seat in made:
        first, last = seat.namespaces[0], seat.namespaces[-1]
        table.add_row(
            seat.learner,
            f"{first} ... {last} ({len(seat.namespaces)})",
            str(seat.kubeconfig),
            f"{seat.expires:%Y-%m-%d %H:%M}",
        )
    console.print(table)
    console.print("Hand each learner their kubeconfig; `d2k classroom delete` ends the class.")


@app.command()
def delete(
    learners: Annotated[
        list[str] | None, typer.Argument(help="whose seats to remove [default: every seat]")
    ] = None,
) -> None:
    """Remove seats: their namespaces and everything in them, their credentials and rights."""
    removed = seats.delete(learners or None)
    console.print(f"removed {len(removed)} seat(s): {', '.join(removed) or 'none'}")
