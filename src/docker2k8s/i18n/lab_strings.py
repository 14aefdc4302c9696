"""What a learner reads in a lab notebook, keyed by cell id, and the lab in another language.

Markdown cells are translated whole. In code cells only the strings a learner sees are: the name
(first argument) and `hint=` of each `check(...)` call, written as plain string literals. The code
is never copied into a catalogue: at build time a translated literal replaces the English one in
that argument only, the rest of the cell staying byte for byte the same.
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
    span: tuple[int, int] = (0, 0)  # where the literal is in the cell's source


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
                span = _span(source, value)
                yield LabString(cell_id, value.value, source[span[0] : span[1]], kind, span)


def _span(source: str, node: ast.expr) -> tuple[int, int]:
    """A node's place in `source` as string offsets (ast counts columns in UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)

    def offset(line: int, column: int) -> int:
        before = sum(len(text) for text in lines[: line - 1])
        return before + len(lines[line - 1].encode()[:column].decode())

    return offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)


def translated(
    nb: nbformat.NotebookNode, translate: Callable[[LabString], str | None]
) -> nbformat.NotebookNode:
    """A copy of `nb` with each string replaced by `translate(string)` (None: kept)."""
    out = nbformat.from_dict(nb)
    for cell in out.cells:
        strings = list(strings_of(nbformat.v4.new_notebook(cells=[cell])))
        for string in sorted(strings, key=lambda s: s.span, reverse=True):  # the last first
            text = translate(string)
            if text is None or text == string.text:
                continue
            if not string.literal:
                cell.source = text
            else:  # this argument only: a JSON string is a valid Python literal
                start, end = string.span
                literal = json.dumps(text, ensure_ascii=False)
                cell.source = cell.source[:start] + literal + cell.source[end:]
    return out
