"""One gettext catalogue per English source file: which, what it must hold, merging, status.

An entry's msgid is the English text (a docs block, a markdown cell, a check's name or hint); a
lab's entries carry the cell id as msgctxt. An entry whose English changed is kept as fuzzy, with
the old English as its previous msgid (`#| msgid`, as msgmerge writes it), until a translator
updates the Chinese and removes the fuzzy flag.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polib

from docker2k8s.errors import D2KError
from docker2k8s.i18n import CATALOGUES_DIR, DOCS_DIR, LOCALE, markdown_blocks
from docker2k8s.i18n.lab_strings import strings_of
from docker2k8s.labs import SOLUTIONS_DIR, is_translation
from docker2k8s.paths import REPO_ROOT

DOCS_SKIPPED = ("labs", "hooks", "snippets")  # docs/labs is labs/; the others are not pages
OPTIONAL = "optional: copied from English unless translated (code, a snippet, no words)"
SIMILAR_ENOUGH = 0.5  # an old translation this close to a changed block is offered as fuzzy


class CatalogueError(D2KError):
    exit_code = 2


@dataclass(frozen=True)
class Unit:
    """One thing to translate, as its source file has it now."""

    context: str | None  # the cell id in a lab; None in a docs page
    english: str
    required: bool  # code blocks are copied from English unless a translation exists
    note: str  # shown to translators (#.): what the text is, where it is


@dataclass(frozen=True)
class Source:
    path: Path  # the English file
    catalogue: Path
    kind: str  # "docs" or "labs"

    @property
    def name(self) -> str:
        return shown(self.path)

    def units(self) -> list[Unit]:
        return list(_units(self))

    def load(self) -> polib.POFile | None:
        if not self.catalogue.exists():
            return None
        try:
            return polib.pofile(str(self.catalogue), wrapwidth=0)
        except (OSError, ValueError) as error:
            raise CatalogueError(
                f"{shown(self.catalogue)} is not a readable PO file: {error}",
                fix="fix the syntax (msgfmt --check-format FILE shows where), or delete the "
                "file and run `d2k i18n update` to start it again",
            ) from error


def shown(path: Path) -> str:
    """A path as a message names it: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def sources(docs: Path = DOCS_DIR, solutions: Path = SOLUTIONS_DIR) -> list[Source]:
    found = []
    for page in sorted(docs.rglob("*.md")):
        relative = page.relative_to(docs)
        if relative.parts[0] in DOCS_SKIPPED or is_translation(page):
            continue
        found.append(Source(page, CATALOGUES_DIR / "docs" / relative.with_suffix(".po"), "docs"))
    found += [lab_source(lab) for lab in sorted(solutions.glob("*.ipynb"))]
    return found


def lab_source(solution: Path) -> Source:
    return Source(solution, CATALOGUES_DIR / "labs" / f"{solution.stem}.po", "labs")


def _units(source: Source) -> Iterator[Unit]:
    seen: set[tuple[str | None, str]] = set()
    if source.kind == "docs":
        candidates = (
            Unit(None, b.text, b.needs_translation, "" if b.needs_translation else OPTIONAL)
            for b in markdown_blocks.blocks(source.path.read_text(encoding="utf-8"))
        )
    else:
        nb = nbformat.read(source.path, as_version=4)
        candidates = (Unit(s.cell_id, s.text, True, s.kind) for s in strings_of(nb))
    for unit in candidates:
        if (unit.context, unit.english) not in seen:  # a repeated block is translated once
            seen.add((unit.context, unit.english))
            yield unit


def update(source: Source) -> polib.POFile:
    """The catalogue merged with its source: translations of unchanged English kept, new units
    added empty, an old translation of changed English kept as fuzzy with its previous msgid.
    Translated entries whose English is gone stay as obsolete (#~) for reuse."""
    old = source.load() or polib.POFile(wrapwidth=0)
    units = source.units()
    current = {(u.context, u.english) for u in units}
    by_key = {(e.msgctxt, e.msgid): e for e in old if not e.obsolete}
    spare = [e for e in old if e.msgstr and (e.obsolete or (e.msgctxt, e.msgid) not in current)]
    po = polib.POFile(wrapwidth=0)
    po.header = f"Chinese (Simplified) translation of {source.name}; msgid is the English source."
    po.metadata = {
        "Project-Id-Version": "docker2k8s",
        "Language": LOCALE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    for unit in units:
        entry = by_key.get((unit.context, unit.english))
        if entry is None:
            entry = polib.POEntry(msgctxt=unit.context, msgid=unit.english, msgstr="")
            previous = _closest(unit, spare)
            if previous is not None:
                spare.remove(previous)
                entry.msgstr = previous.msgstr
                entry.flags = ["fuzzy"]
                entry.previous_msgid = previous.previous_msgid or previous.msgid
        entry.obsolete = False
        entry.comment = unit.note
        entry.occurrences = []
        po.append(entry)
    for entry in spare:
        entry.obsolete = True
        po.append(entry)
    return po


def _closest(unit: Unit, spare: list[polib.POEntry]) -> polib.POEntry | None:
    """The old translated entry most like this changed unit (a lab's only within its cell)."""
    best, best_ratio = None, SIMILAR_ENOUGH
    for entry in spare:
        if entry.msgctxt != unit.context:
            continue
        ratio = difflib.SequenceMatcher(None, entry.msgid, unit.english, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = entry, ratio
    return best


def write(source: Source, po: polib.POFile) -> bool:
    """Save `po` as the source's catalogue; True when the file changed."""
    text = str(po) + "\n" if not str(po).endswith("\n") else str(po)
    if source.catalogue.exists() and source.catalogue.read_text(encoding="utf-8") == text:
        return False
    source.catalogue.parent.mkdir(parents=True, exist_ok=True)
    source.catalogue.write_text(text, encoding="utf-8")
    return True


@dataclass(frozen=True)
class Status:
    source: Source
    exists: bool
    units: int
    translated: int
    as_english: int  # code blocks left to be copied from English
    missing: list[Unit]
    fuzzy: list[Unit]

    @property
    def complete(self) -> bool:
        return self.exists and not self.missing and not self.fuzzy

    def problems(self) -> list[str]:
        """One line per untranslated or stale unit: where it is and how its English starts."""
        where = self.source.name
        lines = [f"{where}: no catalogue ({self.source.catalogue.name})"] if not self.exists else []
        for state, units in (("has no translation", self.missing), ("changed (fuzzy)", self.fuzzy)):
            for unit in units:
                cell = f" cell {unit.context}" if unit.context else ""
                first = unit.english.strip().split("\n")[0][:80]
                lines.append(f"{where}{cell}: {first!r} {state}")
        return lines


def status(source: Source) -> Status:
    po = source.load()
    units = source.units()
    entries = {(e.msgctxt, e.msgid): e for e in po or [] if not e.obsolete}
    translated, as_english, missing, fuzzy = 0, 0, [], []
    for unit in units:
        entry = entries.get((unit.context, unit.english))
        if entry is not None and "fuzzy" in entry.flags:
            fuzzy.append(unit)
        elif entry is not None and entry.msgstr:
            translated += 1
        elif unit.required:
            missing.append(unit)
        else:
            as_english += 1
    return Status(source, po is not None, len(units), translated, as_english, missing, fuzzy)


def translations(source: Source) -> dict[tuple[str | None, str], str]:
    """What the builder uses: the current (not fuzzy) translation of each English text."""
    return {
        (e.msgctxt, e.msgid): e.msgstr
        for e in source.load() or []
        if e.msgstr and not e.obsolete and "fuzzy" not in e.flags
    }
