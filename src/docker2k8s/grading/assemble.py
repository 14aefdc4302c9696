"""What `d2k grade` runs: the instructor's notebook, with the learner's answers in its exercises.

Every cell of the solution has an id (nbformat 4.5). A cell with `### BEGIN SOLUTION` is an
exercise: the learner's cell of the same id is run in its place. Every other code cell (setup,
given steps, checks) is run as the solution has it, whatever the learner did to it, and cells the
learner added are left out. So deleting, editing or adding cells cannot change what is checked.

Cells tagged `checker` (the setup cell, recorders that watch the cluster while an exercise runs)
run twice: in the learner's kernel and in the grader's own process, which then runs the checks.
"""

from __future__ import annotations

import ast
import builtins
import enum
from dataclasses import dataclass, field

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from docker2k8s.labs import BEGIN, strip_solution

CHECKER_TAG = "checker"


class Role(enum.Enum):
    EXERCISE = "exercise"  # the learner's code runs
    GIVEN = "given"  # the solution's code runs in the learner's kernel
    CHECKER = "checker"  # the solution's code runs in the kernel and in the grader
    CHECK = "check"  # the solution's checks: scored in the grader, with the learner's values
    TEXT = "text"  # markdown and raw cells


@dataclass
class Assembly:
    notebook: nbformat.NotebookNode
    roles: list[Role]
    restored: list[str] = field(default_factory=list)  # "cell ID (edited|deleted)"
    ignored: list[str] = field(default_factory=list)  # code cells the learner added
    unanswered: list[str] = field(default_factory=list)  # exercises missing from the submission


PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture")  # they run the Python below them


def python_of(source: str) -> str:
    """A cell's source as Python: `!shell` and `%magic` lines become calls; of a cell magic,
    the Python below %%time or %%capture, and nothing of the others (%%writefile holds YAML)."""
    if source.startswith("%%"):
        magic, _, body = source.partition("\n")
        source = body if magic.split()[0] in PYTHON_CELL_MAGICS else ""
    return TransformerManager().transform_cell(source)


def declared_checks(source: str) -> list[str]:
    """The names of the `check("name", ...)` calls in one cell, in order."""
    try:
        tree = ast.parse(python_of(source))
    except SyntaxError:
        return []
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _called_name(node.func) == "check"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def role_of(cell: nbformat.NotebookNode) -> Role:
    if cell.cell_type != "code":
        return Role.TEXT
    if any(line.strip() == BEGIN for line in cell.source.splitlines()):
        return Role.EXERCISE
    if declared_checks(cell.source):
        return Role.CHECK
    if CHECKER_TAG in cell.metadata.get("tags", []):
        return Role.CHECKER
    return Role.GIVEN


def free_names(source: str) -> set[str]:
    """Names a cell reads but neither defines nor gets from builtins: what it needs from before."""
    tree = ast.parse(python_of(source))
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return loaded - bound - set(dir(builtins))


def assigned_names(source: str) -> list[str]:
    """Top-level names a piece of code assigns, in order (an exercise's answers)."""
    try:
        tree = ast.parse(python_of(source))
    except SyntaxError:
        return []
    names = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    ]
    return list(dict.fromkeys(names))


def assemble(solution: nbformat.NotebookNode, submission: nbformat.NotebookNode) -> Assembly:
    submitted = {cell.get("id"): cell for cell in submission.cells if cell.cell_type == "code"}
    assembly = Assembly(nbformat.v4.new_notebook(metadata=solution.metadata), [])
    for index, cell in enumerate(solution.cells, start=1):
        role, source = role_of(cell), cell.source
        mine = submitted.pop(cell.get("id"), None)
        if role is Role.EXERCISE:
            if mine is None:
                assembly.unanswered.append(cell.id)
                source = strip_solution(cell.source, f"cell {index}")
            else:
                source = mine.source
        elif role is not Role.TEXT and (mine is None or mine.source.strip() != source.strip()):
            assembly.restored.append(f"{cell.id} ({'deleted' if mine is None else 'edited'})")
        copy = nbformat.from_dict(cell)
        copy.source = source
        if copy.cell_type == "code":
            copy.outputs, copy.execution_count = [], None
        assembly.notebook.cells.append(copy)
        assembly.roles.append(role)
    assembly.ignored = [str(cell_id) for cell_id, cell in submitted.items() if cell.source.strip()]
    return assembly
