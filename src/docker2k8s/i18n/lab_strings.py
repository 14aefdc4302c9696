"""What a learner reads in a lab notebook, keyed by cell id, and the lab in another language.

Markdown cells are translated whole. In code cells only the strings a learner sees are: the name
(first argument) and `hint=` of each `check(...)` call, written as plain string literals. The code
is never copied into a catalogue: a translated literal replaces the English one at build time, and
only where that literal occurs exactly.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class LabString:
    cell_id: str
    text: str  # the English: a markdown cell's source, or a literal's value
    literal: str = ""  # a code cell's literal as written in the source ("" for markdown)
    kind: str = "markdown"  # markdown, check name, check hint


def strings_of(nb: nbformat.NotebookNode) -> Iterator[LabString]:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            yield LabString(cell.id, cell.source)
        elif cell.cell_type == "code":
            yield from _check_strings(cell.id, cell.source)


def _check_strings(cell_id: str, source: str) -> Iterator[LabString]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with ! or % lines holds no check (checks are plain Python)
        return
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"):
            continue
        named = [("check name", node.args[0])] if node.args else []
        named += [("check hint", k.value) for k in node.keywords if k.arg == "hint"]
        for kind, value in named:
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                literal = ast.get_source_segment(source, value) or ""
                yield LabString(cell_id, value.value, literal, kind)


def translated(
    nb: nbformat.NotebookNode, translate: Callable[[LabString], str | None]
) -> nbformat.NotebookNode:
    """A copy of `nb` with each string replaced by `translate(string)` (None: kept)."""
    out = nbformat.from_dict(nb)
    for cell in out.cells:
        for string in list(strings_of(nbformat.v4.new_notebook(cells=[cell]))):
            text = translate(string)
            if text is None or text == string.text:
                continue
            if not string.literal:
                cell.source = text
            else:  # a JSON string is a valid Python literal, in double quotes
                cell.source = cell.source.replace(
                    string.literal, json.dumps(text, ensure_ascii=False)
                )
    return out
