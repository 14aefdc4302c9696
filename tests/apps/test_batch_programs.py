"""The programs lab 10's Jobs run: data shards, the checkpointing trainer, the evaluation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .procs import APPS

sys.path.insert(0, str(APPS / "inference"))

from inference_server import evaluate, shards, train
from inference_server.model import CORPUS, NGramCounter, NGramModel, load_or_create

ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(APPS / "inference")}


def program(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"inference_server.{module}", *args],
        capture_output=True,
        text=True,
        env={**ENV, **(env or {})},
        timeout=60,
    )


def make_shards(data: Path, count: int = 3) -> None:
    for index in range(count):
        done = program("shards", "--out", str(data), "--shards", str(count), "--index", str(index))
        assert done.returncode == 0, done.stderr


def test_shards_split_the_text_without_loss_or_overlap():
    texts = ["One two three four five.\n\nshort\n\n" + "Six  seven\neight nine ten.\n\n" * 2]
    texts.append("Eleven twelve thirteen fourteen fifteen.")
    kept = [shards.shard(texts, i, 2) for i in range(2)]
    six, eleven = "Six seven eight nine ten.", "Eleven twelve thirteen fourteen fifteen."
    assert kept[0] == (["One two three four five.", six, eleven], _d(0, 0))
    assert kept[1] == ([six], _d(0, 1))  # "short" is a fragment; paragraph p goes to shard p % 2
    assert shards.shard([texts[0] + "\n\n" + texts[0]], 0, 1)[1] == _d(4, 2)
    with pytest.raises(ValueError):
        shards.shard(texts, 2, 2)


def _d(duplicates: int, fragments: int) -> dict:
    return {"duplicates": duplicates, "fragments": fragments}


def test_the_shards_cover_every_paragraph_once(tmp_path: Path):
    make_shards(tmp_path)
    texts = [s.read_text() for s in shards.SOURCES]
    wanted = {shards.clean(p) for p in shards.paragraphs(texts)}
    got = []
    for index in range(3):
        got += (tmp_path / f"shard-{index}-of-3.txt").read_text().strip().split("\n\n")
        report = json.loads((tmp_path / f"shard-{index}-of-3.json").read_text())
        assert report["index"] == index and report["paragraphs"] > 0
    assert sorted(got) == sorted(wanted)


def test_shards_read_the_index_an_indexed_job_sets(tmp_path: Path):
    done = program(
        "shards", "--out", str(tmp_path), "--shards", "2", env={"JOB_COMPLETION_INDEX": "1"}
    )
    assert done.returncode == 0 and "shard 1 of 2" in done.stdout
    assert (tmp_path / "shard-1-of-2.txt").is_file()
    assert program("shards", "--out", str(tmp_path), "--shards", "2").returncode == 2
    bad = program("shards", "--out", str(tmp_path), "--shards", "2", "--index", "2")
    assert bad.returncode == 2 and "not in 0..1" in bad.stderr


def test_training_resumed_from_a_checkpoint_state_equals_one_run():
    text = CORPUS.read_text()
    counter = NGramCounter()
    for paragraph in (p.strip() for p in text.split("\n\n") if p.strip()):
        counter.add(paragraph)
        if counter.step == 7:  # through a checkpoint and back
            counter = NGramCounter(json.loads(json.dumps(counter.state())))
    assert counter.step > 7
    assert counter.model().to_json() == NGramModel.train(text).to_json()


def test_a_killed_training_resumes_from_its_checkpoint(tmp_path: Path):
    data, out, fresh = tmp_path / "data", tmp_path / "models" / "v2", tmp_path / "fresh"
    make_shards(data)
    args = ["--data", str(data), "--checkpoint-every", "4"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inference_server.train",
            *args,
            "--out",
            str(out),
            "--step-delay",
            "0.05",
        ],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (out / train.CHECKPOINT_FILE).is_file():
        assert time.monotonic() < deadline and proc.poll() is None, "no checkpoint written"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # what the kubelet does to a deleted Pod's container
    assert proc.wait(10) == train.STOPPED == 143  # at once: a checkpoint, then the exit code
    saved = json.loads((out / train.CHECKPOINT_FILE).read_text())["trainer"]["step"]
    assert f"SIGTERM: checkpoint saved at step {saved}, stopping" in proc.stdout.read()

    again = program("train", *args, "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"resumed from checkpoint at step {saved} of " in again.stdout
    assert not (out / train.CHECKPOINT_FILE).exists()
    events = [json.loads(line)["event"] for line in (out / train.LOG_FILE).read_text().splitlines()]
    assert events[0] == "started" and events[-1] == "done"
    assert events.index("stopped") + 1 == events.index("resumed")

    assert program("train", *args, "--out", str(fresh)).returncode == 0
    assert (out / "model.json").read_bytes() == (fresh / "model.json").read_bytes()
    config = json.loads((out / "config.json").read_text())
    assert config["model_id"] == "models/v2" and config["steps"] == 37


def test_a_bad_configuration_exits_2(tmp_path: Path):
    make_shards(tmp_path / "data")
    out = str(tmp_path / "out")
    zero = program(
        "train", "--data", str(tmp_path / "data"), "--out", out, "--checkpoint-every", "0"
    )
    assert zero.returncode == 2 and "--checkpoint-every must be 1 or more" in zero.stderr
    missing = program("train", "--data", str(tmp_path / "nothing"), "--out", out)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = program("train", "--data", str(tmp_path), "--out", out)
    assert empty.returncode == 2 and "no shard-*.txt files" in empty.stderr
    assert "Traceback" not in zero.stderr + missing.stderr + empty.stderr


def test_the_new_version_beats_the_old_on_held_out_text(tmp_path: Path):
    models = tmp_path / "models"
    make_shards(tmp_path / "data")
    assert train.main(["--data", str(tmp_path / "data"), "--out", str(models / "org/v2")]) == 0
    done = program(
        "evaluate",
        "--models",
        str(models),
        "--out",
        str(models / "metrics"),
        "--baseline",
        "docker2k8s/tiny-ngram",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((models / "metrics" / "summary.json").read_text())
    v1, v2 = summary["models"]["docker2k8s/tiny-ngram"], summary["models"]["org/v2"]
    assert v2["accuracy"] > v1["accuracy"] and v2["perplexity"] < v1["perplexity"]
    assert v1["unknown_rate"] > v2["unknown_rate"] == 0
    assert json.loads((models / "metrics" / "v2.json").read_text()) == v2
    # The server loads the new version from its folder like any model files.
    assert load_or_create(models / "org/v2", "org/v2").source == "loaded"


def test_evaluate_needs_a_model(tmp_path: Path):
    done = program("evaluate", "--models", str(tmp_path), "--out", str(tmp_path / "metrics"))
    assert done.returncode == 2 and "no model" in done.stderr
    assert evaluate.score(NGramModel.train(CORPUS.read_text()), "A pod runs.")["words"] == 5
