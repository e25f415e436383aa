"""Resume after a kill: the fit continues from its checkpoint and ends with the same bytes.

Every epoch is reseeded from (seed, epoch) and the checkpoint holds the whole model with
its optimizer state, so a run killed after epoch k and resumed equals an uninterrupted
run: same predictions (byte for byte), same curves, same DVCLive summary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages.core.models.checkpoint import Checkpoint
from stages.core.models.fit import update
from tests.data import MIRROR

ROOT = Path(__file__).resolve().parents[1]
SHARED = MIRROR
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_early_stopping_counts_epochs_without_improvement():
    state = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "stopped": False, "logs": []}
    for loss in (1.0, 0.8, 0.85):
        assert not state["stopped"]
        update(state, {"val_loss": loss}, True, patience=2, min_delta=0.02)
    assert state["best_epoch"] == 2 and state["wait"] == 1
    # 0.79 is the best so far (kept for restore_best) but not better than 0.8 by min_delta
    assert update(state, {"val_loss": 0.79}, True, patience=2, min_delta=0.02)
    assert state["best_epoch"] == 4 and state["wait"] == 2 and state["stopped"]
    assert [logs["val_loss"] for logs in state["logs"]] == [1.0, 0.8, 0.85, 0.79]


def test_a_checkpoint_for_another_fingerprint_is_discarded(tmp_path, capsys):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "last-3.keras").write_text("x")
    (folder / "state.json").write_text(json.dumps({"fingerprint": "old", "last": "last-3.keras"}))
    assert Checkpoint(folder, "old").load()["last"] == "last-3.keras"
    assert Checkpoint(folder, "new").load() is None
    assert "starting over" in capsys.readouterr().out and not folder.exists()


def dji_project(root: Path, epochs: int) -> None:
    """The smoke profile's dji-gru with dropout, more epochs to kill, and prepared data."""
    from stages.prepare import prepare_task
    from stages.profile import compose

    root.mkdir(parents=True)
    compose("smoke", output=root / "params.yaml")
    params = yaml.safe_load((root / "params.yaml").read_text())
    variant = params["variants"]["dji-gru"]
    variant["model"]["layers"] = [{"type": "gru", "units": 16, "dropout": 0.2}]
    variant["train"].update(epochs=epochs, early_stopping=None, checkpoint_every=0)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    raw = root / "data" / "raw" / "dji"
    raw.mkdir(parents=True)
    (raw / "DJI.csv").write_bytes((SHARED / "DJI.csv").read_bytes())
    prepare_task("dji", params["tasks"]["dji"], root / "data" / "raw", root / "data" / "prepared")


def start(root: Path, stage: str, name: str) -> subprocess.Popen:
    """`python -m stages.<stage> <name>` in `root`, output to a log file (a pipe nobody
    reads would fill up and stall the child)."""
    with open(root / "train.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", f"stages.{stage}", name],
            cwd=root,
            env=ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def finish(proc: subprocess.Popen, root: Path) -> str:
    proc.wait(timeout=900)
    out = (root / "train.log").read_text()
    assert proc.returncode == 0, out
    return out


def outputs(root: Path, task: str, name: str, seed: int = 42) -> dict[str, bytes]:
    """Every file of the train stage's two outs (dvc.yaml), model.keras included: DVC
    hashes each byte, so a resumed run must match an uninterrupted one in all of them."""
    outs = [root / "models" / task / name / f"s{seed}"]
    outs.append(root / "metrics" / "train" / task / name / f"s{seed}")
    files = sorted(path for out in outs for path in out.rglob("*") if path.is_file())
    return {str(path.relative_to(root)): path.read_bytes() for path in files}


@pytest.mark.pipeline
@pytest.mark.skipif(not (SHARED / "DJI.csv").exists(), reason="needs DJI.csv in the mirror")
def test_forecast_training_killed_with_sigkill_resumes_to_the_same_bytes(tmp_path):
    epochs = 25
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    for root in (killed, whole):
        dji_project(root, epochs)
    uninterrupted = start(whole, "train", "dji-gru-s42")
    state = killed / "checkpoints" / "dji" / "dji-gru" / "s42" / "state.json"
    proc = start(killed, "train", "dji-gru-s42")
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 2 <= done < epochs
    assert not (killed / "models" / "dji" / "dji-gru" / "s42" / "predictions.npz").exists()
    out = finish(start(killed, "train", "dji-gru-s42"), killed)
    assert f"resuming from checkpoints/dji/dji-gru/s42 after epoch {done}" in out
    assert f"epoch {done + 1}/{epochs}" in out and "epoch 1/" not in out
    assert not state.parent.exists()  # the resume point is gone once the outputs are written
    finish(uninterrupted, whole)
    ours, reference = outputs(killed, "dji", "dji-gru"), outputs(whole, "dji", "dji-gru")
    assert ours.keys() == reference.keys() and len(ours) >= 6
    assert "models/dji/dji-gru/s42/model.keras" in ours
    for name, data in reference.items():
        assert ours[name] == data, f"{name} differs after resume"


def book_project(root: Path, epochs: int) -> dict:
    """A minimal character task: params.yaml and a prepared book-like text."""
    from stages.prepare_text import prepare_text_task

    rng = np.random.default_rng(1)
    words = ["the ", "prince ", "said ", "natasha ", "war ", "and ", "peace ", ".\n"]
    raw = root / "data" / "raw" / "book"
    raw.mkdir(parents=True)
    (raw / "book.txt").write_text("".join(rng.choice(words, 6000)))
    task = {"kind": "charlm", "dataset": "book", "file": "book.txt", "val_fraction": 0.1}
    variant = {
        "task": "book",
        "inputs": {"seq_length": 20},
        "model": {
            "layers": [
                {"type": "embedding", "output_dim": 4},
                {"type": "simple_rnn", "units": 8},
                {"type": "dropout", "rate": 0.3},
            ],
            "head": {"activation": "softmax"},
            "sequence_output": True,
        },
        "train": {
            "optimizer": "rmsprop",
            "loss": "sparse_categorical_crossentropy",
            "epochs": epochs,
            "batch_size": 64,
            "restore_best": True,
            "checkpoint_every": 0,
        },
        "sample": {"seed_text": "the ", "length": 20, "temperatures": [0, 1.0]},
    }
    params = {
        "seed": 3,
        "seeds": [3],
        "text_tasks": {"book": task},
        "text_variants": {"book-rnn": variant},
        "text_runs": {"book-rnn-s3": {"variant": "book-rnn", "task": "book", "seed": 3}},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    prepare_text_task("book", task, 3, root / "data" / "raw", root / "data" / "prepared")
    return params


def train_book(root: Path, params: dict, crash_after: int | None = None) -> None:
    """Train the book variant in-process; optionally die after an epoch, like a kill.

    Keras' session is cleared first, as a stage's own process starts: layer names count
    up per process (sequential, sequential_1, ...) and model.keras records them.
    """
    import keras

    from stages import train_text

    keras.utils.clear_session()
    hooks = train_text.sampling_hooks

    def crashing(*args):
        on_epoch, extras = hooks(*args)

        def crash(model, epoch):
            if crash_after is not None and epoch + 1 == crash_after:
                raise KeyboardInterrupt
            on_epoch(model, epoch)

        return crash, extras

    run = params["text_runs"]["book-rnn-s3"]
    dirs = {
        "prepared": root / "data" / "prepared",
        "models": root / "models",
        "live_root": root / "metrics" / "train",
        "checkpoints": root / "checkpoints",
    }
    train_text.sampling_hooks = crashing
    try:
        train_text.train("book-rnn-s3", run, params, **dirs)
    finally:
        train_text.sampling_hooks = hooks


def test_text_training_interrupted_resumes_to_the_same_bytes(tmp_path):
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    params = book_project(killed, 4)
    book_project(whole, 4)
    with pytest.raises(KeyboardInterrupt):
        train_book(killed, params, crash_after=2)
    folder = killed / "checkpoints" / "book" / "book-rnn" / "s3"
    state = json.loads((folder / "state.json").read_text())
    assert state["epoch"] == 1  # the crash came before epoch 2's checkpoint was written
    train_book(killed, params)
    train_book(whole, params)
    ours, reference = outputs(killed, "book", "book-rnn", 3), outputs(whole, "book", "book-rnn", 3)
    assert ours.keys() == reference.keys() and "models/book/book-rnn/s3/model.keras" in ours
    for name, data in reference.items():
        assert ours[name] == data, f"{name} differs after resume"
    samples = [
        (root / "models/book/book-rnn/s3/samples.json").read_text() for root in (killed, whole)
    ]
    assert samples[0] == samples[1]
    assert [s["temperature"] for s in json.loads(samples[0])["samples"]] == [0.0, 1.0]
