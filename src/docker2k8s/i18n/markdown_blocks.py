"""A Markdown page as blocks a translator sees one at a time, and back again.

A block is a run of non-blank lines, or a fenced code block with its blank lines. Its common
indentation (a paragraph inside a tab or an admonition) stays outside the text a translator sees
and is put back when the page is assembled, so an untranslated page is byte-identical to the
English one. Separators (blank lines) are kept verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})")
HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*$")
EXPLICIT_ID = re.compile(r"\{[^}]*#[\w-]+[^}]*\}\s*$")
SNIPPET = re.compile(r"^-{2,}8<-{2,}")


@dataclass(frozen=True)
class Block:
    text: str  # the lines without their common indentation: what a translator sees
    indent: str
    code: bool  # a fenced code block: copied from English unless translated
    raw: str = field(default="", compare=False)  # the lines as the page has them

    @property
    def needs_translation(self) -> bool:
        """Code, included snippets and lines without words read the same in any language."""
        lines = [line for line in self.text.splitlines() if line.strip()]
        if self.code or all(SNIPPET.match(line.strip()) for line in lines):
            return False
        return bool(re.search(r"[A-Za-z]{2}", self.text))


Segment = Block | str  # a block, or separator text kept as it is


def split(page: str) -> list[Segment]:
    lines = page.splitlines(keepends=True)
    segments: list[Segment] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            segments.append(line)
            index += 1
            continue
        start, fence = index, FENCE.match(line)
        if fence:  # through the closing fence, blank lines included
            marker = fence["fence"]
            index += 1
            while index < len(lines) and not _closes(lines[index], marker):
                index += 1
            index = min(index + 1, len(lines))
        else:  # through the last line before a blank one or a fence
            index += 1
            while index < len(lines) and lines[index].strip() and not FENCE.match(lines[index]):
                index += 1
        segments.append(_block(lines[start:index], code=bool(fence)))
    return segments


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0])


def _block(lines: list[str], code: bool) -> Block:
    body = "".join(lines).rstrip("\n").split("\n")
    width = min(len(line) - len(line.lstrip(" \t")) for line in body if line.strip())
    indent = body[0][:width]
    if any(line.strip() and not line.startswith(indent) for line in body):
        indent = ""  # tabs and spaces mixed: the block keeps its indentation in the text
    text = "\n".join(line[len(indent) :] if line.strip() else "" for line in body)
    return Block(text, indent, code, raw="".join(lines))


def blocks(page: str) -> list[Block]:
    return [segment for segment in split(page) if isinstance(segment, Block)]


def join(segments: list[Segment], translate=None) -> str:
    """The page again, each block replaced by `translate(block)` (None: the English block) at
    the block's indentation. Nothing translated gives the page byte for byte."""
    out = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
            continue
        text = translate(segment) if translate else None
        if text is None or text == segment.text:
            out.append(segment.raw)
            continue
        ending = segment.raw[len(segment.raw.rstrip("\n")) :]
        lines = (segment.indent + line if line else line for line in text.split("\n"))
        out.append("\n".join(lines) + ending)
    return "".join(out)
