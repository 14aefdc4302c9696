"""The Chinese edition: catalogues in step with the English, generated files in step with the
catalogues, and a translated page or lab that differs from the English only where translated."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from docker2k8s import labs
from docker2k8s.i18n import build, catalogues, lab_strings, markdown_blocks

SOURCES = catalogues.sources()
CATALOGUED = [s for s in SOURCES if s.catalogue.exists()]
LAB00 = labs.SOLUTIONS_DIR / "00-setup.ipynb"


def test_the_proof_pages_and_lab_00_are_translated():
    names = {s.name for s in CATALOGUED if catalogues.status(s).complete}
    assert {"docs/index.md", "docs/how-to-use.md", "solutions/00-setup.ipynb"} <= names


@pytest.mark.parametrize("source", CATALOGUED, ids=lambda s: s.name)
def test_a_catalogue_has_every_block_translated_and_none_stale(source: catalogues.Source):
    """An edited English paragraph or cell has no translation any more (its msgid is the old
    English), so a catalogue, once started, must cover the English as it is now."""
    problems = catalogues.status(source).problems()
    assert not problems, (
        "\n".join(problems) + "\nfix: d2k i18n update, translate the empty and fuzzy entries "
        "(a fuzzy one shows the previous English as #| msgid), remove the fuzzy flag, "
        "then d2k i18n build"
    )


def test_generated_files_equal_a_fresh_build():
    stale = build.stale()
    assert not stale, f"generated Chinese files are stale ({'; '.join(stale)}); fix: d2k i18n build"


@pytest.mark.parametrize(
    "page", [s.path for s in SOURCES if s.kind == "docs"], ids=lambda p: p.name
)
def test_an_untranslated_page_is_the_english_page_byte_for_byte(page: Path):
    text = page.read_text(encoding="utf-8")
    assert markdown_blocks.join(markdown_blocks.split(text)) == text
    assert build.page(text, {}) == text


def test_a_block_in_an_admonition_is_translated_without_its_indentation():
    english = '# Title\n\n!!! tip "Hi"\n\n    Inside the tip,\n    two lines.\n\n```bash\nls\n```\n'
    found = {
        (None, "# Title"): "# 标题",
        (None, "Inside the tip,\ntwo lines."): "提示里的内容:\n两行。",
    }
    assert [b.text for b in markdown_blocks.blocks(english)][2] == "Inside the tip,\ntwo lines."
    assert build.page(english, found) == (
        '# 标题 {#title}\n\n!!! tip "Hi"\n\n    提示里的内容:\n    两行。\n\n```bash\nls\n```\n'
    )


def test_a_comment_in_a_translated_code_block_gets_no_anchor():
    english = "## Run it\n\n```bash\n# the same from the command line:\nls\n```\n"
    found = {
        (None, "## Run it"): "## 运行",
        (None, "```bash\n# the same from the command line:\nls\n```"): (
            "```bash\n# 也可以直接在命令行上运行\nls\n```"
        ),
    }
    assert build.page(english, found) == (
        "## 运行 {#run-it}\n\n```bash\n# 也可以直接在命令行上运行\nls\n```\n"
    )


def test_a_fenced_block_with_blank_lines_is_one_block():
    english = "Text\n\n    ```yaml\n    a: 1\n\n    b: 2\n    ```\nAfter\n"
    found = markdown_blocks.blocks(english)
    assert [(b.text, b.indent, b.code) for b in found] == [
        ("Text", "", False),
        ("```yaml\na: 1\n\nb: 2\n```", "    ", True),
        ("After", "", False),
    ]


def test_a_chinese_lab_differs_from_the_english_only_in_text():
    english = labs.to_lab(nbformat.read(LAB00, as_version=4))
    chinese = nbformat.read(labs.LABS_DIR / "00-setup.zh.ipynb", as_version=4)
    assert [c.id for c in chinese.cells] == [c.id for c in english.cells]
    strings = list(lab_strings.strings_of(english))
    literals = {s.cell_id: [] for s in strings}
    for string in strings:
        literals[string.cell_id].append(string.literal)
    for ours, theirs in zip(english.cells, chinese.cells, strict=True):
        if ours.cell_type != "code":
            continue
        for literal in literals.get(ours.id, []):
            assert literal and literal not in theirs.source, f"cell {ours.id}: {literal} kept"
    # Put the English literals back and the code is the English lab's, cell for cell: all d2k
    # grade needs to treat the Chinese checks as the solution's.
    back = build.english_cells(chinese, LAB00)
    for ours, theirs in zip(english.cells, back.cells, strict=True):
        if ours.cell_type == "code":
            assert ours.source == theirs.source, f"cell {ours.id}: code changed"


def test_a_literal_is_replaced_only_where_it_occurs_exactly():
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('check("ok", True, hint="use x")\nprint("use x")')]
    )
    nb.cells[0].id = "c1"
    found = {("c1", "use x"): "用 x", ("c1", "ok"): "好"}
    out = lab_strings.translated(nb, lambda s: found.get((s.cell_id, s.text)))
    assert out.cells[0].source == 'check("好", True, hint="用 x")\nprint("use x")'  # not print


@pytest.fixture
def lab_copy(tmp_path: Path) -> catalogues.Source:
    """Lab 00 and its catalogue, copied where a test may edit the English."""
    solution = tmp_path / "00-setup.ipynb"
    shutil.copy(LAB00, solution)
    catalogue = tmp_path / "00-setup.po"
    shutil.copy(catalogues.lab_source(LAB00).catalogue, catalogue)
    return catalogues.Source(solution, catalogue, "labs")


def _edit_cell(path: Path, cell_id: str, old: str, new: str) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.id == cell_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, path)


def test_an_edited_english_cell_is_caught_and_kept_as_fuzzy(lab_copy: catalogues.Source):
    assert catalogues.status(lab_copy).complete
    _edit_cell(lab_copy.path, "8913e876", "Is this machine ready?", "Is this machine ready yet?")

    problems = catalogues.status(lab_copy).problems()
    assert problems == [
        f"{lab_copy.name} cell 8913e876: '## 1. Is this machine ready yet?' has no translation"
    ]
    assert not build.planned(kinds=("labs",)) or all(
        g.path.name != "00-setup.zh.ipynb" or catalogues.status(lab_copy).complete is False
        for g in build.planned(kinds=("labs",))
    )

    catalogues.write(lab_copy, catalogues.update(lab_copy))  # what a translator runs next
    status = catalogues.status(lab_copy)
    assert [u.context for u in status.fuzzy] == ["8913e876"] and not status.missing
    entry = next(e for e in lab_copy.load() if e.msgctxt == "8913e876" and not e.obsolete)
    assert "fuzzy" in entry.flags and entry.msgstr.startswith("## 1. 这台机器准备好了吗")
    assert "Is this machine ready?" in entry.previous_msgid
    assert "#| msgid" in lab_copy.catalogue.read_text(encoding="utf-8")


def test_an_edited_check_hint_is_caught(lab_copy: catalogues.Source):
    _edit_cell(lab_copy.path, "da6e9bb7", "use docker.from_env()", "call docker.from_env()")
    (problem,) = catalogues.status(lab_copy).problems()
    assert problem.startswith(f'{lab_copy.name} cell da6e9bb7: "call docker.from_env()')


def test_an_edited_paragraph_of_a_page_is_caught(tmp_path: Path):
    page = tmp_path / "index.md"
    english = (catalogues.DOCS_DIR / "index.md").read_text(encoding="utf-8")
    page.write_text(english.replace("No cluster administration", "No cluster admin"), "utf-8")
    catalogue = tmp_path / "index.po"
    shutil.copy(catalogues.CATALOGUES_DIR / "docs" / "index.po", catalogue)
    source = catalogues.Source(page, catalogue, "docs")
    (problem,) = catalogues.status(source).problems()
    assert "'Algorithm and ML engineers who use Docker" in problem and "no translation" in problem


def test_update_keeps_translations_and_adds_new_blocks(tmp_path: Path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n\nOne paragraph.\n", "utf-8")
    source = catalogues.Source(page, tmp_path / "p.po", "docs")
    po = catalogues.update(source)
    po[0].msgstr = "# 标题"
    catalogues.write(source, po)
    page.write_text("# Title\n\nOne paragraph.\n\nA new one.\n", "utf-8")
    catalogues.write(source, catalogues.update(source))
    entries = {e.msgid: e.msgstr for e in source.load()}
    assert entries == {"# Title": "# 标题", "One paragraph.": "", "A new one.": ""}
    assert [len(catalogues.status(source).missing)] == [2]


def test_a_broken_catalogue_names_the_file_and_the_fix(tmp_path: Path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n", "utf-8")
    (tmp_path / "p.po").write_text('msgid "a"\nmsgstr "b"\nthis is not po\n', "utf-8")
    with pytest.raises(catalogues.CatalogueError, match="not a readable PO file"):
        catalogues.status(catalogues.Source(page, tmp_path / "p.po", "docs"))


def test_status_lists_every_source(d2k):
    result = d2k("i18n", "status")
    assert result.returncode == 0, result.stderr
    assert "docs/index.md" in result.stdout and "solutions/00-setup.ipynb" in result.stdout
    assert "complete" in result.stdout
