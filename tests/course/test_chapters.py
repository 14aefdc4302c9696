"""Each chapter has the parts the course promises, and points at its lab notebook.

The rendering itself (tabs, diagrams, included files, links) is checked by `mkdocs build
--strict` in tests/foundation/test_docs.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docker2k8s.paths import REPO_ROOT

CHAPTERS = REPO_ROOT / "docs" / "chapters"
LABS = REPO_ROOT / "labs"
# Every lab has a chapter, and every chapter has its parts.
STEMS = sorted(
    {path.stem for path in (REPO_ROOT / "solutions").glob("*.ipynb")}
    | {path.stem for path in CHAPTERS.glob("*.md") if len(path.suffixes) == 1}  # not PAGE.zh.md
)


def chapter_problems(stem: str, text: str, labs: Path) -> list[str]:
    problems = []
    if not re.search(r'^=== "Docker"$', text, re.M) or not re.search(
        r'^=== "Kubernetes"$', text, re.M
    ):
        problems.append("no Docker | Kubernetes content tabs")
    if '!!! abstract "Why it matters for an ML engineer"' not in text:
        problems.append("no 'Why it matters for an ML engineer' box")
    if '!!! warning "Common mistakes"' not in text:
        problems.append("no 'Common mistakes' admonition")
    if "```mermaid" not in text:
        problems.append("no diagram")
    lab_section = text.split("\n## Lab\n", 1)
    notebook = f"labs/{stem}.ipynb"
    if len(lab_section) < 2 or notebook not in lab_section[1]:
        problems.append(f"no '## Lab' section naming {notebook}")
    elif (labs / f"{stem}.ipynb").exists() and f"](../{notebook})" not in lab_section[1]:
        problems.append(f"{notebook} exists: link it, [{notebook}](../{notebook})")
    return problems


@pytest.mark.parametrize("stem", STEMS)
def test_chapter_has_every_part(stem: str) -> None:
    path = CHAPTERS / f"{stem}.md"
    assert path.exists(), f"docs/chapters/{stem}.md is missing"
    problems = chapter_problems(stem, path.read_text(), LABS)
    assert not problems, f"docs/chapters/{stem}.md: " + "; ".join(problems)


def test_check_finds_a_chapter_that_misses_its_parts(tmp_path: Path) -> None:
    (tmp_path / "03-pods.ipynb").write_text("{}")
    linked = r"\[`?(labs/03-pods\.ipynb)`?\]\(\.\./labs/03-pods\.ipynb\)"
    text = re.sub(linked, r"`\1`", (CHAPTERS / "03-pods.md").read_text())
    assert chapter_problems("03-pods", text, tmp_path) == [
        "labs/03-pods.ipynb exists: link it, [labs/03-pods.ipynb](../labs/03-pods.ipynb)"
    ]
    stripped = text.replace("```mermaid", "```text").replace("Common mistakes", "Pitfalls")
    assert len(chapter_problems("03-pods", stripped, tmp_path / "no-labs")) == 2
