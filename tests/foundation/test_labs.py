"""labs/ is generated from solutions/, and notebooks are stored without outputs."""

import re
from pathlib import Path

import nbformat
import pytest

from docker2k8s import labs
from docker2k8s.grading import access
from docker2k8s.grading.assemble import Role, python_of, role_of

NOTEBOOKS = sorted(labs.SOLUTIONS_DIR.glob("*.ipynb")) + sorted(labs.LABS_DIR.glob("*.ipynb"))


def test_there_are_labs():
    assert (labs.SOLUTIONS_DIR / "00-setup.ipynb").exists()


def test_labs_are_up_to_date():
    stale = labs.stale_labs()
    assert not stale, f"labs/ is stale ({'; '.join(stale)}); fix: d2k build-labs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert not labs.has_outputs(nb), f"{path} has stored outputs; fix: d2k build-labs"


@pytest.mark.parametrize("path", sorted(labs.LABS_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_labs_hide_the_solutions(path: Path):
    text = path.read_text()
    assert labs.BEGIN not in text and labs.END not in text
    assert "raise NotImplementedError()" in text


def test_solution_is_replaced_at_its_indentation():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\nprint(f())"
    assert labs.strip_solution(source) == (
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(f())"
    )


@pytest.mark.parametrize(
    "source, problem",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside a solution"),
    ],
)
def test_broken_markers_are_reported(source: str, problem: str):
    with pytest.raises(labs.SolutionMarkerError, match=problem):
        labs.strip_solution(source, "x.ipynb cell 1")


def test_build_labs_writes_and_detects_staleness(tmp_path: Path):
    solutions, generated = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")]
    )
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="42")]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, solutions / "01-x.ipynb")
    (generated / "99-orphan.ipynb").parent.mkdir()
    (generated / "99-orphan.ipynb").write_text("{}")

    assert len(labs.stale_labs(solutions, generated)) == 2  # 01 missing, 99 orphaned
    labs.build_labs(solutions, generated)
    assert labs.stale_labs(solutions, generated) == []
    assert not labs.has_outputs(nbformat.read(solutions / "01-x.ipynb", as_version=4))
    lab = nbformat.read(generated / "01-x.ipynb", as_version=4)
    assert "answer = 42" not in lab.cells[0].source
    assert not (generated / "99-orphan.ipynb").exists()


def test_cli_check_mode(d2k):
    result = d2k("build-labs", "--check")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_a_manifest_exercise_gets_a_yaml_blank():
    source = "%%writefile x.yaml\nspec:\n  ### BEGIN SOLUTION\n  replicas: 2\n  ### END SOLUTION\n"
    assert labs.strip_solution(source) == "%%writefile x.yaml\nspec:\n  # YOUR YAML HERE"


SOLUTIONS = sorted(labs.SOLUTIONS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", [p for p in SOLUTIONS if p.name >= "03"], ids=lambda p: p.name)
def test_learners_write_a_manifest(path: Path):
    nb = nbformat.read(path, as_version=4)
    written = [
        c.id
        for c in nb.cells
        if role_of(c) is Role.EXERCISE and c.source.startswith(labs.WRITEFILE)
    ]
    assert written, f"{path.name} has no exercise where the learner writes a manifest"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_what_the_grader_runs_is_plain_python(path: Path):
    """Checker and check cells run in the grader's process too: no shell lines or magics there."""
    nb = nbformat.read(path, as_version=4)
    assert len({c.id for c in nb.cells}) == len(nb.cells), "cell ids must be unique"
    for cell in nb.cells:
        if role_of(cell) in (Role.CHECKER, Role.CHECK):
            assert not cell.source.lstrip().startswith("%"), f"cell {cell.id} starts with a magic"
            assert "get_ipython" not in python_of(cell.source), f"cell {cell.id} runs ! or %"
            compile(cell.source, cell.id, "exec")


@pytest.mark.parametrize("path", sorted(labs.SOLUTIONS_DIR.glob("*.ipynb")), ids=lambda p: p.name)
def test_a_lab_declares_the_access_it_is_graded_with(path: Path):
    """The grader gives the kernel what the solution declares: the namespaces the lab's code
    names, and Docker's socket exactly when the lab runs Docker."""
    nb = nbformat.read(path, as_version=4)
    declared = access.permissions_of(nb)
    code = "\n".join(python_of(c.source) for c in nb.cells if c.cell_type == "code")
    assert declared.namespaces == re.findall(r"lab_settings\.namespace\(['\"]([\w-]+)", code)
    assert declared.docker == bool(re.search(r"\bdocker (run|info|compose|volume)\b", code))
