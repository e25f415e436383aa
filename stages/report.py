"""Stage `report`: the results table in results.md, generated from metrics/<task>.json,
and results.html, one page with that table, the searches and every task's figures.

The searches are experiments/<search>.json (stages/search.py export), one table each.
The targets table (params `targets`, issue #11) follows the results in results.md: each
task's best network, chosen on VALIDATION, against its target on the test split.

Copies live between markers in the documentation (`BLOCKS`): the results table in
README.md, the searches and targets tables in docs/tuning.md. `python -m stages.report
--readme` refreshes every copy and tests fail when one differs, so no page shows a number
typed by hand.
The page (stages/core/report/page.py) is what a fresh clone opens without DVC's cache: its
figures are the git-tracked PNGs under plots/, linked by relative path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.core.baselines import simple
from stages.core.io import (
    METRICS_DIR,
    PLOTS_DIR,
    StageError,
    atomic_path,
    load_metrics,
    load_params,
    run_stage,
)
from stages.core.report import page
from stages.core.report.backtests import render_backtests
from stages.core.report.cells import fmt_p, model_label, n_seeds, verdict_cell, with_ci
from stages.core.report.searches import EXPERIMENTS, render_searches
from stages.core.report.targets import render_targets
from stages.core.scoring.metrics import HEADLINE, headline

RESULTS = Path("results.md")
PAGE = Path("results.html")
README = Path("README.md")
TUNING = Path("docs/tuning.md")  # the mkdocs page of the tuning history
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
SEARCH_BEGIN, SEARCH_END = "<!-- searches:begin -->", "<!-- searches:end -->"
TARGETS_BEGIN, TARGETS_END = "<!-- targets:begin -->", "<!-- targets:end -->"
BACKTESTS = Path("docs/backtests.md")  # the mkdocs page of the rolling-origin backtests
BACKTEST_BEGIN, BACKTEST_END = "<!-- backtests:begin -->", "<!-- backtests:end -->"
# Where `--readme` refreshes each generated block: (file, begin marker, end marker).
BLOCKS = (
    (README, BEGIN, END),
    (TUNING, SEARCH_BEGIN, SEARCH_END),
    (TUNING, TARGETS_BEGIN, TARGETS_END),
    (BACKTESTS, BACKTEST_BEGIN, BACKTEST_END),
)
TARGETS_HEADING = "Targets met and missed"


def task_rows(task: str, cfg: dict, metrics: dict, published: dict) -> list[str]:
    """One row per model and per baseline, test split, models first."""
    units = cfg.get("units", "")
    ref = simple.reference(cfg)
    rows = []
    for kind, entries in (("model", metrics["models"]), ("baseline", metrics["baselines"])):
        for name, splits in entries.items():
            test = splits.get("test", {})
            role = "reference baseline" if name == ref else "baseline"
            label = model_label(name, splits) if kind == "model" else f"_{name}_ ({role})"
            rows.append(
                f"| {task} | {label} | {with_ci(test, 'rmse_orig')} {units} | "
                f"{with_ci(test, 'mae_orig')} | {n_seeds(test)} | {with_ci(test, 'skill')} | "
                f"{verdict_cell(test)} | {published.get(name, '')} |"
            )
    return rows


def render(params: dict[str, Any], metrics_dir: Path = METRICS_DIR) -> str:
    """The markdown table for every task that has a metrics file, and what it says."""
    lines = [
        f"Profile: `{params.get('profile', 'default')}`. Test split, original units; "
        "models: mean ± half-width of the 95 % confidence interval over seeds (Student t); "
        "skill = 1 - RMSE / RMSE(reference baseline): naive persistence, or the training "
        "mean where the model never sees the target (sincos). The last column tests the "
        "seed ensemble against the strongest baseline on the same targets at α = 0.05 "
        "(Diebold-Mariano with the Harvey-Leybourne-Newbold correction for forecasts, "
        "exact McNemar for IMDB, a paired block bootstrap for bits per character).",
        "",
        "| Task | Model | Test RMSE | Test MAE | Seeds | Skill | vs strongest baseline "
        "| Seed reported |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    published = params.get("published") or {}
    said = []
    for task, cfg in (params.get("tasks") or {}).items():
        metrics = load_metrics(task, metrics_dir)
        if "unavailable" in metrics:
            lines.append(f"| {task} | _not run: raw data unavailable here_ | | | | | | |")
            continue
        lines += task_rows(task, cfg, metrics, published)
        said.append(in_words(task, metrics, "forecast"))
    for task, cfg in (params.get("text_tasks") or {}).items():
        metrics = load_metrics(task, metrics_dir)
        lines += text_table(task, cfg, metrics, published)
        said.append(in_words(task, metrics, cfg["kind"]))
        if cfg["kind"] == "charlm":
            lines += sample_lines(task, metrics_dir)
    lines += ["", "In words:", "", *said]
    return "\n".join(lines) + "\n"


def in_words(task: str, metrics: dict, kind: str) -> str:
    """One sentence per task saying what its table says, from the numbers themselves."""
    line = headline(task, metrics, kind)
    metric = HEADLINE[kind][0].removesuffix("_orig")
    best = next(
        model_label(n, s)
        for n, s in metrics["models"].items()
        if n.removeprefix(f"{task}-") == line["net"]
    )
    numbers = f"{metric} {line['score']:.4g} against {line['base_score']:.4g}"
    p = fmt_p(line["p_value"])
    if line["verdict"] == "better":
        return (
            f"- **{task}**: the best network, {best}, beats the strongest baseline, "
            f"{line['baseline']} ({numbers}, {p})."
        )
    how = {"worse": "is significantly worse than"}.get(line["verdict"], "cannot be told from")
    return (
        f"- **{task}**: no network beats the strongest baseline, {line['baseline']}; the "
        f"best, {best}, {how} it ({numbers}, {p})."
    )


TEXT_COLUMNS = {  # kind: [(metric, header)] for the split HEADLINE names
    "sentiment": [
        ("accuracy", "Test accuracy"),
        ("roc_auc", "ROC AUC"),
        ("f1", "F1"),
        ("log_loss", "Log loss"),
    ],
    "charlm": [("bits_per_char", "Test bits/char"), ("accuracy", "Next-char accuracy")],
}


def text_table(task: str, cfg: dict, metrics: dict, published: dict) -> list[str]:
    """One table per text task: models (mean ± CI over seeds) with their test against the
    strongest baseline, then the baselines."""
    _, split, _ = HEADLINE[cfg["kind"]]
    columns = TEXT_COLUMNS[cfg["kind"]]
    lines = [
        "",
        f"**{cfg.get('title', task)}**",
        "",
        "| Model | " + " | ".join(h for _, h in columns) + " | Seeds | vs strongest baseline "
        "| Seed reported |",
        "| --- " * (len(columns) + 4) + "|",
    ]
    for kind in ("models", "baselines"):
        for name, splits in metrics[kind].items():
            row = splits[split]
            cells = " | ".join(with_ci(row, m) for m, _ in columns)
            if kind == "models":
                label = model_label(name, splits)
                lines.append(
                    f"| {label} | {cells} | {n_seeds(row)} | {verdict_cell(row)} "
                    f"| {published.get(name, '')} |"
                )
            else:
                lines.append(f"| _{name}_ (baseline) | {cells} | | | |")
    return lines


BACKTESTS_HEADING = "Rolling-origin backtests"


def results_markdown(table: str, targets: str, backtests: str = "") -> str:
    """results.md: the results table (render), then the targets table (render_targets) and
    the backtests (render_backtests) under their own headings."""
    out = f"{table}\n## {TARGETS_HEADING}\n\n{targets}"
    return f"{out}\n## {BACKTESTS_HEADING}\n\n{backtests}" if backtests else out


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


def sync_readme(table: str, readme: Path = README, begin: str = BEGIN, end: str = END) -> bool:
    """Replace the block between the markers in `readme` (README.md or a docs page); True
    when it changed."""
    text = readme.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise StageError(f"{readme}: markers {begin} / {end} not found; add them around the table.")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n{table}{end}{tail}"
    if new != text:
        with atomic_path(readme) as tmp:
            tmp.write_text(new, encoding="utf-8")
    return new != text


def titles(params: dict[str, Any]) -> dict[str, str]:
    """Every task, forecasting then text, with its title: the page's figure sections."""
    tasks = {**(params.get("tasks") or {}), **(params.get("text_tasks") or {})}
    return {task: cfg.get("title", task) for task, cfg in tasks.items()}


def html_page(
    params: dict[str, Any],
    table: str,
    plots_dir: Path = PLOTS_DIR,
    page_path: Path = PAGE,
    exp_dir: Path = EXPERIMENTS,
    metrics_dir: Path = METRICS_DIR,
) -> str:
    """results.html: the same markdown as results.md, rendered (the results table, then the
    targets in their own section), the searches, the figures."""
    searches = render_searches(exp_dir)
    targets = render_targets(params, metrics_dir)
    backtests = render_backtests(params, metrics_dir)
    targets = f"{targets}\n## {BACKTESTS_HEADING}\n\n{backtests}"
    return page.page(
        table, titles(params), plots_dir, page_path.parent, searches, targets, TARGETS_HEADING
    )


def main(argv: list[str]) -> None:
    params = load_params()
    table, targets = render(params), render_targets(params)
    backtests = render_backtests(params)
    with atomic_path(RESULTS) as tmp:
        tmp.write_text(results_markdown(table, targets, backtests), encoding="utf-8")
    with atomic_path(PAGE) as tmp:
        tmp.write_text(html_page(params, table), encoding="utf-8")
    print(f"wrote {RESULTS} and {PAGE}")
    if "--readme" in argv:
        blocks = {
            BEGIN: table, SEARCH_BEGIN: render_searches(), TARGETS_BEGIN: targets,
            BACKTEST_BEGIN: backtests,
        }  # fmt: skip
        changed = [
            path for path, begin, end in BLOCKS if sync_readme(blocks[begin], path, begin, end)
        ]
        for path in dict.fromkeys(p for p, _, _ in BLOCKS):
            print(f"{path} updated" if path in changed else f"{path} already up to date")


if __name__ == "__main__":
    run_stage(main)
