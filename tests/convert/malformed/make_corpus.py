"""Writes the corpus of malformed Compose files next to this script: the features and llm-stack
fixtures broken in the ways files break (cut short, a line lost or doubled, indentation off, a tab,
a byte that is not UTF-8, a value of the wrong shape or size, an unknown tag). Run it again after
changing a fixture; the files are kept in git so every run tests the same inputs.

    python tests/convert/malformed/make_corpus.py
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"
SOURCES = [FIXTURES / "features" / "compose.yaml", FIXTURES / "llm-stack" / "compose.yaml"]
ODD_VALUES = ["[]", "{}", "-1", "1e400", ".inf", ".nan", "null", "yes", "'  '", "[[[]]]",
              "{a: {b: {c: d}}}", "!reset []", "!override x", "!custom x", "*missing",
              "99999999999999999999999", "'\\x00'", "\"${UNSET:?must be set}\""]  # fmt: skip


def mutations(text: str, rng: random.Random) -> list[tuple[str, bytes]]:
    lines = text.splitlines()
    out: list[tuple[str, bytes]] = []
    for fraction in (0.1, 0.33, 0.5, 0.77, 0.95):
        out.append((f"cut-{int(fraction * 100)}", text[: int(len(text) * fraction)].encode()))
    for n in rng.sample(range(len(lines)), 16):
        out.append((f"drop-line-{n}", "\n".join(lines[:n] + lines[n + 1 :]).encode()))
        out.append((f"double-line-{n}", "\n".join(lines[: n + 1] + lines[n:]).encode()))
    for n in rng.sample(range(len(lines)), 12):
        shifted = [*lines[:n], " " + lines[n], *lines[n + 1 :]]
        out.append((f"indent-{n}", "\n".join(shifted).encode()))
        tabbed = [*lines[:n], "\t" + lines[n].lstrip(), *lines[n + 1 :]]
        out.append((f"tab-{n}", "\n".join(tabbed).encode()))
    valued = [n for n, line in enumerate(lines) if ":" in line and not line.strip().endswith(":")]
    for n in rng.sample(valued, min(len(valued), 36)):
        key = lines[n].split(":", 1)[0]
        value = rng.choice(ODD_VALUES)
        out.append(
            (f"value-{n}", "\n".join([*lines[:n], f"{key}: {value}", *lines[n + 1 :]]).encode())
        )
    for n in rng.sample(range(len(text)), 6):
        out.append((f"byte-{n}", text[:n].encode() + b"\xff\xfe" + text[n:].encode()))
    return out


def main() -> None:
    rng = random.Random(20261201)
    for old in HERE.glob("*.yaml"):
        old.unlink()
    count = 0
    for source in SOURCES:
        for name, data in mutations(source.read_text(), rng):
            (HERE / f"{source.parent.name}-{name}.yaml").write_bytes(data)
            count += 1
    print(f"wrote {count} files to {HERE}")


if __name__ == "__main__":
    main()
