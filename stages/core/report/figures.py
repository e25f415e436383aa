"""Figure helpers every plots stage shares: atomic PNG writes and DVCLive training curves.

matplotlib only (Agg backend, files only): no TensorFlow, no display.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, and no GUI toolkit import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from stages.core.io import LIVE_DIR, StageError, atomic_path, live_dir  # noqa: E402


def save(fig: plt.Figure, path: Path) -> None:
    """Write a PNG atomically, so a failed render never leaves a broken image behind."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def read_loss(path: Path) -> pd.DataFrame | None:
    """One DVCLive loss TSV (step, loss), or None when that curve was not logged."""
    return pd.read_csv(path, sep="\t") if path.exists() else None


def curves_figure(
    task: str, models: dict[str, list[int]], live_root: Path = LIVE_DIR
) -> plt.Figure:
    """Train and validation loss per epoch, one panel per variant, every seed (the first
    drawn bold, the others faint), log scale."""
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), squeeze=False)
    for ax, (model, seeds) in zip(axes[0], models.items(), strict=True):
        for i, seed in enumerate(seeds):
            draw_seed(ax, live_dir(task, model, seed, live_root), model, seed, first=i == 0)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"{model} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def draw_seed(ax: plt.Axes, live: Path, model: str, seed: int, first: bool) -> None:
    """One seed's train and validation curves and, for the first seed, its best epoch."""
    base = live / "plots" / "metrics"
    curves = {split: read_loss(base / split / "loss.tsv") for split in ("train", "eval")}
    if curves["train"] is None:
        raise StageError(
            f"{base / 'train' / 'loss.tsv'}: not found. "
            f"Run `dvc repro train@{model}-s{seed}` first."
        )
    for (split, label), colour in zip(
        (("train", "train"), ("eval", "validation")), ("C0", "C1"), strict=True
    ):
        if curves[split] is not None:
            ax.plot(
                curves[split]["step"] + 1, curves[split]["loss"], color=colour,
                marker="." if first else None, alpha=1.0 if first else 0.35,
                lw=1.5 if first else 0.8, label=f"{label} (seed {seed})" if first else None,
            )  # fmt: skip
    summary = live / "metrics.json"  # DVCLive's summary, from the train stage
    best = json.loads(summary.read_text()).get("best_epoch") if summary.exists() else None
    if best and first:
        ax.axvline(best, color="black", ls=":", lw=1, label=f"best epoch ({best})")


def ci_errors(entries: list[dict], metric: str) -> np.ndarray | None:
    """Whiskers for a bar chart: (2, n) distances from each mean to its 95 % CI over seeds
    (`<metric>_ci95`), NaN (no whisker drawn) where an entry has none (baselines, single
    seeds)."""
    err = np.full((2, len(entries)), np.nan)
    for i, entry in enumerate(entries):
        low_high = entry.get(f"{metric}_ci95")
        if low_high:
            err[:, i] = [entry[metric] - low_high[0], low_high[1] - entry[metric]]
    return err if np.isfinite(err).any() else None


def seeds_of(metrics: dict, split: str = "test") -> dict[str, list[int]]:
    """The seeds each model of a metrics file was averaged over, by model name."""
    return {
        name: [int(s) for s in (splits.get(split) or splits["val"]).get("seeds", {})]
        for name, splits in metrics["models"].items()
    }
