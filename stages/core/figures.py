"""Figure helpers every plots stage shares: atomic PNG writes and DVCLive training curves.

matplotlib only (Agg backend, files only): no TensorFlow, no display.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, and no GUI toolkit import

import matplotlib.pyplot as plt  # noqa: E402
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


def curves_figure(task: str, models: list[str], live_root: Path = LIVE_DIR) -> plt.Figure:
    """Train and validation loss per epoch, one panel per variant, log scale."""
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        base = live_dir(task, model, live_root) / "plots" / "metrics"
        curves = {split: read_loss(base / split / "loss.tsv") for split in ("train", "eval")}
        if curves["train"] is None:
            raise StageError(
                f"{base / 'train' / 'loss.tsv'}: not found. Run `dvc repro train@{model}` first."
            )
        for split, label in (("train", "train"), ("eval", "validation")):
            if curves[split] is not None:
                ax.plot(curves[split]["step"] + 1, curves[split]["loss"], marker=".", label=label)
        summary = base.parent.parent / "metrics.json"  # DVCLive's summary, from the train stage
        best = json.loads(summary.read_text()).get("best_epoch") if summary.exists() else None
        if best:
            ax.axvline(best, color="black", ls=":", lw=1, label=f"best epoch ({best})")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(model, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
