"""Every lab graded three ways on the real cluster and Docker: the solution scores every check, the
lab as handed out scores none, and a lazy notebook scores none either. The lazy notebook answers
each exercise with the very values the solution's run produced, typed in as literals, and does
nothing else: a check that passes on it is checking a value, not what happened. Lab 00 only reads
facts of the machine, where the true value is the answer: there the typed-in values are wrong."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from docker2k8s.grading.assemble import Role, role_of
from docker2k8s.grading.checker import literal
from docker2k8s.grading.grader import Report, grade
from docker2k8s.labs import LABS_DIR, SOLUTIONS_DIR, WRITEFILE, render, rewrite_solutions

# Labs whose exercises only read facts of the machine (Docker's version, the nodes): the true
# value typed in is the answer, so there the typed-in answers are made wrong, and must fail.
READS_FACTS = {"00-setup.ipynb"}
# Labs are graded two at a time: each has its own namespaces, Docker names and ports, and two fit
# the node's 8 simulated GPUs and 2 cores. Lab 09 changes what every lab's Pods are scheduled by
# (PriorityClasses, queues, the GPU nodes): it is graded by itself.
SIDE_BY_SIDE = 2
ALONE = {"09-gpu-scheduling.ipynb"}
# The order labs are graded and tested in: the ALONE ones, then the longest (the last ones) first
# so that the short ones fill in beside them; each test waits for its own lab only.
LABS = sorted(
    sorted((path.name for path in SOLUTIONS_DIR.glob("*.ipynb")), reverse=True),
    key=lambda name: name not in ALONE,
)


def wrong(value):
    """A plausible but wrong answer of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list | tuple):
        return type(value)(value[:-1]) if value else type(value)(["x"])
    return {} if value else {"x": 1}


def lazy_notebook(
    solution: nbformat.NotebookNode, answers: dict[str, dict[str, str]], mistaken: bool = False
):
    """The solution with each exercise's answer replaced by literal assignments of its results
    (`mistaken`: of wrong values); a manifest's answer is left out."""
    lazy = nbformat.from_dict(solution)
    for cell in lazy.cells:
        if role_of(cell) is not Role.EXERCISE:
            continue
        if cell.source.startswith(WRITEFILE):
            typed = ["# (nothing)"]  # a manifest: the lazy learner writes none
        else:
            answer = answers.get(cell.id, {})
            typed = [f"{name} = {_typed(text, mistaken)}" for name, text in answer.items()]
        cell.source = rewrite_solutions(
            cell.source, lambda indent, _, typed=typed or ["pass"]: [indent + t for t in typed]
        )
    return lazy


def _typed(text: str, mistaken: bool) -> str:
    """The literal a lazy learner types: the value the solution produced (or a wrong one)."""
    if not _is_literal(text):
        return "None"
    return repr(wrong(literal(text))) if mistaken else text.replace("\n", " ")


def _is_literal(text: str) -> bool:
    try:
        literal(text)
    except ValueError:
        return False
    return True


@dataclass
class Graded:
    """A lab graded three ways, in a process of its own (grading changes the process's working
    folder and environment), and how long the solution and all three took on its own clock."""

    solved: Report
    handed_out: subprocess.CompletedProcess
    handed_out_json: dict | None
    lazy: Report
    solved_seconds: float
    seconds: float


def grade_three_ways(name: str, scratch: str) -> Graded:
    start = time.monotonic()
    solution = SOLUTIONS_DIR / name
    solved = grade(solution, capture=True)
    solved_seconds = time.monotonic() - start

    Path(scratch).mkdir(parents=True)
    report = Path(scratch) / "lab.json"
    command = ["d2k", "grade", str(LABS_DIR / name), "--json", str(report)]
    handed_out = subprocess.run(command, capture_output=True, text=True, check=False)
    handed_out_json = json.loads(report.read_text()) if report.exists() else None

    lazy_path = Path(scratch) / "lazy" / name
    lazy_path.parent.mkdir(parents=True)
    typed = lazy_notebook(nbformat.read(solution, 4), solved.answers, name in READS_FACTS)
    lazy_path.write_text(render(typed))
    lazy = grade(lazy_path, solution)
    seconds = time.monotonic() - start
    return Graded(solved, handed_out, handed_out_json, lazy, solved_seconds, seconds)


@pytest.fixture(scope="module")
def graded(request, docker_engine, tmp_path_factory) -> Iterator[dict[str, Future]]:
    """The selected labs, graded SIDE_BY_SIDE at a time in the order of LABS (the ALONE ones each
    by itself)."""
    names = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.originalname == "test_only_the_work_scores"
    }
    scratch = tmp_path_factory.mktemp("graded")
    spawn = multiprocessing.get_context("spawn")  # not fork: the session holds threads
    with ProcessPoolExecutor(SIDE_BY_SIDE, mp_context=spawn) as pool:

        def submit(name: str) -> Future:
            return pool.submit(grade_three_ways, name, str(scratch / name))

        futures = {name: submit(name) for name in LABS if name in names & ALONE}
        wait(futures.values())
        futures |= {name: submit(name) for name in LABS if name in names - ALONE}
        yield futures


@pytest.mark.docker
@pytest.mark.cluster
@pytest.mark.parametrize("name", LABS)
def test_only_the_work_scores(name, graded, record_property):
    result: Graded = graded[name].result()
    record_property("graded_seconds", (result.solved_seconds, result.seconds))

    solved = result.solved
    failed = [c for c in solved.to_json()["checks"] if not c["passed"]]
    why = json.dumps({"failed checks": failed, "cell errors": solved.to_json()["errors"]}, indent=1)
    assert len(solved.checks) >= 3 and solved.score == 1.0, why  # a string: pytest keeps it whole
    assert solved.errors == [], why

    assert result.handed_out.returncode == 0, result.handed_out.stderr
    handed_out = result.handed_out_json
    assert handed_out["total"] == len(solved.checks)
    assert handed_out["passed"] == 0, f"checks of {name} pass with no exercise done: {handed_out}"
    assert handed_out["restored"] == handed_out["ignored"] == handed_out["unanswered"] == []

    passed = [c.name for c in result.lazy.checks if c.passed]
    assert passed == [], f"typed-in answers pass checks of {name}: {passed}"


@pytest.mark.docker
@pytest.mark.cluster
def test_forgeries_in_a_real_lab_score_what_the_handed_out_lab_scores(docker_engine, tmp_path):
    """Lab 04 as handed out, with the forgeries a learner tried for points without the work."""
    lab = nbformat.read(LABS_DIR / "04-deployments.ipynb", 4)
    cells = {cell.id: cell for cell in lab.cells}
    lab.cells.remove(cells["lab04-21"])  # a failing check, deleted
    cells["lab04-17"].source = (  # exercise 3: a typed answer, and the checks' helpers faked
        'deleted_pod = "inference-7d4b9c-abcde"\n'
        "from docker2k8s.grading import checks, kube\n"
        "kube.pods_ready = lambda *args, **kwargs: []\n"
        "kube.deployment_available = lambda *args, **kwargs: {}\n"
        "checks.check = check = lambda *args, **kwargs: True\n"
        'open("results.jsonl", "a").write(\'{"name": "x", "passed": true}\\n\')'
    )
    forged_check = nbformat.v4.new_code_cell('check("the Deployment runs 3 ready replicas", True)')
    lab.cells.append(forged_check)
    path = tmp_path / "04-deployments.ipynb"
    path.write_text(render(lab))

    report = grade(path)
    assert [c.name for c in report.checks if c.passed] == []
    assert len(report.checks) == 6
    assert report.restored == ["lab04-21 (deleted)"] and report.ignored == [forged_check.id]
