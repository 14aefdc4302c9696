"""`python -m inference_server.shards --index I --shards N --out DIR`: prepare one shard of the
training text, the work of one Pod of an Indexed Job.

The raw text is the server's corpus plus the newer text of datasets/batch.txt. Paragraph p goes
to shard p % N; this shard's paragraphs are cleaned (whitespace collapsed, duplicates and
fragments dropped) and written to DIR/shard-I-of-N.txt, with what was done in
DIR/shard-I-of-N.json. Under an Indexed Job the index comes from JOB_COMPLETION_INDEX.
Exit codes: 0 done, 2 a bad configuration (flags, index out of range, no input).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import sys
import time
from pathlib import Path

from .model import CORPUS, split_words, write_atomically

DATASETS = Path(__file__).with_name("datasets")
SOURCES = (CORPUS, DATASETS / "batch.txt")
MIN_WORDS = 5  # shorter paragraphs are fragments, not training text


def paragraphs(texts: list[str]) -> list[str]:
    """Every paragraph (blocks separated by a blank line) of the texts, in order."""
    return [p for text in texts for p in re.split(r"\n\s*\n", text) if p.strip()]


def clean(paragraph: str) -> str:
    """One line, single spaces, no control characters."""
    return " ".join(paragraph.replace("\u00a0", " ").split())


def shard(texts: list[str], index: int, count: int) -> tuple[list[str], dict]:
    """The cleaned paragraphs of shard `index` of `count`, and counts of what was dropped."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"index {index} is not in 0..{count - 1}")
    mine = [p for i, p in enumerate(paragraphs(texts)) if i % count == index]
    kept, seen, dropped = [], set(), {"duplicates": 0, "fragments": 0}
    for paragraph in map(clean, mine):
        if len(split_words(paragraph)) < MIN_WORDS:
            dropped["fragments"] += 1
        elif paragraph in seen:
            dropped["duplicates"] += 1
        else:
            seen.add(paragraph)
            kept.append(paragraph)
    return kept, dropped


def shard_name(index: int, count: int) -> str:
    return f"shard-{index}-of-{count}"


def write_shard(
    out: Path, index: int, count: int, texts: list[str], started: float | None = None
) -> dict:
    """Write the shard's text and its report (atomically); return the report. `started`: when
    the work began (default: now), so the report spans all of it."""
    started = time.time() if started is None else started
    kept, dropped = shard(texts, index, count)
    out.mkdir(parents=True, exist_ok=True)
    text = "\n\n".join(kept) + "\n"
    name = shard_name(index, count)
    write_atomically(out / f"{name}.txt", text.encode())
    report = {
        "index": index,
        "shards": count,
        "paragraphs": len(kept),
        "words": sum(len(split_words(p)) for p in kept),
        "dropped": dropped,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "hostname": socket.gethostname(),
        "started": started,
        "finished": time.time(),
    }
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="inference_server.shards", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the shard files")
    p.add_argument("--shards", type=int, required=True, help="how many shards in all")
    p.add_argument(
        "--index",
        type=int,
        default=os.environ.get("JOB_COMPLETION_INDEX"),
        help="this shard (default: env JOB_COMPLETION_INDEX, set by an Indexed Job)",
    )
    p.add_argument("--source", type=Path, action="append", help="raw text files (repeatable)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to pretend to work")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.index is None:
        print("error: no --index and no JOB_COMPLETION_INDEX", file=sys.stderr)
        return 2
    sources = args.source or list(SOURCES)
    missing = [str(s) for s in sources if not s.is_file()]
    if missing:
        print(f"error: no such source file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.shards < 1 or not 0 <= args.index < args.shards:
        print(f"error: index {args.index} is not in 0..{args.shards - 1}", file=sys.stderr)
        return 2
    started = time.time()
    time.sleep(args.delay)
    texts = [s.read_text(encoding="utf-8") for s in sources]
    report = write_shard(args.out, args.index, args.shards, texts, started)
    print(
        f"shard {args.index} of {args.shards}: {report['paragraphs']} paragraphs, "
        f"{report['words']} words -> {args.out / shard_name(args.index, args.shards)}.txt",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
