"""The backtest tables (#22): one per task with a `horizon`, from metrics/backtest/<task>.json.

Rows are the models, best overall RMSE first: RMSE at step 1, at the middle step and at H,
the mean over steps, MASE, interval coverage at 80 and 95 % with the Winkler score at 95 %,
and where the intervals come from; then the task's verdict in words (DM-HLN per step).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.core.io import METRICS_DIR


def fmt(value: float) -> str:
    return f"{value:.4g}"


def task_table(task: str, title: str, units: str, data: dict) -> list[str]:
    horizon = data["horizon"]
    mid = max(1, horizon // 2)
    lines = [
        f"### {title}",
        "",
        f"{data['origins']} origins, one every {data['step']} row(s) of the test period; "
        f"H = {horizon}; classical models re-estimated every {data['refit'] or 'never'} "
        f"origin(s); networks keep their weights. RMSE in {units or 'original units'}.",
        "",
        f"| Model | RMSE h=1 | RMSE h={mid} | RMSE h={horizon} | Mean RMSE | MASE "
        "| Cover 80 % | Cover 95 % | Winkler 95 % | Intervals |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    models = sorted(data["models"].items(), key=lambda kv: sum(kv[1]["rmse_by_horizon"]))
    for name, m in models:
        rmse = m["rmse_by_horizon"]
        label = name.removeprefix(f"{task}-")
        label = f"**{label}** ({m['seeds']} seeds)" if "seeds" in m else f"_{label}_"
        lines.append(
            f"| {label} | {fmt(rmse[0])} | {fmt(rmse[mid - 1])} | {fmt(rmse[-1])} "
            f"| {fmt(sum(rmse) / len(rmse))} | {m['mase']:.3f} | {m['coverage_80']:.2f} "
            f"| {m['coverage_95']:.2f} | {fmt(m['winkler_95'])} | {m['intervals']} |"
        )
    lines += ["", f"In words: {data['summary']['verdict']}.", ""]
    return lines


def render_backtests(params: dict[str, Any], metrics_dir: Path = METRICS_DIR) -> str:
    """Every task's backtest table, in params order; nothing for tasks without one."""
    lines: list[str] = []
    for task in params.get("backtests") or {}:
        path = metrics_dir / "backtest" / f"{task}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        cfg = params["tasks"][task]
        if "unavailable" in data:
            lines += [f"### {cfg.get('title', task)}", "", "_not run: raw data unavailable_", ""]
            continue
        lines += task_table(task, cfg.get("title", task), cfg.get("units", ""), data)
    return "\n".join(lines) + "\n" if lines else "_No task has a horizon in this profile._\n"
