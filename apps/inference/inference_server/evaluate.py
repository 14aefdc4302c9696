"""`python -m inference_server.evaluate --models /models --out /models/metrics`: score every
model version found under a folder on held-out text, the work of an evaluation Job.

A model version is a folder holding model.json and config.json (what the server and the trainer
write). With `--baseline ID` the server's own model ID is made first when absent, as the server
would make it (trained from its shipped corpus), so there is always something to compare with.
For each word of the held-out text (datasets/heldout.txt: text no model was trained on) the
model predicts the next word from the two before it:

* accuracy: how often its most likely next word is the right one;
* perplexity: exp of the mean negative log-probability of the right word, lower is better
  (add-one smoothed over an open vocabulary of OPEN_VOCABULARY words, the same for every
  version, so that a word a model never saw costs it a lot);
* unknown_rate: the share of held-out words missing from its vocabulary.

Each version's metrics go to OUT/<folder name>.json, all of them to OUT/summary.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import socket
import sys
import time
from pathlib import Path

from .model import (
    BOS,
    EOS,
    MODEL_FILE,
    UNK,
    NGramModel,
    load_or_create,
    split_words,
    write_atomically,
)

HELDOUT = Path(__file__).with_name("datasets") / "heldout.txt"
OPEN_VOCABULARY = 1000


def score(model: NGramModel, text: str) -> dict:
    """Next-word accuracy, perplexity and unknown-word rate of `model` on `text`."""
    bos, eos, unk = model.index[BOS], model.index[EOS], model.index[UNK]
    hits = total = unknown = 0
    log_prob = 0.0
    for paragraph in (p for p in text.split("\n\n") if p.strip()):
        ids = [bos, bos, *(model.index.get(w, unk) for w in split_words(paragraph)), eos]
        for a, b, c in zip(ids, ids[1:], ids[2:], strict=False):
            counts = model._distribution(a, b)
            best = max(counts, key=lambda i: (counts[i], -i))
            hits += best == c != unk
            unknown += c == unk
            seen = counts.get(c, 0) if c != unk else 0
            log_prob += math.log((seen + 1) / (sum(counts.values()) + OPEN_VOCABULARY))
            total += 1
    if total == 0:
        raise ValueError("the held-out text has no words")
    return {
        "words": total,
        "accuracy": round(hits / total, 4),
        "perplexity": round(math.exp(-log_prob / total), 2),
        "unknown_rate": round(unknown / total, 4),
    }


def model_dirs(models: Path, skip: Path | None = None) -> list[Path]:
    """Folders under `models` that hold a model (model.json), outside `skip`."""
    found = []
    for path in sorted(models.rglob(MODEL_FILE)):
        if skip is not None and skip in path.parents:
            continue
        found.append(path.parent)
    return found


def evaluate(models: Path, out: Path, heldout: Path = HELDOUT, baseline: str | None = None) -> dict:
    if baseline:
        load_or_create(models / baseline, baseline)
    text = heldout.read_text(encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for folder in model_dirs(models, skip=out):
        raw = (folder / MODEL_FILE).read_bytes()
        metrics = score(NGramModel.from_json(json.loads(raw)), text)
        name = str(folder.relative_to(models))
        metrics |= {"model": name, "model_sha": hashlib.sha256(raw).hexdigest()}
        (out / f"{folder.name}.json").write_text(json.dumps(metrics, indent=2) + "\n")
        results[name] = metrics
        print(
            f"{name}: accuracy {metrics['accuracy']:.3f}, perplexity {metrics['perplexity']:.1f}, "
            f"unknown words {metrics['unknown_rate']:.1%}",
            flush=True,
        )
    summary = {
        "evaluated_at": time.time(),
        "hostname": socket.gethostname(),
        "heldout_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "models": results,
    }
    write_atomically(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="inference_server.evaluate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--models", type=Path, required=True, help="folder holding model versions")
    p.add_argument("--out", type=Path, required=True, help="folder for the metrics files")
    p.add_argument("--heldout", type=Path, default=HELDOUT, help="held-out text")
    p.add_argument("--baseline", help="a model ID to create under MODELS when absent")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.heldout.is_file():
        print(f"error: no held-out text at {args.heldout}", file=sys.stderr)
        return 2
    args.models.mkdir(parents=True, exist_ok=True)
    summary = evaluate(args.models, args.out, args.heldout, args.baseline)
    if not summary["models"]:
        print(f"error: no model (model.json) under {args.models}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
