"""`d2k i18n update|status|build`: catalogues for translators, Chinese files for the site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from docker2k8s.errors import raise_if_stale

app = typer.Typer(
    help="The Chinese edition: translation catalogues (i18n/zh/) and the pages built from them.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


@app.command()
def update(
    only: Annotated[
        list[str] | None,
        typer.Argument(help="English sources (docs/..., solutions/...) [every catalogued one]."),
    ] = None,
) -> None:
    """Merge catalogues with their English sources: new blocks added empty, a changed block's old
    translation kept as fuzzy (with the previous English), translations of unchanged text kept.
    Naming a source without a catalogue starts its catalogue."""
    from docker2k8s.i18n import catalogues

    for source in _selected(only):
        if catalogues.write(source, catalogues.update(source)):
            console.print(f"updated {source.catalogue.relative_to(catalogues.REPO_ROOT)}")
    console.print("catalogues are in step with their sources; next: translate, then d2k i18n build")


@app.command()
def status(
    strict: Annotated[
        bool, typer.Option(help="Exit 1 unless every source has a complete catalogue.")
    ] = False,
) -> None:
    """Per source file: blocks, translated, missing, fuzzy (changed English), or no catalogue."""
    from docker2k8s.i18n import catalogues

    rows = [("source", "blocks", "translated", "as English", "missing", "fuzzy", "state")]
    sources = catalogues.sources()
    found_all = [catalogues.status(source) for source in sources]
    incomplete = 0
    for source, found in zip(sources, found_all, strict=True):
        state = "complete" if found.complete else "in progress" if found.exists else "untranslated"
        incomplete += not found.complete
        numbers = (found.units, found.translated, found.as_english, len(found.missing))
        rows.append((source.name, *map(str, (*numbers, len(found.fuzzy))), state))
    width = max(len(row[0]) for row in rows)
    for row in rows:  # plain columns: readable in a pipe, a log, a test
        cells = zip(row[1:6], rows[0][1:6], strict=True)
        numbers = " ".join(f"{cell:>{len(title)}}" for cell, title in cells)
        typer.echo(f"{row[0]:<{width}}  {numbers}  {row[6]}")
    console.print(f"{incomplete} of {len(rows) - 1} sources are not complete")
    if strict and incomplete:
        for found in found_all:
            for problem in found.problems():
                errors.print(problem, highlight=False, markup=False, soft_wrap=True)
        errors.print("Fix: d2k i18n update FILE, translate what is empty or fuzzy, d2k i18n build")
        raise typer.Exit(1)


@app.command()
def build(
    check: Annotated[bool, typer.Option(help="Only report stale files; exit 1 if any.")] = False,
) -> None:
    """Write docs/**/PAGE.zh.md and labs/LAB.zh.ipynb for every complete catalogue."""
    from docker2k8s.i18n import build as builder
    from docker2k8s.paths import REPO_ROOT

    if check:
        raise_if_stale(builder.stale(), "d2k i18n build")
        console.print("the Chinese files are up to date")
        return
    for path in builder.build():
        console.print(f"wrote {path.relative_to(REPO_ROOT)}")
    console.print("the Chinese files are up to date")


def _selected(only: list[str] | None):
    from docker2k8s.i18n import catalogues

    everything = catalogues.sources()
    if not only:
        return [source for source in everything if source.catalogue.exists()]
    by_path = {source.path: source for source in everything}
    unknown = [name for name in only if Path(name).resolve() not in by_path]
    if unknown:
        raise catalogues.CatalogueError(
            f"not an English source of the course: {', '.join(unknown)}",
            fix="name files as `d2k i18n status` lists them, e.g. docs/index.md or "
            "solutions/00-setup.ipynb",
        )
    return [by_path[Path(name).resolve()] for name in only]
