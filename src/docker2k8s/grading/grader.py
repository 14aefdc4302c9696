"""`d2k grade`: score a learner's notebook against the instructor's solution.

The notebook that runs is assembled from the solution (see assemble.py): its setup, given cells
and checks, with the learner's exercise cells in their places. It runs in a fresh kernel cell by
cell; after each check cell the grader runs the same check in its own process (checker.py), so a
learner's code can neither add, skip nor fake a result. A check that never ran, because the
kernel died or timed out, counts as a failure. The kernel runs in a throwaway sandbox as an
unprivileged user (sandbox.py), with only the cluster access the lab declares (access.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from docker2k8s import lab_settings
from docker2k8s.errors import D2KError
from docker2k8s.grading import access, image_loader, kube
from docker2k8s.grading.assemble import (
    Role,
    assemble,
    assigned_names,
    declared_checks,
)
from docker2k8s.grading.checker import Checker
from docker2k8s.grading.checks import GRADING_ENV, Result
from docker2k8s.grading.sandbox import Sandbox, kernel_manager
from docker2k8s.i18n.build import english_cells
from docker2k8s.labs import SOLUTIONS_DIR, answer_of, english_name, is_translation
from docker2k8s.paths import tool_path


class NoSolution(D2KError):
    exit_code = 2


@dataclass
class CellError:
    cell: int  # 1-based position in the solution's layout, as Jupyter shows it
    error: str
    message: str


@dataclass
class Report:
    notebook: str
    solution: str = ""
    checks: list[Result] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    sandbox: str = ""  # how the learner's kernel ran (as whom, with which access)
    # Per exercise cell id: the values its answer assigned (only when grade(capture=True)).
    answers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.checks if c.passed)

    @property
    def score(self) -> float:
        return self.passed / len(self.checks) if self.checks else 0.0

    def to_json(self) -> dict:
        return {
            "notebook": self.notebook,
            "solution": self.solution,
            "score": round(self.score, 4),
            "passed": self.passed,
            "total": len(self.checks),
            "checks": [asdict(c) for c in self.checks],
            "errors": [asdict(e) for e in self.errors],
            "restored": self.restored,
            "ignored": self.ignored,
            "unanswered": self.unanswered,
            "sandbox": self.sandbox,
        }


def solution_for(notebook: Path, solutions: Path = SOLUTIONS_DIR) -> Path:
    candidate = solutions / english_name(notebook)  # a lab in Chinese is graded as its source
    if not candidate.exists():
        raise NoSolution(
            f"no solution named {candidate.name} in {solutions}: grading runs the instructor's "
            "checks, so it needs the solution the lab was made from",
            fix="keep the lab's file name (as in solutions/) or pass --solution FILE",
        )
    return candidate


def grade(
    path: Path, solution: Path | None = None, cell_timeout: int = 600, capture: bool = False
) -> Report:
    solution = solution or solution_for(path)
    source = nbformat.read(solution, as_version=4)
    permissions = access.permissions_of(source, lab_settings.namespace)
    submission = nbformat.read(path, as_version=4)
    if is_translation(path):  # its checks speak Chinese: the solution's, not edited ones
        submission = english_cells(submission, solution)
    assembly = assemble(source, submission)
    nb, roles = assembly.notebook, assembly.roles
    report = Report(
        str(path),
        str(solution),
        restored=assembly.restored,
        ignored=assembly.ignored,
        unanswered=assembly.unanswered,
    )
    with contextlib.suppress(Exception):  # no cluster: the labs without one still grade
        kube.client()  # the checks' credentials, read before any of the learner's code runs
    with contextlib.ExitStack() as stack:
        where = stack.enter_context(_workspace())
        kubeconfig = stack.enter_context(access.granted(permissions))
        sandbox = Sandbox(where, permissions.docker, [solution.resolve()], kubeconfig)
        env = {k: v for k, v in os.environ.items() if k != "D2K_KUBE_CONTEXT"}
        env.update(PATH=tool_path(), **{GRADING_ENV: "1"}, **sandbox.prepare())
        if permissions.docker and kubeconfig:  # lab 04 loads the image it tagged
            loader = stack.enter_context(image_loader.serving(where / "images.sock", sandbox.owner))
            env[image_loader.LOADER_ENV] = loader
        _run(nb, roles, report, sandbox, env, cell_timeout, capture)
        reach = permissions.describe() if kubeconfig else "no cluster access"
        report.sandbox = f"{sandbox.describe()}; {reach}"
    report.errors[:0] = _cell_errors(nb)
    expected = [
        name
        for cell, role in zip(nb.cells, roles, strict=True)
        if role is Role.CHECK
        for name in declared_checks(cell.source)
    ]
    report.checks = _match(expected, report.checks)
    return report


def _run(
    nb: nbformat.NotebookNode,
    roles: list[Role],
    report: Report,
    sandbox: Sandbox,
    env: dict[str, str],
    cell_timeout: int,
    capture: bool,
) -> None:
    """Run the cells in the kernel, and the checker's and check cells again in the checker."""
    client = NotebookClient(
        nb,
        km=kernel_manager(sandbox),
        timeout=cell_timeout,
        kernel_name="python3",
        allow_errors=True,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no transport warnings in reports
        resources={"metadata": {"path": str(sandbox.workspace)}},
    )
    client.owns_km = True  # shut the kernel (and so the sandbox) down at the end, as for its own
    checker = Checker(lambda names: _kernel_values(client, names))
    with client.setup_kernel(env=env):
        for index, (cell, role) in enumerate(zip(nb.cells, roles, strict=True)):
            if role is Role.TEXT:
                continue
            try:
                client.execute_cell(cell, index)
            except (CellTimeoutError, DeadKernelError) as error:
                report.errors.append(
                    CellError(index + 1, type(error).__name__, str(error).splitlines()[0])
                )
                break
            if role in (Role.CHECKER, Role.CHECK):
                failure = checker.run(cell.source, f"cell {index + 1}", role is Role.CHECK)
                if failure:
                    report.errors.append(CellError(index + 1, "in the checker", failure))
            if capture and role is Role.EXERCISE:
                names = assigned_names(answer_of(cell.source))
                report.answers[cell.id] = _kernel_values(client, names) if names else {}
    report.checks = checker.results


def _kernel_values(client: NotebookClient, names: list[str]) -> dict[str, str]:
    """The reprs of the named values in the learner's kernel (those it has), as text."""
    try:
        msg_id = client.kc.execute(
            "", silent=True, store_history=False, user_expressions={n: n for n in names}
        )
        reply = client.wait_for_reply(msg_id)
    except (CellTimeoutError, DeadKernelError):
        return {}
    expressions = (reply or {}).get("content", {}).get("user_expressions") or {}
    return {
        name: value["data"]["text/plain"]
        for name, value in expressions.items()
        if name in names and value.get("status") == "ok" and "text/plain" in value.get("data", {})
    }


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """A folder of the grading's own, for the kernel and the checker to work in: what the learner's
    code writes lands there, not beside the solutions (labs name their files by absolute paths).
    Both take their temporary folders from it too, so they find the same files. The grader's cwd,
    environment and temporary folder come back as they were (setup cells export NS, ...)."""
    cwd, saved, saved_tmp = Path.cwd(), dict(os.environ), tempfile.tempdir
    where = Path(tempfile.mkdtemp(prefix="d2k-grade-"))
    (where / "tmp").mkdir()
    os.chdir(where)
    os.environ["TMPDIR"] = tempfile.tempdir = str(where / "tmp")
    try:
        yield where
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
        tempfile.tempdir = saved_tmp
        shutil.rmtree(where, ignore_errors=True)


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
    """One result per planted check, in the solution's order (the last run of each wins)."""
    latest = {r.name: r for r in ran}
    return [
        latest.get(name, Result(name, False, "did not run (see the cell errors)"))
        for name in dict.fromkeys(expected)
    ]
