"""Every lab graded three ways on the real cluster and Docker: the solution scores every check, the
lab as handed out scores none, and a lazy notebook scores none either. The lazy notebook answers
each exercise with the very values the solution's run produced, typed in as literals, and does
nothing else: a check that passes on it is checking a value, not what happened."""

from __future__ import annotations

import json

import nbformat
import pytest

from docker2k8s.grading.assemble import Role, role_of
from docker2k8s.grading.checker import literal
from docker2k8s.grading.grader import grade
from docker2k8s.labs import BEGIN, END, LABS_DIR, SOLUTIONS_DIR, render

LABS = [path.name for path in sorted(SOLUTIONS_DIR.glob("*.ipynb"))]
# Labs whose exercises only read facts of the machine (Docker's version, the nodes): the true
# value typed in is the answer, so there the typed-in answers are made wrong, and must fail.
READS_FACTS = {"00-setup.ipynb"}


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
    (`mistaken`: of wrong values)."""
    lazy = nbformat.from_dict(solution)
    for cell in lazy.cells:
        if role_of(cell) is not Role.EXERCISE:
            continue
        lines, inside = [], False
        for line in cell.source.splitlines():
            if line.strip() == BEGIN:
                inside = True
                indent = line[: len(line) - len(line.lstrip())]
                for name, text in answers.get(cell.id, {}).items():
                    value = text if _is_literal(text) else "None"
                    if mistaken and value != "None":
                        value = repr(wrong(literal(text)))
                    lines.append(f"{indent}{name} = {value}".replace("\n", "\n" + indent))
                lines.append(f"{indent}pass")
            elif line.strip() == END:
                inside = False
            elif not inside:
                lines.append(line)
        cell.source = "\n".join(lines)
    return lazy


def _is_literal(text: str) -> bool:
    try:
        literal(text)
    except ValueError:
        return False
    return True


@pytest.mark.docker
@pytest.mark.cluster
@pytest.mark.parametrize("name", LABS)
def test_only_the_work_scores(name, docker_engine, d2k, tmp_path):
    solution = SOLUTIONS_DIR / name
    solved = grade(solution, capture=True)
    assert len(solved.checks) >= 3 and solved.score == 1.0, solved.to_json()
    assert solved.errors == [], solved.errors

    lab = d2k("grade", str(LABS_DIR / name), "--json", str(tmp_path / "lab.json"))
    assert lab.returncode == 0, lab.stderr
    handed_out = json.loads((tmp_path / "lab.json").read_text())
    assert handed_out["total"] == len(solved.checks)
    assert handed_out["passed"] == 0, f"checks of {name} pass with no exercise done: {handed_out}"
    assert handed_out["restored"] == handed_out["ignored"] == handed_out["unanswered"] == []

    lazy_path = tmp_path / "lazy" / name
    lazy_path.parent.mkdir()
    typed = lazy_notebook(nbformat.read(solution, 4), solved.answers, name in READS_FACTS)
    lazy_path.write_text(render(typed))
    lazy = grade(lazy_path, solution)
    passed = [c.name for c in lazy.checks if c.passed]
    assert passed == [], f"typed-in answers pass checks of {name}: {passed}"
