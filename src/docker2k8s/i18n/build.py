"""Generated files in the second language: docs/**/<page>.zh.md and labs/<lab>.zh.ipynb.

Only a complete catalogue (nothing missing, nothing fuzzy) gives a generated file; any other page
or lab is served in English by the site's fallback. Generated files are never edited by hand: a
test compares them with a fresh build, as it compares labs/ with solutions/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from docker2k8s import labs
from docker2k8s.i18n import LANGUAGE, catalogues, lab_strings, markdown_blocks

LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MARKUP = re.compile(r"[`*_]|<[^>]+>")
KINDS = ("docs", "labs")


@dataclass(frozen=True)
class Generated:
    path: Path
    text: str


def target_of(source: catalogues.Source, labs_dir: Path = labs.LABS_DIR) -> Path:
    if source.kind == "labs":
        return labs_dir / f"{source.path.stem}.{LANGUAGE}.ipynb"
    return source.path.with_suffix(f".{LANGUAGE}.md")


def planned(labs_dir: Path = labs.LABS_DIR, kinds: tuple[str, ...] = KINDS) -> list[Generated]:
    """What the generated files should be, for every complete catalogue."""
    out = []
    for source in catalogues.sources():
        if source.kind not in kinds or not catalogues.status(source).complete:
            continue
        found = catalogues.translations(source)
        if source.kind == "docs":
            text = page(source.path.read_text(encoding="utf-8"), found)
        else:
            solution = nbformat.read(source.path, as_version=4)
            text = labs.render(lab(labs.to_lab(solution, source.path.name), found))
        out.append(Generated(target_of(source, labs_dir), text))
    return out


def page(english: str, found: dict[tuple[str | None, str], str]) -> str:
    used_ids: set[str] = set()

    def translate(block: markdown_blocks.Block) -> str | None:
        text = found.get((None, block.text))
        if not text or block.code:  # a `# comment` in a code block is no heading
            return text
        return _keep_anchors(block.text, text, used_ids)

    return markdown_blocks.join(markdown_blocks.split(english), translate)


def _keep_anchors(english: str, chinese: str, used_ids: set[str]) -> str:
    """Translated headings keep the English anchor ({#id}), so links into a page work in both
    languages (toc would otherwise slug Chinese headings to nothing)."""
    pattern = markdown_blocks.HEADING
    headings = [pattern.match(line) for line in english.split("\n")]
    english_ids = iter(_anchor(m["text"], used_ids) for m in headings if m)
    lines = []
    for line in chinese.split("\n"):
        match = pattern.match(line)
        anchor = next(english_ids, None) if match else None
        if match and anchor and not markdown_blocks.EXPLICIT_ID.search(line):
            line = f"{line.rstrip()} {{#{anchor}}}"
        lines.append(line)
    return "\n".join(lines)


def _anchor(heading: str, used_ids: set[str]) -> str:
    """The id toc gives an English heading (its slug, made unique with _1, _2 ...)."""
    explicit = re.search(r"\{[^}]*#([\w-]+)", heading)
    if explicit:
        used_ids.add(explicit[1])
        return explicit[1]
    from markdown.extensions.toc import slugify  # toc's own, so the ids are the ones it makes

    slug = slugify(MARKUP.sub("", LINK.sub(r"\1", heading)), "-")
    anchor, number = slug, 0
    while anchor in used_ids:
        number += 1
        anchor = f"{slug}_{number}"
    used_ids.add(anchor)
    return anchor


def lab(nb: nbformat.NotebookNode, found: dict[tuple[str | None, str], str]):
    nb = lab_strings.translated(nb, lambda s: found.get((s.cell_id, s.text)))
    nb.metadata.setdefault("d2k", {})["language"] = LANGUAGE
    return nb


def stale(labs_dir: Path = labs.LABS_DIR, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """Why the generated files differ from a fresh build (empty when they do not)."""
    problems = []
    plan = planned(labs_dir, kinds)
    for generated in plan:
        if not generated.path.exists():
            problems.append(f"{catalogues.shown(generated.path)} is missing")
        elif generated.path.read_text(encoding="utf-8") != generated.text:
            problems.append(f"{catalogues.shown(generated.path)} is out of date")
    expected = {g.path for g in plan}
    extra = existing(labs_dir, kinds) - expected
    problems += [f"{catalogues.shown(p)} has no complete catalogue" for p in sorted(extra)]
    return problems


def existing(labs_dir: Path = labs.LABS_DIR, kinds: tuple[str, ...] = KINDS) -> set[Path]:
    found: set[Path] = set()
    if "docs" in kinds:
        found |= {p for p in catalogues.DOCS_DIR.rglob(f"*.{LANGUAGE}.md") if "labs" not in p.parts}
    if "labs" in kinds:
        found |= set(labs_dir.glob(f"*.{LANGUAGE}.ipynb"))
    return found


def build(labs_dir: Path = labs.LABS_DIR, kinds: tuple[str, ...] = KINDS) -> list[Path]:
    """Write the generated files, delete those without a complete catalogue; what changed."""
    written = []
    plan = planned(labs_dir, kinds)
    for generated in plan:
        if not generated.path.exists() or generated.path.read_text("utf-8") != generated.text:
            generated.path.write_text(generated.text, encoding="utf-8")
            written.append(generated.path)
    for extra in sorted(existing(labs_dir, kinds) - {g.path for g in plan}):
        extra.unlink()
        written.append(extra)
    return written


def english_cells(submission: nbformat.NotebookNode, solution: Path) -> nbformat.NotebookNode:
    """A learner's translated lab with each code cell that is exactly the translation of the
    solution's (a check with Chinese names and hints) given back its English source, so
    `d2k grade` treats it as unedited. Cells the learner changed stay as they are."""
    english = labs.to_lab(nbformat.read(solution, as_version=4), solution.name)
    chinese = lab(english, catalogues.translations(catalogues.lab_source(solution)))
    pairs = zip(english.cells, chinese.cells, strict=True)
    given = {ours.id: (ours.source, theirs.source) for ours, theirs in pairs}
    out = nbformat.from_dict(submission)
    for cell in out.cells:
        source, translation = given.get(cell.get("id"), (None, None))
        if cell.cell_type == "code" and source != translation and cell.source == translation:
            cell.source = source
    return out
