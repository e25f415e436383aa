"""Equal inputs, byte-equal training outputs; and the validation cache changes no number.

The project's rule "the cache never lies" needs a re-run of a train stage to reproduce
every output file byte for byte: model.keras (Keras stamps a save date, memory addresses
and member dates into the zip) and variant.json (no wall-clock time in it any more).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from stages.core.config.variants import Train
from stages.core.models.checkpoint import Checkpoint, set_determinism, stable_keras
from stages.core.models.fit import build_compiled, fit
from stages.core.models.layouts import ArrayFeeds
from tests.test_resume import ENV, SHARED, dji_project

ARCH = {"layers": [{"type": "gru", "units": 4}], "head": {"units": 1}}


class Curves:
    """DVCLive's two calls, recorded."""

    def __init__(self):
        self.values: list[tuple[str, float]] = []

    def log_metric(self, name: str, value: float) -> None:
        self.values.append((name, value))

    def next_step(self) -> None:
        self.values.append(("step", 0.0))


def tiny_feeds(cfg: dict) -> ArrayFeeds:
    """A few windows of a sine: 21 training pairs (a partial last batch), 11 validation."""
    wave = np.sin(np.arange(48, dtype=np.float32) / 3)
    x = np.stack([wave[i : i + 6] for i in range(36)])[..., None]
    y = wave[6:42, None]
    return ArrayFeeds((x[:21], y[:21]), (x[21:32], y[21:32]), {"test": x[32:]}, cfg)


def curves(tmp_path: Path, **knobs) -> list[tuple[str, float]]:
    cfg = {"epochs": 3, "batch_size": 4, "checkpoint_every": 1e9, **knobs}
    feeds = tiny_feeds(cfg)
    set_determinism(7)
    model = build_compiled(ARCH, feeds, cfg, "test")
    live = Curves()
    fit(model, feeds, cfg, "test", 7, live, Checkpoint(tmp_path / "ckpt", "x"))
    return live.values


def test_cached_validation_logs_the_same_numbers(tmp_path):
    reference = curves(tmp_path, cache_validation=False)
    assert len(reference) == 9  # loss, val_loss and a step for each of 3 epochs
    assert curves(tmp_path) == reference  # validation pipeline built once (the default)


def test_cache_validation_is_a_checked_bool():
    assert (
        Train(epochs=1).cache_validation
        and not Train(epochs=1, cache_validation=False).cache_validation
    )
    with pytest.raises(ValueError, match="cache_validation"):
        Train(epochs=1, cache_validation="sometimes")


def test_stable_keras_drops_dates_and_addresses(tmp_path):
    import keras

    saved = []
    for i in range(2):  # two models built alike: other addresses, same names and weights
        keras.utils.clear_session()
        set_determinism(3)
        model = build_compiled(ARCH, tiny_feeds({}), {}, "test")
        raw, stable = tmp_path / f"raw{i}.keras", tmp_path / f"stable{i}.keras"
        model.save(raw)
        stable_keras(raw, stable)
        saved.append(stable.read_bytes())
    assert saved[0] == saved[1]
    with zipfile.ZipFile(tmp_path / "stable0.keras") as zf:
        assert "date_saved" not in json.loads(zf.read("metadata.json"))
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    loaded = keras.models.load_model(tmp_path / "stable0.keras")
    assert loaded.count_params() == model.count_params()


@pytest.mark.pipeline
@pytest.mark.skipif(not (SHARED / "DJI.csv").exists(), reason="needs DJI.csv in the mirror")
def test_a_train_stage_run_twice_writes_the_same_bytes(tmp_path):
    root = tmp_path / "p"
    dji_project(root, epochs=2)
    out = root / "models" / "dji" / "dji-gru" / "s42"
    runs = []
    for _ in range(2):  # two processes: other memory addresses, other clock
        subprocess.run(
            [sys.executable, "-m", "stages.train", "dji-gru-s42"], cwd=root, env=ENV, check=True
        )
        runs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert set(runs[0]) == {"model.keras", "weights.npz", "predictions.npz", "variant.json"}
    for name, data in runs[0].items():
        assert runs[1][name] == data, f"{name} differs between two equal runs"
    assert "train_seconds" not in json.loads(runs[0]["variant.json"])
    log = root / "logs" / "train" / "dji" / "dji-gru" / "s42.json"
    assert json.loads(log.read_text())["train_seconds"] > 0
