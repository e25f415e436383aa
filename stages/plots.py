"""Stage `plots@<task>`: the figures people look at, rendered from evaluate's outputs.

Writes plots/<task>/forecast.png (actual vs every model over all splits, with the splits
marked, plus a zoom on the test part against the reference baseline: seed 001's figure,
and seed 003's sin -> cos comparison), scores.png (test RMSE of every model and
baseline, coloured by whether it beats the reference: naive persistence, or the training
mean when the target is never observed) and training_curves.png (per-epoch loss
from DVCLive). No TensorFlow: this reads CSV, JSON and TSV only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from stages.core.baselines import simple
from stages.core.config.entry import stage_cli
from stages.core.io import (
    LIVE_DIR,
    METRICS_DIR,
    PLOTS_DIR,
    StageError,
    load_metrics,
)
from stages.core.report.figures import ci_errors, curves_figure, plt, save, seeds_of
from stages.core.scoring.metrics import best_baseline_name

SPLIT_COLOURS = {"train": "#f2f2f2", "val": "#fff3d6", "test": "#e3f0ff"}
BETTER, WORSE, BASELINE = "#2e8b57", "#c0392b", "#9e9e9e"
REFERENCE_LABELS = {"naive": "naive persistence (last observed value)", "mean": "training mean"}
ZOOM_POINTS = 400  # test targets shown in the zoom: all of a monthly series, ~2 sine periods


def load_predictions(task: str, plots_dir: Path = PLOTS_DIR) -> pd.DataFrame:
    """evaluate's long table, with an `x` column: dates when the task has them, else index."""
    path = plots_dir / task / "predictions.csv"
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro evaluate@{task}` first.")
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = {"variant", "split", "idx", "actual", "predicted"} - set(table.columns)
    if missing:
        raise StageError(
            f"{path}: missing columns {sorted(missing)}. Re-run `dvc repro evaluate@{task}`."
        )
    dates = pd.to_datetime(table.get("date"), errors="coerce")
    table["x"] = dates if dates.notna().all() else table["idx"]
    return table


def shade_splits(ax: plt.Axes, actual: pd.DataFrame) -> None:
    """Background band per split, so train / val / test read at a glance."""
    for split, part in actual.groupby("split", sort=False):
        ax.axvspan(part["x"].min(), part["x"].max(), color=SPLIT_COLOURS.get(split), zorder=0)
        ax.text(
            part["x"].min(),
            1.0,
            f" {split}",
            transform=ax.get_xaxis_transform(),
            va="top",
            fontsize=8,
            color="#555555",
        )


def forecast_figure(
    table: pd.DataFrame,
    title: str,
    units: str,
    models: list[str],
    ref: str = "naive",
    zoom_cfg: dict | None = None,
) -> plt.Figure:
    """Top: the whole series with every model; bottom: part of the test split, with the
    reference baseline (tasks.<task>.plot.zoom: {points, at: start|end} picks which part)."""
    zoom_cfg = zoom_cfg or {}
    table = table.sort_values("idx")
    actual = table.drop_duplicates("idx")
    test = actual[actual["split"] == "test"]
    points = int(zoom_cfg.get("points", ZOOM_POINTS))
    test = test.tail(points) if zoom_cfg.get("at", "start") == "end" else test.head(points)
    fig, (full, zoom) = plt.subplots(2, 1, figsize=(11, 7.5), height_ratios=[1, 1])
    shade_splits(full, actual)
    full.plot(actual["x"], actual["actual"], color="black", lw=0.9, label="actual")
    zoom.plot(test["x"], test["actual"], color="black", lw=1.4, label="actual")
    for model in models:
        rows = table[table["variant"] == model]
        full.plot(rows["x"], rows["predicted"], lw=0.9, label=model)
        rows = rows[rows["idx"].isin(test["idx"])]
        zoom.plot(rows["x"], rows["predicted"], lw=1.2, label=model)
    base = table[(table["variant"] == f"baseline:{ref}") & table["idx"].isin(test["idx"])]
    zoom.plot(base["x"], base["predicted"], color=BASELINE, ls="--", lw=1.2, label=ref)
    full.set_title(f"{title}: actual vs predicted, all splits")
    shown = (
        "Test split"
        if len(test) == (actual["split"] == "test").sum()
        else f"{'Last' if zoom_cfg.get('at') == 'end' else 'First'} {len(test)} test targets"
    )
    zoom.set_title(f"{shown}, against {REFERENCE_LABELS.get(ref, ref)}")
    for ax in (full, zoom):
        ax.set_ylabel(units)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, ncol=4)
    fig.tight_layout()
    return fig


def rmse_figure(
    metrics: dict[str, Any], title: str, units: str, ref: str = "naive", metric: str = "rmse_orig"
) -> plt.Figure:
    """Horizontal bars of a test metric (tasks.<task>.plot.bar_metric, RMSE by default): models
    green when they beat the reference baseline, red when not; a dotted line at the
    strongest baseline, the one the verdict tests against."""
    limit = metrics["baselines"][ref]["test"][metric]
    rows = [(name, s["test"], "model") for name, s in metrics["models"].items()]
    rows += [(name, s["test"], "baseline") for name, s in metrics["baselines"].items()]
    rows.sort(key=lambda row: row[1][metric])
    colours = [
        BASELINE if kind == "baseline" else BETTER if e[metric] < limit else WORSE
        for _, e, kind in rows
    ]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    names = [name if kind == "model" else f"{name} (baseline)" for name, _, kind in rows]
    entries = [e for _, e, _ in rows]
    bars = ax.barh(
        names, [e[metric] for e in entries], color=colours,
        xerr=ci_errors(entries, metric), capsize=3, error_kw={"lw": 1},
    )  # fmt: skip
    ax.bar_label(bars, fmt="%.4g", padding=3, fontsize=8)
    ax.axvline(limit, color="black", ls="--", lw=1)
    strongest = best_baseline_name(metrics["baselines"], "forecast", "test", None)
    dotted = ""
    if strongest and strongest != ref:
        ax.axvline(metrics["baselines"][strongest]["test"][metric], color="#1f4e99", ls=":", lw=1.5)
        dotted = f"; dotted: strongest baseline ({strongest})"
    ax.invert_yaxis()
    label = metric.removesuffix("_orig").upper()
    ax.set_xlabel(
        f"test {label} ({units}), lower is better; dashed: {REFERENCE_LABELS.get(ref, ref)}{dotted}"
    )
    ax.set_title(
        f"{title}\ngreen beats {ref}, red does not, grey: baselines; whiskers: 95 % CI over seeds",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_task(
    task: str,
    cfg: dict,
    plots_dir: Path = PLOTS_DIR,
    metrics_dir: Path = METRICS_DIR,
    live_root: Path = LIVE_DIR,
) -> list[Path]:
    """Render the three figures of a task; returns their paths."""
    title, units = cfg.get("title", task), cfg.get("units", "")
    plot_cfg = cfg.get("plot") or {}
    ref = simple.reference(cfg)
    metrics = load_metrics(task, metrics_dir)
    if "unavailable" in metrics:
        return placeholders(plots_dir / task, title, metrics["unavailable"])
    models = list(metrics["models"])
    table = load_predictions(task, plots_dir)
    out = plots_dir / task
    figures = {
        "forecast.png": forecast_figure(table, title, units, models, ref, plot_cfg.get("zoom")),
        "scores.png": rmse_figure(
            metrics, title, units, ref, plot_cfg.get("bar_metric", "rmse_orig")
        ),
        "training_curves.png": curves_figure(task, seeds_of(metrics), live_root),
    }
    for name, fig in figures.items():
        save(fig, out / name)
        print(f"plots {task}: wrote {out / name}")
    return [out / name for name in figures]


def placeholders(out: Path, title: str, reason: str) -> list[Path]:
    """Figures that say why there is nothing to plot, instead of missing files."""
    paths = [out / name for name in ("forecast.png", "scores.png", "training_curves.png")]
    for path in paths:
        fig, ax = plt.subplots(figsize=(8, 2.5))
        ax.axis("off")
        ax.text(0.5, 0.6, f"{title}: data unavailable, study skipped", ha="center", fontsize=12)
        short = reason[:150] + ("..." if len(reason) > 150 else "")
        ax.text(0.5, 0.3, short, ha="center", fontsize=7, wrap=True)
        save(fig, path)
    print(f"plots {out.name}: data unavailable, wrote placeholder figures")
    return paths


if __name__ == "__main__":
    stage_cli("plots", "tasks", lambda task, cfg, _params: plot_task(task, cfg))
