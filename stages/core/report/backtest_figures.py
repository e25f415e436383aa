"""The backtest's two figures: error by horizon step, and a fan chart of the last origin.

backtest_horizon.png: RMSE at each step 1..H with 95 % whiskers, for the best network, the
strongest baselines and persistence, so a reader sees where the lines part and whether
the whiskers overlap. backtest_fan.png: the history before the last origin, the truth
after it, and the best network's and the best baseline's forecasts with their 80 % and
95 % bands (one panel each).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.core.report.figures import plt, save


def shown_models(document: dict, count: int = 4) -> list[str]:
    """The best network, then the baselines by overall RMSE (persistence always in)."""
    summary, models = document["summary"], document["models"]
    nets = [n for n in models if "seeds" in models[n]]
    bases = sorted((n for n in models if n not in nets), key=lambda n: models[n]["rmse"])
    picked = [summary["best_network"]] if summary.get("best_network") else []
    picked += bases[: count - 1]
    if "naive" in models and "naive" not in picked:
        picked.append("naive")
    return picked


def horizon_figure(task: str, title: str, units: str, document: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, document["horizon"] + 1)
    for i, name in enumerate(shown_models(document)):
        m = document["models"][name]
        rmse = np.array(m["rmse_by_horizon"])
        ci = np.array(m["rmse_ci95_by_horizon"], dtype=float)
        offset = (i - 1.5) * 0.08  # side by side, so whiskers do not hide each other
        ax.errorbar(
            steps + offset, rmse, yerr=[rmse - ci[:, 0], ci[:, 1] - rmse], marker="o",
            markersize=4, capsize=3, linewidth=2.2 if i == 0 else 1.2,
            label=name.removeprefix(f"{task}-"),
        )  # fmt: skip
    ax.set_xlabel("steps ahead")
    ax.set_ylabel(f"test RMSE ({units})" if units else "test RMSE")
    ax.set_title(f"{title}: error by horizon, {document['origins']} origins", fontsize=10)
    ax.set_xticks(steps if len(steps) <= 24 else steps[:: max(1, len(steps) // 12)])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fan_figure(task, title, history, origins, forecasts, document) -> plt.Figure:
    names = [document["summary"].get("best_network"), document["summary"].get("best_baseline")]
    names = [n for n in names if n]
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 3.8), squeeze=False)
    origin = int(origins[-document["horizon"]] if len(origins) >= document["horizon"]
                 else origins[0])  # fmt: skip
    row = int(np.searchsorted(origins, origin))
    horizon = document["horizon"]
    past = np.arange(max(0, origin - 4 * horizon), origin + 1)
    future = origin + np.arange(1, horizon + 1)
    inside = future < len(history.observed)
    for ax, name in zip(axes[0], names, strict=True):
        fc = forecasts[name]
        ax.plot(past, history.observed[past], color="black", linewidth=1.2, label="history")
        ax.plot(future[inside], history.observed[future[inside]], color="black",
                linestyle="--", linewidth=1.2, label="truth")  # fmt: skip
        for level, alpha in sorted((lv, 0.18 if lv > 0.9 else 0.32) for lv in fc.bounds):
            lo, hi = fc.bounds[level]
            ax.fill_between(future, lo[row], hi[row], alpha=alpha, color="tab:blue",
                            label=f"{round(level * 100)} %")  # fmt: skip
        ax.plot(future, fc.mean[row], color="tab:blue", linewidth=2, label="forecast")
        kind = document["models"][name]["intervals"]
        ax.set_title(f"{name.removeprefix(f'{task}-')} ({kind} intervals)", fontsize=10)
        ax.set_xlabel("row of the series")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: forecasts from origin row {origin}", fontsize=10)
    fig.tight_layout()
    return fig


def draw(task, cfg, history, origins, forecasts, document, plots_dir: Path) -> None:
    title, units = cfg.title or task, cfg.units or ""
    save(horizon_figure(task, title, units, document), plots_dir / task / "backtest_horizon.png")
    fig = fan_figure(task, title, history, origins, forecasts, document)
    save(fig, plots_dir / task / "backtest_fan.png")


def empty_figures(task: str, plots_dir: Path) -> None:
    """Placeholders for a task whose data is unavailable (the outputs DVC expects)."""
    for name in ("backtest_horizon.png", "backtest_fan.png"):
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{task}: data unavailable", ha="center", va="center")
        save(fig, plots_dir / task / name)
