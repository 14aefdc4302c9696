"""Student labs are generated from solution notebooks.

solutions/NN-name.ipynb is the single source. In its code cells, the lines between
`### BEGIN SOLUTION` and `### END SOLUTION` are the answer; the lab gets a prompt and
`raise NotImplementedError()` in their place, at the same indentation. In a `%%writefile` cell (a
manifest the learner writes) the markers are YAML comments and the lab gets `# YOUR YAML HERE`.
Both are stored without outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from docker2k8s.errors import D2KError
from docker2k8s.paths import REPO_ROOT

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PLACEHOLDER = ("# YOUR CODE HERE", "raise NotImplementedError()")
YAML_PLACEHOLDER = ("# YOUR YAML HERE",)
WRITEFILE = "%%writefile"
SOLUTIONS_DIR, LABS_DIR = REPO_ROOT / "solutions", REPO_ROOT / "labs"


class SolutionMarkerError(D2KError):
    """A BEGIN without END (or the reverse): the lab would leak or lose code."""

    exit_code = 2  # the solution notebook is bad input


def rewrite_solutions(
    source: str, replace: Callable[[str, list[str]], list[str]], where: str = ""
) -> str:
    """`source` with each solution, markers included, replaced by `replace(indent, answer)`:
    the indentation of its BEGIN marker and the lines between the markers."""
    out: list[str] = []
    answer: list[str] | None = None  # the lines of the solution being read, if inside one
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if answer is not None:
                raise SolutionMarkerError(f"{where} line {number}: {BEGIN} inside a solution")
            answer, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if answer is None:
                raise SolutionMarkerError(f"{where} line {number}: {END} without {BEGIN}")
            out += replace(indent, answer)
            answer = None
        elif answer is not None:
            answer.append(line)
        else:
            out.append(line)
    if answer is not None:
        raise SolutionMarkerError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def strip_solution(source: str, where: str = "") -> str:
    """The lab's version of a cell: each solution replaced by the placeholder."""
    placeholder = YAML_PLACEHOLDER if source.startswith(WRITEFILE) else PLACEHOLDER
    return rewrite_solutions(source, lambda indent, _: [indent + t for t in placeholder], where)


def answer_of(source: str) -> str:
    """The lines of a cell's solutions, without the rest of the cell."""
    answer: list[str] = []
    rewrite_solutions(source, lambda _, lines: answer.extend(lines) or [])
    return "\n".join(answer)


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
