"""`python -m inference_server.train --data DIR --out DIR/<model-id>`: train a new version of
the server's trigram model from the shard files an Indexed Job wrote, with checkpoints.

One step is one paragraph of training text. Every `--checkpoint-every` steps the counts so far
go to OUT/checkpoint.json (atomically); a new run that finds a checkpoint of the same data
resumes after its step and says so in its log. At the end OUT holds model.json and config.json,
the files the inference server loads (`--model-id` naming OUT under its DATA_DIR), the
checkpoint is removed, and OUT/train-log.jsonl keeps one line per event of every run.

On SIGTERM (`docker stop`, a deleted or preempted Pod) it saves a checkpoint after the current
step and exits with 143, as a process killed by SIGTERM would. It must handle the signal itself:
as PID 1 of a container, a process without a handler is not stopped by SIGTERM at all, and runs
on until the SIGKILL that follows the grace period.

Exit codes, so a Job's podFailurePolicy can tell them apart: 0 trained; 2 a bad configuration
(flags, no data), which no retry can fix; anything else (a crash, a kill) is worth a retry.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .model import NGramCounter, save_model, write_atomically

CHECKPOINT_FILE = "checkpoint.json"
LOG_FILE = "train-log.jsonl"
BAD_CONFIG = 2
STOPPED = 128 + signal.SIGTERM  # 143: the exit code of a process that SIGTERM ended


class ConfigError(Exception):
    """The run cannot succeed as configured: retrying would not help."""


class Stopped(Exception):
    """SIGTERM arrived: the run saved a checkpoint and stopped."""


@contextmanager
def stop_on_sigterm() -> Iterator[threading.Event]:
    """An event that SIGTERM sets while the block runs (the previous handler comes back after)."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def training_text(data: Path) -> tuple[list[str], str]:
    """The paragraphs of every shard-*.txt in `data` (in shard order) and their sha256."""
    files = sorted(data.glob("shard-*.txt"), key=lambda p: [int(n) for n in _numbers(p.stem)])
    if not files:
        raise ConfigError(f"no shard-*.txt files in {data}: run the data preparation first")
    texts = [f.read_text(encoding="utf-8") for f in files]
    digest = hashlib.sha256("\n\n".join(texts).encode()).hexdigest()
    return [p.strip() for t in texts for p in t.split("\n\n") if p.strip()], digest


def _numbers(stem: str) -> list[str]:
    return [part for part in stem.split("-") if part.isdigit()]


def _save_checkpoint(path: Path, data_sha: str, counter: NGramCounter) -> None:
    state = {"data_sha256": data_sha, "trainer": counter.state()}
    write_atomically(path, json.dumps(state, separators=(",", ":")).encode())


class Run:
    """One run of the trainer: its log lines go to stdout and to OUT/train-log.jsonl."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.hostname = socket.gethostname()

    def log(self, event: str, message: str, **fields: object) -> None:
        print(message, flush=True)
        line = {"time": time.time(), "hostname": self.hostname, "event": event, **fields}
        with (self.out / LOG_FILE).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


def train(
    data: Path,
    out: Path,
    model_id: str,
    checkpoint_every: int,
    step_delay: float = 0.0,
    stop: threading.Event | None = None,
) -> None:
    """Train (or resume) the model into `out`. When `stop` is set, save a checkpoint after the
    current step and raise Stopped."""
    if checkpoint_every < 1:
        raise ConfigError(f"--checkpoint-every must be 1 or more, not {checkpoint_every}")
    if not data.is_dir():
        raise ConfigError(f"the data folder {data} does not exist")
    paragraphs, data_sha = training_text(data)
    out.mkdir(parents=True, exist_ok=True)
    run = Run(out)
    checkpoint = out / CHECKPOINT_FILE
    trainer = NGramCounter()
    if checkpoint.is_file():
        saved = json.loads(checkpoint.read_text())
        if saved.get("data_sha256") == data_sha:
            trainer = NGramCounter(saved["trainer"])
            run.log(
                "resumed",
                f"resumed from checkpoint at step {trainer.step} of {len(paragraphs)}",
                step=trainer.step,
            )
        else:
            run.log("restarted", "the checkpoint is of other data: starting from step 0", step=0)
    if trainer.step == 0:
        run.log("started", f"training {model_id} on {len(paragraphs)} paragraphs", step=0)
    stop = stop or threading.Event()
    while trainer.step < len(paragraphs):
        trainer.add(paragraphs[trainer.step])
        stop.wait(step_delay)  # a step's work; SIGTERM ends the wait
        if stop.is_set() and trainer.step < len(paragraphs):
            _save_checkpoint(checkpoint, data_sha, trainer)
            run.log(
                "stopped",
                f"SIGTERM: checkpoint saved at step {trainer.step}, stopping",
                step=trainer.step,
            )
            raise Stopped(trainer.step)
        if trainer.step % checkpoint_every == 0 and trainer.step < len(paragraphs):
            _save_checkpoint(checkpoint, data_sha, trainer)
            run.log("checkpoint", f"checkpoint saved at step {trainer.step}", step=trainer.step)
    model = trainer.model()
    sha = save_model(
        out,
        model,
        model_id,
        data_sha,
        trained_on=f"{len(paragraphs)} paragraphs of {data}",
        steps=trainer.step,
    )
    checkpoint.unlink(missing_ok=True)
    run.log(
        "done",
        f"saved {model_id} ({len(model.vocab)} words, sha256 {sha[:12]}) to {out}",
        step=trainer.step,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="inference_server.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder of shard-*.txt files")
    p.add_argument("--out", type=Path, required=True, help="model folder, e.g. /models/NAME")
    p.add_argument("--model-id", help="name in config.json (default: the last two parts of OUT)")
    p.add_argument("--checkpoint-every", type=int, default=5, help="steps between checkpoints")
    p.add_argument("--step-delay", type=float, default=0.0, help="seconds per step (a slow GPU)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model_id = args.model_id or "/".join(args.out.parts[-2:])
    try:
        with stop_on_sigterm() as stop:
            train(args.data, args.out, model_id, args.checkpoint_every, args.step_delay, stop)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return BAD_CONFIG
    except Stopped:
        return STOPPED
    return 0


if __name__ == "__main__":
    sys.exit(main())
