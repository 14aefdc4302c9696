"""The check API and `d2k grade`, on real kernels."""

import json
from pathlib import Path

import nbformat
import pytest

from docker2k8s.grading import CheckFailed, check, checks
from docker2k8s.grading.grader import declared_checks, grade
from docker2k8s.labs import LABS_DIR, SOLUTIONS_DIR


@pytest.fixture
def lenient(monkeypatch):
    monkeypatch.delenv(checks.STRICT_ENV, raising=False)


def test_pass_and_fail_lines(lenient, capsys):
    assert check("one is one", lambda: 1 == 1)
    assert not check("two is three", False, hint="count again")
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS one is one", "FAIL two is three: count again"]


def test_an_exception_is_a_failure_with_its_message(lenient, capsys):
    def missing():
        raise AssertionError("no Deployment named 'chat'")

    assert not check("chat exists", missing, hint="apply chat.yaml")
    assert capsys.readouterr().out.strip() == (
        "FAIL chat exists: apply chat.yaml; no Deployment named 'chat'"
    )


def test_an_unfinished_exercise_says_so(lenient, capsys):
    def unfinished():
        raise NotImplementedError()

    check("exercise", unfinished)
    assert "not done yet" in capsys.readouterr().out


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    with pytest.raises(CheckFailed, match="wrong"):
        check("wrong", False)


def test_results_are_appended_to_the_results_file(lenient, monkeypatch, tmp_path):
    path = tmp_path / "results.jsonl"
    monkeypatch.setenv(checks.RESULTS_FILE_ENV, str(path))
    check("a", True)
    check("b", False, hint="h")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"name": "a", "passed": True, "detail": ""},
        {"name": "b", "passed": False, "detail": "h"},
    ]


def test_declared_checks_are_read_through_magics():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell('!echo hi\ncheck("first", True)'),
            nbformat.v4.new_code_cell('%%time\ngrading.check("second", lambda: 1)'),
            nbformat.v4.new_markdown_cell('check("not code", True)'),
        ]
    )
    assert declared_checks(nb) == ["first", "second"]


def _notebook(path: Path, *sources: str) -> Path:
    cells = [nbformat.v4.new_code_cell("from docker2k8s.grading import check")]
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_a_crashing_notebook_gets_a_score_and_the_failing_cell(tmp_path):
    path = _notebook(
        tmp_path / "crash.ipynb",
        'check("before", True)',
        "1 / 0",
        'check("after", lambda: answer == 42)',
    )
    report = grade(path, cell_timeout=60)
    assert [(c.name, c.passed) for c in report.checks] == [("before", True), ("after", False)]
    assert report.score == 0.5
    assert [(e.cell, e.error) for e in report.errors] == [(3, "ZeroDivisionError")]


def test_a_dead_kernel_still_gets_a_report(tmp_path):
    path = _notebook(
        tmp_path / "dies.ipynb",
        'check("first", True)',
        "import os; os._exit(1)",
        'check("never runs", True)',
    )
    report = grade(path, cell_timeout=60)
    assert [(c.name, c.passed) for c in report.checks] == [("first", True), ("never runs", False)]
    assert any(e.error == "DeadKernelError" for e in report.errors)


@pytest.mark.docker
@pytest.mark.parametrize("name", [p.name for p in sorted(SOLUTIONS_DIR.glob("*.ipynb"))])
def test_solutions_get_full_marks_and_labs_do_not(name, docker_engine, d2k, tmp_path):
    solution = d2k("grade", str(SOLUTIONS_DIR / name), "--json", str(tmp_path / "s.json"))
    assert solution.returncode == 0, solution.stderr
    solved = json.loads((tmp_path / "s.json").read_text())
    assert solved["total"] >= 3 and solved["score"] == 1.0, solved

    lab = d2k("grade", str(LABS_DIR / name), "--json", str(tmp_path / "l.json"))
    assert lab.returncode == 0, lab.stderr
    unsolved = json.loads((tmp_path / "l.json").read_text())
    assert unsolved["total"] == solved["total"]
    assert unsolved["score"] <= 0.5, f"the checks of {name} pass without the exercises: {unsolved}"
    assert "NotImplementedError" in lab.stdout
