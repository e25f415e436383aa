"""Jena climate (seed 002) on generated files in the real schema: reading and cleaning,
windows and naive baseline against straight ports of the seed, a tiny end-to-end run, and
the offline path (dataset unavailable -> every stage skips, no numbers)."""

import json

import numpy as np
import pytest

from stages import download
from stages.core.baselines import simple as baselines
from stages.core.data import windows
from stages.core.io import StageError
from stages.datasets import jena
from stages.prepare import prepare_task
from tests import jena_fake

LOOKBACK, STEP, DELAY, BATCH = 144, 6, 24, 32


def seed_generator(data, lookback, delay, min_index, max_index, shuffle=False, batch_size=128,
                   step=6):  # fmt: skip
    """Seed 002's generator, verbatim apart from layout."""
    if max_index is None:
        max_index = len(data) - delay - 1
    i = min_index + lookback
    while True:
        if shuffle:
            rows = np.random.randint(min_index + lookback, max_index, size=batch_size)
        else:
            if i + batch_size >= max_index:
                i = min_index + lookback
            rows = np.arange(i, min(i + batch_size, max_index))
            i += len(rows)
        samples = np.zeros((len(rows), lookback // step, data.shape[-1]))
        targets = np.zeros((len(rows),))
        for j, row in enumerate(rows):  # noqa: B007 (verbatim)
            indices = range(rows[j] - lookback, rows[j], step)
            samples[j] = data[indices]
            targets[j] = data[rows[j] + delay][1]
        yield samples, targets


def seed_evaluate_naive_method(val_gen, val_steps):
    """Seed 002's evaluate_naive_method, verbatim apart from taking its globals."""
    batch_maes = []
    for _ in range(val_steps):
        samples, targets = next(val_gen)
        preds = samples[:, -1, 1]
        mae = np.mean(np.abs(preds - targets))
        batch_maes.append(mae)
    return np.mean(batch_maes)


def task_cfg():
    return {
        "dataset": "jena",
        "file": "jena_climate_2009_2016.csv.zip",
        "target": "T (degC)",
        "transform": {"scaler": "standard", "fit_rows": 2000},
        "window": {
            "layout": "indexed",
            "lookback": LOOKBACK,
            "step": STEP,
            "delay": DELAY,
            "batch_size": BATCH,
            "train": [0, 2000],
            "val": [2001, 3000],
            "test": [3001, None],
            "train_eval_every": 5,
            "reference_windows": 16,
        },
        "season": None,
        "plot": {"every": 4, "bar_metric": "mae_orig"},
    }


@pytest.fixture
def standardized():
    data = jena_fake.frame(4000)[jena.COLUMNS].to_numpy(np.float64)
    data = jena.clean(data, "fake")
    return (data - data[:2000].mean(axis=0)) / data[:2000].std(axis=0)


@pytest.mark.parametrize("max_index", [3000, None])
def test_windows_equal_the_seed_generator_sample_for_sample(standardized, max_index):
    rows = windows.indexed_rows(2001, max_index, LOOKBACK, DELAY, len(standardized))
    gen = seed_generator(
        standardized, LOOKBACK, DELAY, 2001, max_index, batch_size=BATCH, step=STEP
    )
    for b in range(len(rows) // BATCH - 1):  # the seed wraps before its last partial batch
        samples, targets = next(gen)
        batch = rows[b * BATCH : (b + 1) * BATCH]
        np.testing.assert_array_equal(
            windows.gather_windows(standardized, batch, LOOKBACK, STEP), samples
        )
        np.testing.assert_array_equal(standardized[batch + DELAY, 1], targets)


def test_naive_baseline_equals_the_seed_port(standardized):
    val_steps = (3000 - 2001 - LOOKBACK) // BATCH
    gen = seed_generator(standardized, LOOKBACK, DELAY, 2001, 3000, batch_size=BATCH, step=STEP)
    seed_mae = seed_evaluate_naive_method(gen, val_steps)
    rows = windows.indexed_rows(2001, 3000, LOOKBACK, DELAY, len(standardized))[: val_steps * BATCH]
    target = standardized[:, 1]
    ours = baselines.naive(target, rows + DELAY, DELAY + STEP)  # meta horizon = delay + step
    assert np.mean(np.abs(ours - target[rows + DELAY])) == pytest.approx(seed_mae, rel=1e-12)


def test_prepare_reads_the_zip_cleans_sentinels_and_stores_no_windows(tmp_path, capsys):
    jena_fake.write_zip(tmp_path / "raw" / "jena" / "jena_climate_2009_2016.csv.zip", 4000)
    counts = prepare_task("jena", task_cfg(), tmp_path / "raw", tmp_path / "prep")
    assert counts == {
        "train": 2000 - LOOKBACK,
        "val": 999 - LOOKBACK,
        "test": 4000 - DELAY - 1 - 3001 - LOOKBACK,
    }
    assert "wv (m/s): 3 sentinel value(s) -9999 set to 0 m/s" in capsys.readouterr().out
    series = np.load(tmp_path / "prep" / "jena" / "series.npz")
    assert series["scaled"].min() > -50  # no sentinel survived standardisation
    np.testing.assert_allclose(series["scaled"][:2000].mean(axis=0), 0, atol=1e-5)
    train = np.load(tmp_path / "prep" / "jena" / "train.npz")
    assert len(train["eval_rows"]) == len(train["rows"][::5]) and train["x"].shape == (16, 24, 14)
    meta = json.loads((tmp_path / "prep" / "jena" / "meta.json").read_text())
    assert "window" not in meta  # fitted facts only; settings come from params
    assert windows.horizon(task_cfg()["window"]) == DELAY + STEP


def test_bad_dates_and_columns_name_the_line(tmp_path):
    fake = jena_fake.frame(50)
    fake.loc[7, jena.DATE] = "2009-01-01 01:20:00"
    path = tmp_path / "j.csv"
    fake.to_csv(path, index=False)
    with pytest.raises(StageError, match=r"j\.csv: line 9, column 'Date Time'"):
        jena.read(path)
    fake.drop(columns=["wd (deg)"]).to_csv(path, index=False)
    with pytest.raises(StageError, match=r"missing column\(s\) \['wd \(deg\)'\]"):
        jena.read(path)


def test_tiny_end_to_end_gru_with_numpy_check(tmp_path):
    from stages.evaluate import evaluate_task
    from stages.plots import plot_task
    from stages.train import train

    jena_fake.write_zip(tmp_path / "raw" / "jena" / "jena_climate_2009_2016.csv.zip", 4000)
    prepare_task("jena", task_cfg(), tmp_path / "raw", tmp_path / "prep")
    variant = {
        "task": "jena",
        "reverse": True,
        "model": {"layers": [{"type": "gru", "units": 4}], "head": {"units": 1}},
        "train": {"optimizer": "rmsprop", "loss": "mae", "epochs": 2, "steps_per_epoch": 3,
                  "restore_best": True},
    }  # fmt: skip
    dirs = {"prepared": tmp_path / "prep", "models": tmp_path / "models"}
    params = {"tasks": {"jena": task_cfg()}, "variants": {"jena-gru": variant}}
    run = {"variant": "jena-gru", "task": "jena", "seed": 1}
    train("jena-gru-s1", run, params, live_root=tmp_path / "live",
          checkpoints=tmp_path / "ckpt", **dirs)  # fmt: skip
    assert not (tmp_path / "ckpt" / "jena" / "jena-gru" / "s1").exists()  # removed once done
    out = evaluate_task(
        "jena", task_cfg(), [1], metrics_dir=tmp_path / "m", plots_dir=tmp_path / "p", **dirs
    )
    test = out["models"]["jena-gru"]["test"]
    assert np.isfinite(test["mae_orig"]) and test["numpy_max_abs_diff"] <= 1e-5
    assert test["count"] == 4000 - DELAY - 1 - 3001 - LOOKBACK
    assert set(out["baselines"]) == {"naive", "mean"}
    paths = plot_task("jena", task_cfg(), tmp_path / "p", tmp_path / "m", tmp_path / "live")
    assert all(p.stat().st_size > 5000 for p in paths)


def test_a_diverged_training_fails_clearly_and_saves_nothing(tmp_path):
    """A learning rate that sends the loss to NaN / inf: one error naming the params key
    and the usual fixes, no model folder (TerminateOnNaN ends the epoch early)."""
    from stages.train import train

    jena_fake.write_zip(tmp_path / "raw" / "jena" / "jena_climate_2009_2016.csv.zip", 4000)
    prepare_task("jena", task_cfg(), tmp_path / "raw", tmp_path / "prep")
    variant = {
        "task": "jena",
        "model": {"layers": [{"type": "simple_rnn", "units": 4, "activation": "relu"}],
                  "head": {"units": 1}},
        "train": {"optimizer": "sgd", "learning_rate": 1e30, "loss": "mse", "epochs": 3,
                  "steps_per_epoch": 3},
    }  # fmt: skip
    params = {"tasks": {"jena": task_cfg()}, "variants": {"jena-rnn": variant}}
    run = {"variant": "jena-rnn", "task": "jena", "seed": 1}
    with pytest.raises(StageError, match=r"variants\.jena-rnn\.train: training diverged in "
                       r"epoch 1 .*Lower learning_rate"):  # fmt: skip
        train("jena-rnn-s1", run, params, tmp_path / "prep", tmp_path / "models",
              tmp_path / "live", checkpoints=tmp_path / "ckpt")  # fmt: skip
    assert not (tmp_path / "models" / "jena" / "jena-rnn").exists()


def test_unreachable_optional_dataset_skips_every_stage_without_numbers(tmp_path):
    from stages.evaluate import evaluate_task
    from stages.plots import plot_task
    from stages.report import render
    from stages.train import train

    entry = {"optional": True, "files": [{"name": "jena_climate_2009_2016.csv.zip", "urls": []}]}
    assert download.download_dataset("jena", entry, tmp_path / "raw", mirror=str(tmp_path)) == []
    assert "could not get jena" in (tmp_path / "raw" / "jena" / "UNAVAILABLE.json").read_text()
    assert prepare_task("jena", task_cfg(), tmp_path / "raw", tmp_path / "prep") == {}
    variant = {
        "task": "jena",
        "model": {"layers": [{"type": "gru", "units": 2}], "head": {"units": 1}},
        "train": {"epochs": 1},
    }
    params = {"tasks": {"jena": task_cfg()}, "variants": {"jena-gru": variant}}
    run = {"variant": "jena-gru", "task": "jena", "seed": 1}
    train("jena-gru-s1", run, params, tmp_path / "prep", tmp_path / "models", tmp_path / "live")
    metrics = evaluate_task("jena", task_cfg(), [1], tmp_path / "prep", tmp_path / "models",
                            tmp_path / "m", tmp_path / "p")  # fmt: skip
    assert set(metrics) == {"unavailable"}
    assert set(json.loads((tmp_path / "live/jena/jena-gru/s1/metrics.json").read_text())) == {
        "unavailable"
    }
    figures = plot_task("jena", task_cfg(), tmp_path / "p", tmp_path / "m", tmp_path / "live")
    assert len(figures) == 3
    assert "| jena | _not run: raw data unavailable here_" in render(params, tmp_path / "m")
    with pytest.raises(StageError):  # a dataset that is not optional still fails loudly
        download.download_dataset(
            "jena", {**entry, "optional": False}, tmp_path / "r2", mirror=str(tmp_path)
        )
