"""A lab in Chinese is graded like the English one: same cell ids, against solutions/.

Only lab 00 is graded here (it reads Docker and the cluster, and is quick); the other labs'
grading lives in test_lab_grading.py."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from docker2k8s import labs
from docker2k8s.grading.assemble import Role, role_of
from docker2k8s.i18n import build, catalogues

pytestmark = [pytest.mark.docker, pytest.mark.cluster]

SOLUTION = labs.SOLUTIONS_DIR / "00-setup.ipynb"


def chinese_lab() -> nbformat.NotebookNode:
    """Lab 00 as `d2k build-labs` writes it in Chinese, from the solution and its catalogue."""
    source = catalogues.lab_source(SOLUTION)
    assert catalogues.status(source).complete, "lab 00's catalogue must be complete"
    lab = labs.to_lab(nbformat.read(SOLUTION, as_version=4), SOLUTION.name)
    return build.lab(lab, catalogues.translations(source))


def test_a_solved_chinese_lab_scores_every_check(docker_engine, d2k, tmp_path: Path):
    solution = nbformat.read(SOLUTION, as_version=4)
    answers = {c.id: c.source for c in solution.cells if role_of(c) is Role.EXERCISE}
    learner = chinese_lab()
    assert "实验 00" in learner.cells[0].source and 'check("课程需要的东西一样不缺"' in "".join(
        c.source for c in learner.cells
    )
    for cell in learner.cells:
        if cell.id in answers:  # what a learner types, in the Chinese notebook
            cell.source = answers[cell.id]
    notebook = tmp_path / "00-setup.zh.ipynb"
    notebook.write_text(labs.render(learner), encoding="utf-8")
    report = tmp_path / "report.json"

    result = d2k("grade", str(notebook), "--json", str(report))

    assert result.returncode == 0, result.stderr
    graded = json.loads(report.read_text())
    assert graded["solution"].endswith("solutions/00-setup.ipynb")
    assert graded["total"] == 7 and graded["score"] == 1.0, graded["checks"]
    # The Chinese checks are the solution's, translated: not edited, nothing restored.
    assert graded["restored"] == [] and graded["ignored"] == [] and graded["unanswered"] == []


def test_the_committed_chinese_lab_is_the_one_graded_as_handed_out(docker_engine, d2k, tmp_path):
    committed = nbformat.read(labs.LABS_DIR / "00-setup.zh.ipynb", as_version=4)
    assert labs.render(committed) == labs.render(chinese_lab())
    report = tmp_path / "report.json"
    d2k("grade", str(labs.LABS_DIR / "00-setup.zh.ipynb"), "--json", str(report))
    graded = json.loads(report.read_text())
    assert graded["total"] == 7 and graded["restored"] == [], graded
    assert graded["score"] < 1.0  # the exercises are not done yet
