"""The check API and `d2k grade`, on real kernels."""

from pathlib import Path

import nbformat
import pytest

from docker2k8s.grading import check, checks
from docker2k8s.grading.assemble import assigned_names, declared_checks, free_names
from docker2k8s.grading.grader import grade
from docker2k8s.labs import to_lab


def test_pass_and_fail_lines(capsys):
    assert check("one is one", lambda: 1 == 1)
    assert not check("two is three", False, hint="count again")
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS one is one", "FAIL two is three: count again"]


def test_an_exception_is_a_failure_with_its_message(capsys):
    def missing():
        raise AssertionError("no Deployment named 'chat'")

    assert not check("chat exists", missing, hint="apply chat.yaml")
    assert capsys.readouterr().out.strip() == (
        "FAIL chat exists: apply chat.yaml; no Deployment named 'chat'"
    )


def test_an_unfinished_exercise_says_so(capsys):
    def unfinished():
        raise NotImplementedError()

    check("exercise", unfinished)
    assert "not done yet" in capsys.readouterr().out


def test_only_the_graders_collection_counts(capsys):
    assert checks._collected is None
    with checks.collecting() as results:
        check("a", True)
        check("b", False, hint="h")
    assert results == [checks.Result("a", True), checks.Result("b", False, "h")]
    check("c", True)  # outside: printed, not kept
    assert results[-1].name == "b"


def test_in_a_graded_kernel_checks_are_left_to_the_grader(monkeypatch, capsys):
    monkeypatch.setenv(checks.GRADING_ENV, "1")
    assert check("anything", lambda: 1 / 0) is None
    assert capsys.readouterr().out.strip() == "anything: scored by d2k grade"


def test_a_missing_value_is_named(capsys):
    check("uses x", lambda: undefined_in_this_test)  # noqa: F821
    assert "no plain value (str, number, list, dict) named undefined_in_this_test" in (
        capsys.readouterr().out
    )


def test_declared_checks_are_read_through_magics():
    assert declared_checks('!echo hi\ncheck("first", True)') == ["first"]
    assert declared_checks('%%time\ngrading.check("second", lambda: 1)') == ["second"]


def test_free_and_assigned_names():
    source = "import os\nx = 1\ndef f(a):\n    return a + y + os.sep\n!echo $z"
    assert free_names(source) == {"y", "get_ipython"}
    assert assigned_names("a = 1\nb: int = 2\nc += 1\na = 3\nd.e = 4") == ["a", "b", "c"]


def _cell(source: str, checker: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if checker:
        cell.metadata["tags"] = ["checker"]
    return cell


def _notebook(path: Path, *cells: str | nbformat.NotebookNode) -> Path:
    setup = _cell("from pathlib import Path\nfrom docker2k8s.grading import check", checker=True)
    setup.id = "setup"
    nb = nbformat.v4.new_notebook(
        cells=[setup, *(_cell(c) if isinstance(c, str) else c for c in cells)]
    )
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
    report = grade(path, path, cell_timeout=60)
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
    report = grade(path, path, cell_timeout=60)
    assert [(c.name, c.passed) for c in report.checks] == [("first", True), ("never runs", False)]
    assert any(e.error == "DeadKernelError" for e in report.errors)


# A lab in miniature: the exercise writes a file and sets `answer`; the checks read the file.
EXERCISE = "### BEGIN SOLUTION\nSTATE.write_text('done')\nanswer = 42\n### END SOLUTION"
CHECKS = (
    'check("the file is written", lambda: STATE.read_text() == "done")\n'
    'check("the answer goes with the file", lambda: answer == 42 and STATE.exists())'
)


@pytest.fixture
def mini(tmp_path) -> tuple[Path, nbformat.NotebookNode]:
    """(the solution, the lab made from it) of a two-check notebook."""
    setup = _cell("STATE = Path('state.txt')", checker=True)
    given = _cell("STATE.unlink(missing_ok=True)")
    solution = _notebook(tmp_path / "mini.ipynb", setup, given, _cell(EXERCISE), _cell(CHECKS))
    return solution, to_lab(nbformat.read(solution, as_version=4))


def _submit(tmp_path: Path, nb: nbformat.NotebookNode) -> Path:
    path = tmp_path / "work" / "mini.ipynb"
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return path


def _exercise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if "NotImplementedError" in c.source)


def test_the_solution_scores_all_and_the_lab_nothing(mini, tmp_path):
    solution, lab = mini
    assert grade(solution, solution, cell_timeout=60).score == 1.0
    report = grade(_submit(tmp_path, lab), solution, cell_timeout=60)
    assert (report.passed, len(report.checks)) == (0, 2)
    assert report.restored == report.ignored == report.unanswered == []


FORGERIES = {
    "check redefined": "check = lambda *args, **kwargs: True\nanswer = 42",
    "PASS printed": "print('PASS the file is written')\nanswer = 42",
    "grader's list reached": (
        "from docker2k8s.grading import checks\nchecks._collected = []\n"
        "checks.check('the file is written', True)\nanswer = 42"
    ),
    "file reading faked in the kernel": (
        "from pathlib import Path\nPath.read_text = lambda self: 'done'\n"
        "Path.exists = lambda self: True\nanswer = 42"
    ),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_exercises_score_what_the_work_earns(mini, tmp_path, forgery):
    solution, lab = mini
    _exercise(lab).source = FORGERIES[forgery]
    report = grade(_submit(tmp_path, lab), solution, cell_timeout=60)
    assert [c.passed for c in report.checks] == [False, False], report.checks


def test_deleted_edited_and_added_cells_are_restored_or_left_out(mini, tmp_path):
    solution, lab = mini
    check_cell = lab.cells[-1]
    lab.cells.remove(check_cell)  # the failing checks, deleted
    lab.cells[1].source = "check('setup edited', True)"  # the setup, edited
    lab.cells.append(_cell('check("x", True)'))  # a check of one's own
    report = grade(_submit(tmp_path, lab), solution, cell_timeout=60)
    assert [(c.name, c.passed) for c in report.checks] == [
        ("the file is written", False),
        ("the answer goes with the file", False),
    ]
    assert report.restored == [f"{lab.cells[1].id} (edited)", f"{check_cell.id} (deleted)"]
    assert report.ignored == [lab.cells[-1].id]


def test_a_lab_without_the_exercise_cell_runs_the_placeholder(mini, tmp_path):
    solution, lab = mini
    exercise = _exercise(lab)
    lab.cells.remove(exercise)
    report = grade(_submit(tmp_path, lab), solution, cell_timeout=60)
    assert report.unanswered == [exercise.id] and report.score == 0


def test_the_answers_an_exercise_assigned_are_captured(mini):
    solution, _ = mini
    report = grade(solution, solution, cell_timeout=60, capture=True)
    assert list(report.answers.values()) == [{"answer": "42"}]
