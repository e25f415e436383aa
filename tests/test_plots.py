"""The plots stage on small generated inputs in evaluate's and DVCLive's exact formats."""

import json

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

from stages import plots
from stages.core.io import StageError

PARAMS = {
    "tasks": {"demo": {"title": "Demo", "units": "things"}},
    "variants": {"demo-good": {"task": "demo"}, "demo-bad": {"task": "demo"}},
}
SPLITS = ["train"] * 30 + ["val"] * 10 + ["test"] * 10


def predictions(dates: bool) -> pd.DataFrame:
    idx = np.arange(len(SPLITS))
    actual = np.sin(idx / 4.0)
    frames = []
    for name, noise in (("demo-good", 0.01), ("demo-bad", 0.5), ("baseline:naive", 0.2)):
        frames.append(
            pd.DataFrame(
                {
                    "variant": name,
                    "split": SPLITS,
                    "idx": idx,
                    "date": pd.date_range("2000-01", periods=len(idx), freq="MS").strftime(
                        "%Y-%m-%d"
                    )
                    if dates
                    else "",
                    "actual": actual,
                    "predicted": actual + noise,
                }
            )
        )
    return pd.concat(frames)


METRICS = {
    "models": {
        "demo-good": {
            "test": {
                "rmse_orig": 0.01,
                "rmse_orig_ci95": [0.008, 0.012],
                "seeds": {"1": {"rmse_orig": 0.009}, "2": {"rmse_orig": 0.011}},
            }
        },
        "demo-bad": {"test": {"rmse_orig": 0.5, "seeds": {"1": {"rmse_orig": 0.5}}}},
    },
    "baselines": {"naive": {"test": {"rmse_orig": 0.2}}, "mean": {"test": {"rmse_orig": 0.7}}},
}


@pytest.fixture
def dirs(tmp_path):
    plots_dir, metrics_dir, live = tmp_path / "plots", tmp_path / "metrics", tmp_path / "live"
    (plots_dir / "demo").mkdir(parents=True)
    metrics_dir.mkdir()
    (metrics_dir / "demo.json").write_text(json.dumps(METRICS))
    for model, seeds in (("demo-good", ("s1", "s2")), ("demo-bad", ("s1",))):
        for seed in seeds:
            for split in ("train", "eval"):
                tsv = live / "demo" / model / seed / "plots" / "metrics" / split / "loss.tsv"
                tsv.parent.mkdir(parents=True)
                tsv.write_text("step\tloss\n0\t0.5\n1\t0.2\n2\t0.1\n")
    return plots_dir, metrics_dir, live


@pytest.mark.parametrize("dates", [True, False], ids=["dated", "indexed"])
def test_every_figure_is_a_png(dirs, dates):
    plots_dir, metrics_dir, live = dirs
    predictions(dates).to_csv(plots_dir / "demo" / "predictions.csv", index=False)
    written = plots.plot_task("demo", PARAMS["tasks"]["demo"], plots_dir, metrics_dir, live)
    assert [p.name for p in written] == ["forecast.png", "scores.png", "training_curves.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5000
    assert not list((plots_dir / "demo").glob("*.tmp"))


def test_x_axis_uses_dates_when_the_task_has_them(dirs):
    plots_dir = dirs[0]
    predictions(True).to_csv(plots_dir / "demo" / "predictions.csv", index=False)
    assert pd.api.types.is_datetime64_any_dtype(plots.load_predictions("demo", plots_dir)["x"])
    predictions(False).to_csv(plots_dir / "demo" / "predictions.csv", index=False)
    table = plots.load_predictions("demo", plots_dir)
    assert (table["x"] == table["idx"]).all()


def test_bars_say_who_beats_naive():
    fig = plots.rmse_figure(METRICS, "Demo", "things")
    ax = fig.axes[0]
    colours = {
        label.get_text(): mcolors.to_hex(bar.get_facecolor())
        for label, bar in zip(ax.get_yticklabels(), ax.patches, strict=True)
    }
    assert colours["demo-good"] == plots.BETTER
    assert colours["demo-bad"] == plots.WORSE
    assert colours["naive (baseline)"] == colours["mean (baseline)"] == plots.BASELINE
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "demo-good"  # best first


def test_missing_curves_name_the_file_and_keep_old_figures(dirs):
    plots_dir, metrics_dir, live = dirs
    predictions(True).to_csv(plots_dir / "demo" / "predictions.csv", index=False)
    old = plots_dir / "demo" / "forecast.png"
    old.write_bytes(b"previous figure")
    (live / "demo" / "demo-bad" / "s1" / "plots" / "metrics" / "train" / "loss.tsv").unlink()
    with pytest.raises(
        StageError, match=r"demo-bad/s1.*train/loss\.tsv.*dvc repro train@demo-bad-s1"
    ):
        plots.plot_task("demo", PARAMS["tasks"]["demo"], plots_dir, metrics_dir, live)
    assert old.read_bytes() == b"previous figure"


def test_missing_predictions_say_which_stage_to_run(tmp_path):
    with pytest.raises(StageError, match=r"predictions\.csv.*dvc repro evaluate@demo"):
        plots.load_predictions("demo", tmp_path)
