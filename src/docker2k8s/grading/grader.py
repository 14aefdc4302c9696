"""`d2k grade`: run a notebook in a fresh kernel and score its checks.

The checks a notebook should produce are read from its source (every `check("name", ...)` call with
a literal name), so a check that never ran, because the kernel died or an earlier cell was left
unfinished, still counts, as a failure.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from docker2k8s.grading.checks import RESULTS_FILE_ENV, STRICT_ENV, Result
from docker2k8s.paths import tool_path


@dataclass
class CellError:
    cell: int  # 1-based position among all cells, as Jupyter shows it
    error: str
    message: str


@dataclass
class Report:
    notebook: str
    checks: list[Result] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.checks if c.passed)

    @property
    def score(self) -> float:
        return self.passed / len(self.checks) if self.checks else 0.0

    def to_json(self) -> dict:
        return {
            "notebook": self.notebook,
            "score": round(self.score, 4),
            "passed": self.passed,
            "total": len(self.checks),
            "checks": [asdict(c) for c in self.checks],
            "errors": [asdict(e) for e in self.errors],
        }


def declared_checks(nb: nbformat.NotebookNode) -> list[str]:
    """Names of the checks a notebook's code cells call, in order."""
    names: list[str] = []
    transform = TransformerManager().transform_cell  # turns !shell and %magics into Python
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if source.startswith("%%"):  # a cell magic (%%time, %%capture) runs the Python below it
            source = source.partition("\n")[2]
        try:
            tree = ast.parse(transform(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _called_name(node.func) == "check"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.append(node.args[0].value)
    return names


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def grade(path: Path, cell_timeout: int = 600) -> Report:
    nb = nbformat.read(path, as_version=4)
    expected = declared_checks(nb)
    report = Report(notebook=str(path))
    with tempfile.TemporaryDirectory() as tmp:
        results_file = Path(tmp) / "results.jsonl"
        results_file.touch()
        env = dict(os.environ, PATH=tool_path(), **{RESULTS_FILE_ENV: str(results_file)})
        env.pop(STRICT_ENV, None)  # grading scores failures, it does not stop at them
        notebook_client = NotebookClient(
            nb,
            timeout=cell_timeout,
            kernel_name="python3",
            allow_errors=True,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport warnings in reports
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        try:
            notebook_client.execute(env=env)
        except (CellTimeoutError, DeadKernelError) as error:
            report.errors.append(
                CellError(_running_cell(nb), type(error).__name__, str(error).splitlines()[0])
            )
        ran = [Result(**json.loads(line)) for line in results_file.read_text().splitlines()]
    report.errors[:0] = _cell_errors(nb)
    report.checks = _match(expected, ran)
    return report


def _running_cell(nb: nbformat.NotebookNode) -> int:
    """The first code cell without an execution count: where execution stopped."""
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and cell.get("execution_count") is None and cell.source.strip():
            return index
    return len(nb.cells)


def _cell_errors(nb: nbformat.NotebookNode) -> list[CellError]:
    errors = []
    for index, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                ename = output.get("ename", "Error")
                lines = (output.get("evalue") or "").splitlines()
                message = lines[0] if lines else ""
                if ename == "NotImplementedError" and not message:
                    message = "an exercise is not done yet"
                errors.append(CellError(index, ename, message))
    return errors


def _match(expected: list[str], ran: list[Result]) -> list[Result]:
    """One result per declared check (the last run of each wins); undeclared extras are kept."""
    latest = {r.name: r for r in ran}
    matched = [
        latest.get(name, Result(name, False, "did not run (see the cell errors)"))
        for name in dict.fromkeys(expected)
    ]
    matched += [r for name, r in latest.items() if name not in expected]
    return matched
