"""`d2k`: the workshop's command line. Each command is a thin shell over an importable function."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from docker2k8s import __version__, prerequisites
from docker2k8s.classroom.commands import app as classroom_app
from docker2k8s.cluster.commands import app as cluster_app
from docker2k8s.convert.commands import app as convert_app
from docker2k8s.errors import D2KError, raise_if_stale
from docker2k8s.i18n.commands import app as i18n_app
from docker2k8s.image_commands import app as images_app

app = typer.Typer(
    help="docker2k8s: learn Kubernetes as the analogue of the Docker you already know.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cluster_app, name="cluster")
app.add_typer(images_app, name="images")
app.add_typer(convert_app, name="convert")
app.add_typer(classroom_app, name="classroom")
app.add_typer(i18n_app, name="i18n")
workshop_app = typer.Typer(help="Start or stop JupyterLab and the docs site.", no_args_is_help=True)
app.add_typer(workshop_app, name="workshop")

console = Console()
errors = Console(stderr=True)

NEEDED_FOR = [prerequisites.WORKSHOP, prerequisites.LOCAL, prerequisites.KIND, prerequisites.TESTS]


@app.command()
def version() -> None:
    """Print the docker2k8s version."""
    console.print(__version__)


@app.command()
def doctor(
    only: Annotated[
        list[str] | None,
        typer.Option(help=f"Check only what is needed for: {', '.join(NEEDED_FOR)}."),
    ] = None,
) -> None:
    """Check what the workshop needs on this machine and say how to fix what is missing.

    Exits 1 when something needed for the workshop itself is missing.
    """
    unknown = set(only or []) - set(NEEDED_FOR)
    if unknown:
        errors.print(
            f"[red]Unknown --only value {', '.join(sorted(unknown))}[/]; "
            f"choose from: {', '.join(NEEDED_FOR)}"
        )
        raise typer.Exit(2)
    table = Table(title="docker2k8s doctor")
    for column in ("needed for", "prerequisite", "status", "found", "fix"):
        table.add_column(column, overflow="fold")
    missing_core = False
    for prerequisite, finding in prerequisites.check_all(set(only) if only else None):
        status = "[green]present[/]" if finding.ok else "[red]missing[/]"
        missing_core |= not finding.ok and prerequisite.needed_for == prerequisites.WORKSHOP
        table.add_row(
            prerequisite.needed_for,
            prerequisite.name,
            status,
            finding.detail,
            "" if finding.ok else prerequisite.fix_here(),
        )
    console.print(table)
    if missing_core:
        errors.print("[red]The workshop cannot run until the missing workshop rows are fixed.[/]")
        raise typer.Exit(1)


@app.command()
def setup(
    for_: Annotated[
        list[str] | None,
        typer.Option("--for", help=f"What to prepare: {', '.join(NEEDED_FOR)} (default: all)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Only show what would be installed and set up, and why.")
    ] = False,
) -> None:
    """Install the Debian packages the workshop needs, start Docker Engine, build Compose v2.

    Debian's Docker packages are left out where a Docker (Engine, CE or Desktop) is already here.
    """
    wanted = set(for_ or NEEDED_FOR)
    missing = prerequisites.missing_apt_packages(prerequisites.apt_packages(wanted))
    missing, skipped = prerequisites.apt_plan(missing, prerequisites.existing_docker())
    for package, why in skipped.items():
        console.print(f"not installing {package}: {why}")
    if dry_run:
        console.print(f"would install: {' '.join(missing) or 'no Debian packages'}")
        for prerequisite in prerequisites.repairs_due(wanted):
            console.print(f"would set up: {prerequisite.name}")
        return
    if missing:
        if os.geteuid() != 0:
            errors.print(
                f"[red]Missing Debian packages:[/] {' '.join(missing)}\n"
                f"Fix: sudo apt-get install {' '.join(missing)}   (or run: sudo make ...)"
            )
            raise typer.Exit(1)
        with console.status(f"apt-get install {' '.join(missing)}"):
            prerequisites.install_apt_packages(missing)
        console.print(f"installed {' '.join(missing)}")
    for prerequisite in prerequisites.repairs_due(wanted):
        assert prerequisite.repair is not None
        console.print(f"setting up {prerequisite.name}")
        console.print(prerequisite.repair())
    console.print("[green]setup done[/]")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def kompose(ctx: typer.Context) -> None:
    """Run kompose, built from its Go module on first use: `d2k kompose convert -f FILE`."""
    from docker2k8s.cluster import gobuild

    with console.status("building kompose from its Go module (once)"):
        binary = gobuild.build(gobuild.KOMPOSE) / "kompose"
    raise typer.Exit(subprocess.run([str(binary), *ctx.args], check=False).returncode)


@app.command("build-labs")
def build_labs(
    check: Annotated[bool, typer.Option(help="Only report stale labs; exit 1 if any.")] = False,
) -> None:
    """Write the student notebooks in labs/ from solutions/ (solutions replaced by exercises),
    and labs/NAME.zh.ipynb for each lab whose Chinese catalogue is complete."""
    from docker2k8s import labs  # nbformat is slow to import; only this command needs it
    from docker2k8s.i18n import build as translated  # the labs in Chinese come from here too

    if check:
        raise_if_stale(labs.stale_labs() + translated.stale(kinds=("labs",)), "d2k build-labs")
        console.print("labs/ is up to date")
        return
    written = labs.build_labs() + translated.build(kinds=("labs",))
    for path in written:
        console.print(f"wrote {path.relative_to(labs.SOLUTIONS_DIR.parent)}")
    console.print(f"labs/ is up to date ({len(written)} files written)")


@app.command()
def grade(
    notebook: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .ipynb file.")],
    solution: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="The instructor's notebook [default: solutions/NAME]."
        ),
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write results here.")] = None,
    timeout: Annotated[int, typer.Option(help="Seconds one cell may run.")] = 600,
) -> None:
    """Score a notebook: the solution's setup and checks run with the notebook's exercise cells."""
    from docker2k8s.grading.grader import grade as grade_notebook

    with console.status(f"running {notebook} in a fresh kernel"):
        report = grade_notebook(notebook, solution, cell_timeout=timeout)
    table = Table(title=f"{notebook.name}: {report.passed}/{len(report.checks)} checks passed")
    table.add_column("check")
    table.add_column("result")
    table.add_column("hint", overflow="fold")
    for result in report.checks:
        table.add_row(
            result.name, "[green]PASS[/]" if result.passed else "[red]FAIL[/]", result.detail
        )
    console.print(table)
    console.print(f"[dim]{report.sandbox}[/]")
    for error in report.errors:
        console.print(f"[yellow]cell {error.cell}:[/] {error.error}: {error.message}")
    for title, cells in (
        ("restored from the solution", report.restored),
        ("left out (not in the solution)", report.ignored),
        ("exercises not found (ran as given in the lab)", report.unanswered),
    ):
        if cells:
            console.print(f"cells {title}: {', '.join(cells)}")
    console.print(f"score: {report.score:.0%}")
    if json_file:
        json_file.write_text(json.dumps(report.to_json(), indent=2) + "\n")
        console.print(f"wrote {json_file}")


@workshop_app.command("up")
def workshop_up(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for a classroom).")] = (
        "127.0.0.1"
    ),
    lab_port: int = 8888,
    docs_port: int = 8000,
) -> None:
    """Start JupyterLab (labs/) and the docs site in the background and print their addresses."""
    from docker2k8s import workshop

    with console.status("starting JupyterLab and the docs site"):
        endpoints = workshop.up(host, lab_port, docs_port)
    for endpoint in endpoints:
        console.print(f"[bold]{endpoint.name}[/]: {endpoint.url}   (log: {endpoint.log})")
    console.print("Stop everything with: make down   (or: d2k workshop down)")


@workshop_app.command("down")
def workshop_down() -> None:
    """Stop JupyterLab and the docs site."""
    from docker2k8s import workshop

    stopped = workshop.down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def main() -> None:
    """The `d2k` entry point: every expected failure is reported here, once, without a
    traceback (what failed, then the fix); a traceback means a bug in d2k."""
    try:
        app(prog_name="d2k")
    except D2KError as error:
        _report(error.problem, error.fix)
        sys.exit(error.exit_code)
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = f" writing {error.filename}" if error.filename else ""
        _report(
            f"No space left on the disk{where}.",
            "free disk space (`d2k cluster repair` trims the cluster's logs and etcd), then run "
            "the command again",
        )
        sys.exit(1)


def _report(problem: str, fix: str) -> None:
    # Text, not markup: a message may hold brackets ("[Errno 28]", a list of names).
    errors.print(Text.assemble(("error: ", "red"), problem), highlight=False, soft_wrap=True)
    if fix:
        errors.print(Text.assemble(("fix: ", "bold"), fix), highlight=False, soft_wrap=True)
