"""Stage `plots_text@<task>`: figures for the text tasks, from evaluate_text's outputs.

Writes plots/<task>/figures/. Both kinds: scores.png (each variant's headline number
against the baselines) and
training_curves.png (DVCLive's per-epoch losses, best epoch marked). Sentiment adds
roc.png (test ROC curves) and confusion.png (test confusion matrices); `dvc plots show`
draws the same interactively from plots/<task>/data/. Characters add samples.md, rendered
from metrics/samples/<task>.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stages.core.config.entry import stage_cli
from stages.core.io import (
    LIVE_DIR,
    METRICS_DIR,
    PLOTS_DIR,
    atomic_path,
    load_metrics,
    read_json,
)
from stages.core.report.figures import ci_errors, curves_figure, plt, save, seeds_of
from stages.core.scoring.metrics import HEADLINE, best_baseline

LABELS = {"sentiment": "test accuracy", "charlm": "test bits per character"}


def scores_figure(metrics: dict, kind: str, title: str) -> plt.Figure:
    """Horizontal bars, models in blue, baselines in grey, the best baseline as a line."""
    metric, split, lower = HEADLINE[kind]
    label, base = LABELS[kind], metrics["baselines"]
    rows = [(n, s[split][metric], "model") for n, s in metrics["models"].items()]
    rows += [(f"{n} (baseline)", s[split][metric], "baseline") for n, s in base.items()]
    entries = [s[split] for s in (*metrics["models"].values(), *base.values())]
    best_base = best_baseline(metrics, kind)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    colours = ["#1f77b4" if k == "model" else "#b0b0b0" for _, _, k in rows]
    bars = ax.barh(
        [n for n, _, _ in rows], [v for _, v, _ in rows], color=colours,
        xerr=ci_errors(entries, metric), capsize=3, error_kw={"lw": 1},
    )  # fmt: skip
    ax.bar_label(bars, fmt="%.4g", padding=3, fontsize=8)
    ax.axvline(best_base, color="black", ls="--", lw=1, label=f"best baseline ({best_base:.4g})")
    ax.invert_yaxis()
    ax.set_xlabel(f"{label} ({'lower' if lower else 'higher'} is better)")
    if not lower:
        values = [v for _, v, _ in rows]
        ax.set_xlim(max(0.0, min(values) - 0.05), 1.0)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def roc_figure(data: Path, metrics: dict, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 5.5))
    for name in [*metrics["models"], *metrics["baselines"]]:
        part = pd.read_csv(data / "roc" / f"{name}.csv")
        entry = metrics["models"].get(name) or metrics["baselines"][name]
        style = "-" if name in metrics["models"] else "--"
        label = f"{name} (AUC {entry['test']['roc_auc']:.3f})"
        ax.plot(part["fpr"], part["tpr"], style, label=label)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{title}: test ROC", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def confusion_figure(data: Path, names: list[str], title: str) -> plt.Figure:
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.9), squeeze=False)
    labels = ["negative", "positive"]
    for ax, name in zip(axes[0], names, strict=True):
        part = pd.read_csv(data / "confusion" / f"{name}.csv")
        grid = pd.crosstab(part["actual"], part["predicted"]).reindex(
            index=labels, columns=labels, fill_value=0
        )
        ax.imshow(grid.to_numpy(), cmap="Blues")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=8)
        ax.set_xticks([0, 1], ["neg", "pos"])
        ax.set_yticks([0, 1], ["neg", "pos"])
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("actual", fontsize=8)
        ax.set_title(name, fontsize=8)
    fig.suptitle(f"{title}: test confusion matrices", fontsize=10)
    fig.tight_layout()
    return fig


def samples_markdown(samples: dict, title: str) -> str:
    """Every variant's generated text at every temperature, for reading on GitHub."""
    parts = [f"# {title}: generated text\n"]
    for name, entry in samples.items():
        parts.append(f"## {name}\n\nSeed text: `{entry['seed_text']}`\n")
        for sample in entry["samples"]:
            t = sample["temperature"]
            label = "greedy (argmax)" if t <= 0 else f"temperature {t:g}"
            parts.append(f"### {label}\n\n```text\n{sample['text']}\n```\n")
    return "\n".join(parts)


def plot_text_task(
    task: str,
    cfg: dict,
    plots_dir: Path = PLOTS_DIR,
    metrics_dir: Path = METRICS_DIR,
    live_root: Path = LIVE_DIR,
) -> list[Path]:
    title, kind = cfg.get("title", task), cfg["kind"]
    metrics = load_metrics(task, metrics_dir)
    data, out = plots_dir / task / "data", plots_dir / task / "figures"
    models = list(metrics["models"])
    # a hybrid reuses its variant's training (stages/core/scoring/interpolation.py): no curves
    trained = {
        n: s for n, s in seeds_of(metrics).items() if "hybrid" not in metrics["models"][n]["test"]
    }
    figures = {
        "scores.png": scores_figure(metrics, kind, title),
        "training_curves.png": curves_figure(task, trained, live_root),
    }
    if kind == "sentiment":
        figures["roc.png"] = roc_figure(data, metrics, title)
        figures["confusion.png"] = confusion_figure(data, models, title)
    else:
        samples = read_json(metrics_dir / "samples" / f"{task}.json", f"evaluate_text@{task}")
        with atomic_path(out / "samples.md") as tmp:
            tmp.write_text(samples_markdown(samples, title), encoding="utf-8")
    for name, fig in figures.items():
        save(fig, out / name)
        print(f"plots_text {task}: wrote {out / name}")
    return sorted(out.iterdir())


if __name__ == "__main__":
    stage_cli("plots_text", "text_tasks", lambda task, cfg, _params: plot_text_task(task, cfg))
