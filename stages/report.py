"""Stage `report`: the results table in results.md, generated from metrics/<task>.json.

README.md carries a copy between markers; `python -m stages.report --readme` refreshes it
and a test fails when the two differ, so the README never shows a number typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.core import baselines
from stages.core.io import (
    METRICS_DIR,
    StageError,
    atomic_path,
    load_metrics,
    load_params,
    run_stage,
)
from stages.core.metrics import HEADLINE, best_baseline

RESULTS = Path("results.md")
README = Path("README.md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def fmt(value: float | None) -> str:
    """Four significant digits; an empty cell when the metric does not exist."""
    return "" if value is None else f"{value:.4g}"


def task_rows(task: str, cfg: dict, metrics: dict, published: dict) -> list[str]:
    """One row per model and per baseline, test split, models first."""
    units = cfg.get("units", "")
    ref = baselines.reference(cfg)
    rows = []
    for kind, entries in (("model", metrics["models"]), ("baseline", metrics["baselines"])):
        for name, splits in entries.items():
            test = splits.get("test", {})
            skill = test.get("skill")
            verdict = "" if skill is None else ("yes" if skill > 0 else "**no**")
            role = "reference baseline" if name == ref else "baseline"
            label = name if kind == "model" else f"_{name}_ ({role})"
            rows.append(
                f"| {task} | {label} | {fmt(test.get('rmse_orig'))} {units} | "
                f"{fmt(test.get('mae_orig'))} | {fmt(test.get('rmse'))} | {fmt(skill)} | "
                f"{verdict} | {published.get(name, '')} |"
            )
    return rows


def render(params: dict[str, Any], metrics_dir: Path = METRICS_DIR) -> str:
    """The markdown table for every task that has a metrics file."""
    lines = [
        f"Profile: `{params.get('profile', 'default')}`. Test split, original units unless "
        "noted; skill = 1 - RMSE / RMSE(reference baseline): naive persistence, or the "
        "training mean where the model never sees the target (sincos).",
        "",
        "| Task | Model | Test RMSE | Test MAE | RMSE (scaled) | Skill | Beats reference? "
        "| Seed reported |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    published = params.get("published") or {}
    for task, cfg in (params.get("tasks") or {}).items():
        metrics = load_metrics(task, metrics_dir)
        if "unavailable" in metrics:
            lines.append(f"| {task} | _not run: raw data unavailable here_ | | | | | | |")
            continue
        lines += task_rows(task, cfg, metrics, published)
    for task, cfg in (params.get("text_tasks") or {}).items():
        lines += text_table(task, cfg, load_metrics(task, metrics_dir), published)
        if cfg["kind"] == "charlm":
            lines += sample_lines(task, metrics_dir)
    return "\n".join(lines) + "\n"


TEXT_COLUMNS = {  # kind: [(metric, header)] for the split HEADLINE names
    "sentiment": [
        ("accuracy", "Test accuracy"),
        ("roc_auc", "ROC AUC"),
        ("f1", "F1"),
        ("log_loss", "Log loss"),
    ],
    "charlm": [("bits_per_char", "Held-out bits/char"), ("accuracy", "Next-char accuracy")],
}


def text_table(task: str, cfg: dict, metrics: dict, published: dict) -> list[str]:
    """One table per text task: models against the best baseline, then the baselines."""
    headline, split, lower = HEADLINE[cfg["kind"]]
    columns, best = TEXT_COLUMNS[cfg["kind"]], best_baseline(metrics, cfg["kind"])
    lines = [
        "",
        f"**{cfg.get('title', task)}**",
        "",
        "| Model | " + " | ".join(h for _, h in columns) + " | Beats best baseline? "
        "| Seed reported |",
        "| --- " * (len(columns) + 3) + "|",
    ]
    for kind in ("models", "baselines"):
        for name, splits in metrics[kind].items():
            row = splits[split]
            cells = " | ".join(fmt(row.get(m)) for m, _ in columns)
            if kind == "models":
                value = row[headline]
                verdict = "yes" if (value < best if lower else value > best) else "**no**"
                lines.append(f"| {name} | {cells} | {verdict} | {published.get(name, '')} |")
            else:
                lines.append(f"| _{name}_ (baseline) | {cells} | | |")
    return lines


SAMPLE_CHARS = 200


def sample_lines(task: str, metrics_dir: Path = METRICS_DIR) -> list[str]:
    """Each variant's generated text at every temperature it was sampled at, cut short,
    from metrics/samples/<task>.json (evaluate_text gathers it from the train stage)."""
    path = metrics_dir / "samples" / f"{task}.json"
    if not path.exists():
        return []
    lines = [
        "",
        f"Generated text, first {SAMPLE_CHARS} characters (all of it in "
        f"`plots/{task}/figures/samples.md`):",
        "",
    ]
    for name, entry in json.loads(path.read_text("utf-8")).items():
        lines += [f"`{name}`, seed text `{entry['seed_text']}`:", ""]
        for sample in entry["samples"]:
            t = sample["temperature"]
            label = "greedy" if t <= 0 else f"temperature {t:g}"
            text = sample["text"][:SAMPLE_CHARS].replace("\r", "")
            lines += [f"{label}:", "", "```text", text, "```", ""]
    return lines


def sync_readme(table: str, readme: Path = README) -> bool:
    """Replace the README block between the markers; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise StageError(f"{readme}: markers {BEGIN} / {END} not found; add them around the table.")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table}{END}{tail}"
    if new != text:
        with atomic_path(readme) as tmp:
            tmp.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> None:
    table = render(load_params())
    with atomic_path(RESULTS) as tmp:
        tmp.write_text(table, encoding="utf-8")
    print(f"wrote {RESULTS}")
    if "--readme" in argv:
        print("README.md updated" if sync_readme(table) else "README.md already up to date")


if __name__ == "__main__":
    run_stage(main)
