"""Student labs are generated from solution notebooks.

solutions/NN-name.ipynb is the single source. In its code cells, the lines between
`### BEGIN SOLUTION` and `### END SOLUTION` are the answer; the lab gets a prompt and
`raise NotImplementedError()` in their place, at the same indentation. Both are stored without
outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from docker2k8s.errors import D2KError
from docker2k8s.paths import REPO_ROOT

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")
SOLUTIONS_DIR, LABS_DIR = REPO_ROOT / "solutions", REPO_ROOT / "labs"


class SolutionMarkerError(D2KError):
    """A BEGIN without END (or the reverse): the lab would leak or lose code."""

    exit_code = 2  # the solution notebook is bad input


def strip_solution(source: str, where: str = "") -> str:
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise SolutionMarkerError(f"{where} line {number}: {BEGIN} inside a solution")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + text for text in PLACEHOLDER]
        elif marker == END:
            if not inside:
                raise SolutionMarkerError(f"{where} line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def clear_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    return any(
        cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
        for cell in nb.cells
    )


def to_lab(solution: nbformat.NotebookNode, name: str = "") -> nbformat.NotebookNode:
    lab = clear_outputs(nbformat.from_dict(solution))
    for index, cell in enumerate(lab.cells, start=1):
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, f"{name} cell {index}")
    return lab


def render(nb: nbformat.NotebookNode) -> str:
    """The canonical text of a stored notebook, so regenerating gives byte-identical files."""
    return nbformat.writes(nb) + "\n"


@dataclass(frozen=True)
class LabFile:
    solution: Path
    lab: Path
    text: str  # what the lab file should contain


def planned_labs(solutions: Path = SOLUTIONS_DIR, labs: Path = LABS_DIR) -> list[LabFile]:
    planned = []
    for path in sorted(solutions.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        planned.append(LabFile(path, labs / path.name, render(to_lab(nb, path.name))))
    return planned


def stale_labs(solutions: Path = SOLUTIONS_DIR, labs: Path = LABS_DIR) -> list[str]:
    """Why labs/ does not match solutions/ (empty when it does)."""
    planned = planned_labs(solutions, labs)
    problems = [
        f"{p.lab.name} is {'missing' if not p.lab.exists() else 'out of date'}"
        for p in planned
        if not p.lab.exists() or p.lab.read_text(encoding="utf-8") != p.text
    ]
    expected = {p.lab.name for p in planned}
    problems += [
        f"{extra.name} has no solution in {solutions.name}/"
        for extra in sorted(labs.glob("*.ipynb"))
        if extra.name not in expected
    ]
    return problems


def build_labs(solutions: Path = SOLUTIONS_DIR, labs: Path = LABS_DIR) -> list[Path]:
    """Write labs/ from solutions/ and clear outputs stored in solutions/; return what changed."""
    written = []
    labs.mkdir(parents=True, exist_ok=True)
    planned_files = planned_labs(solutions, labs)
    for planned in planned_files:
        solution = nbformat.read(planned.solution, as_version=4)
        if has_outputs(solution):
            planned.solution.write_text(render(clear_outputs(solution)), encoding="utf-8")
            written.append(planned.solution)
        if not planned.lab.exists() or planned.lab.read_text(encoding="utf-8") != planned.text:
            planned.lab.write_text(planned.text, encoding="utf-8")
            written.append(planned.lab)
    expected = {p.lab.name for p in planned_files}
    for extra in labs.glob("*.ipynb"):
        if extra.name not in expected:
            extra.unlink()
            written.append(extra)
    return written
