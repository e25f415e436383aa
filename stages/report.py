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
from stages.core.scoring.metrics import HEADLINE, best_baseline_name, headline

RESULTS = Path("results.md")
PAGE = Path("results.html")
README = Path("README.md")
TUNING = Path("docs/tuning.md")  # the mkdocs page of the tuning history
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
EXPERIMENTS = Path("experiments")  # experiments/<search>.json: stages/search.py export
SEARCH_BEGIN, SEARCH_END = "<!-- searches:begin -->", "<!-- searches:end -->"
TARGETS_BEGIN, TARGETS_END = "<!-- targets:begin -->", "<!-- targets:end -->"
# Where `--readme` refreshes each generated block: (file, begin marker, end marker).
BLOCKS = (
    (README, BEGIN, END),
    (TUNING, SEARCH_BEGIN, SEARCH_END),
    (TUNING, TARGETS_BEGIN, TARGETS_END),
)
TARGETS_HEADING = "Targets met and missed"


def fmt(value: float | None) -> str:
    """Four significant digits; an empty cell when the metric does not exist."""
    return "" if value is None else f"{value:.4g}"


def with_ci(entry: dict, metric: str) -> str:
    """`mean ± half-width` of the 95 % CI over seeds (the CI is symmetric: Student t), or
    the single number when there is one seed or it is a baseline."""
    value, ci = entry.get(metric), entry.get(f"{metric}_ci95")
    if value is None or not ci:
        return fmt(value)
    return f"{value:.4g} ± {(ci[1] - ci[0]) / 2:.2g}"


def n_seeds(entry: dict) -> str:
    return str(len(entry.get("seeds", {}))) if "seeds" in entry else ""


def fmt_p(p: float | None) -> str:
    """A p-value as people write it: two digits, and a bound below 0.0001."""
    if p is None:
        return "not tested"
    return "p < 0.0001" if p < 1e-4 else f"p {p:.2g}"


def verdict_words(versus: dict | None, bold: bool = False) -> str:
    """The significance test against the strongest baseline in words, with its p-value:
    `better than ngram (p 0.0005)`, `no difference from arima_aic (p 0.73)`; "better"
    in bold for the results table."""
    if not versus:
        return ""
    verdict, p = versus["verdict"], fmt_p(versus["p_value"])
    if verdict in ("better", "worse"):
        word = f"**{verdict}**" if bold and verdict == "better" else verdict
        return f"{word} than {versus['baseline']} ({p})"
    return f"no difference from {versus['baseline']} ({p})"


def verdict_cell(entry: dict) -> str:
    """The results table's last-but-one column."""
    return verdict_words(entry.get("vs_best_baseline"), bold=True)


def model_label(name: str, splits: dict) -> str:
    """A model's name, with "(hybrid: <baseline>)" when a classical model or a baseline
    does part of its work (stages/core/models/hybrid.py, stages/core/scoring/interpolation.py)."""
    hybrid = next((s["hybrid"] for s in splits.values() if s.get("hybrid")), None)
    return f"{name} (hybrid: {hybrid})" if hybrid else name


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


METRIC_NAMES = {"rmse_orig": "RMSE", "accuracy": "accuracy", "bits_per_char": "bits/char"}


def task_kinds(params: dict[str, Any]) -> dict[str, str]:
    """Every task of the profile and its kind of prediction (a key of HEADLINE)."""
    kinds = dict.fromkeys(params.get("tasks") or {}, "forecast")
    return kinds | {t: cfg["kind"] for t, cfg in (params.get("text_tasks") or {}).items()}


def best_on_validation(metrics: dict, kind: str) -> str | None:
    """The network with the best VALIDATION headline (mean over seeds), the choice a
    target is judged on; None when no network has a validation score. (metrics.headline
    picks by test, which is what `dvc metrics show` lists, not a choice.)"""
    metric, _, lower = HEADLINE[kind]
    scored = {
        name: s["val"][metric]
        for name, s in metrics["models"].items()
        if metric in s.get("val", {}) and metric in s.get("test", {})
    }
    return (min if lower else max)(scored, key=scored.get) if scored else None


def target_text(goal: dict, kind: str | None, units: str) -> str:
    """The target in words: `RMSE ≤ 13 passengers and significantly better than the
    strongest baseline`."""
    label = METRIC_NAMES[HEADLINE[kind][0]] if kind else "headline"
    unit = f" {units}" if units else ""
    parts = []
    if goal.get("at_most") is not None:
        parts.append(f"{label} ≤ {fmt(goal['at_most'])}{unit}")
    if goal.get("at_least") is not None:
        parts.append(f"{label} ≥ {fmt(goal['at_least'])}{unit}")
    if goal.get("beat_baseline"):
        parts.append("significantly better than the strongest baseline")
    return " and ".join(parts) if parts else "none: the verdict against the strongest baseline"


def met_cell(goal: dict, score: float, versus: dict | None) -> str:
    """`yes` or `no`, then every part of the target that failed (or held), then the
    verdict against the strongest baseline in words; `no target` for an empty goal."""
    checks = []  # (held, words)
    if goal.get("at_most") is not None:
        held = score <= goal["at_most"]
        checks.append((held, f"{fmt(score)} {'≤' if held else '>'} {fmt(goal['at_most'])}"))
    if goal.get("at_least") is not None:
        held = score >= goal["at_least"]
        checks.append((held, f"{fmt(score)} {'≥' if held else '<'} {fmt(goal['at_least'])}"))
    if goal.get("beat_baseline"):
        checks.append(((versus or {}).get("verdict") == "better", ""))
    said = verdict_words(versus) or "not tested against a baseline"
    words = "; ".join([w for _, w in checks if w] + [said])
    if not checks:
        return f"no target: {words}"
    return f"{'yes' if all(held for held, _ in checks) else 'no'}: {words}"


def target_row(
    task: str, goal: dict, kind: str | None, cfg: dict, metrics_dir: Path = METRICS_DIR
) -> str:
    """One task's row of the targets table."""
    units = cfg.get("units") or ""
    target = target_text(goal, kind, units)
    path = metrics_dir / f"{task}.json"
    why = None
    if kind is None:
        why = "not run: not a task of this profile"
    elif not path.exists():
        why = f"not run: no {path.as_posix()}"
    else:
        metrics = load_metrics(task, metrics_dir)
        if "unavailable" in metrics:
            why = "not run: raw data unavailable here"
    if why:
        return f"| {task} | {target} | _{why}_ | | | not run |"
    best = best_on_validation(metrics, kind)
    if best is None:
        return f"| {task} | {target} | _no network has a validation score_ | | | not judged |"
    metric = HEADLINE[kind][0]
    splits = metrics["models"][best]
    test = splits["test"]
    hybrid = test.get("hybrid") or splits.get("val", {}).get("hybrid")
    versus = test.get("vs_best_baseline")
    base = (versus or {}).get("baseline") or best_baseline_name(
        metrics["baselines"], kind, "test", test.get("count")
    )
    unit = f" {units}" if units else ""
    seeds = len(test.get("seeds", {})) or 1
    p = fmt_p(versus["p_value"]) if versus else "not tested"
    score = f"{fmt(test[metric])}{unit} ({seeds} seed{'s' * (seeds > 1)}, {p})"
    base_cell = f"{base} {fmt(metrics['baselines'][base]['test'][metric])}{unit}" if base else ""
    return (
        f"| {task} | {target} | {best} ({f'hybrid: {hybrid}' if hybrid else 'network'}) | "
        f"{score} | {base_cell} | {met_cell(goal, test[metric], versus)} |"
    )


def render_targets(params: dict[str, Any], metrics_dir: Path = METRICS_DIR) -> str:
    """The targets table (params `targets`): per task, the best network chosen on the
    validation split, its test score against the target and the strongest baseline."""
    goals = params.get("targets") or {}
    if not goals:
        return "No targets are set: add them under `targets:` in `conf/config.yaml`.\n"
    kinds = task_kinds(params)
    configs = {**(params.get("tasks") or {}), **(params.get("text_tasks") or {})}
    lines = [
        f"Profile: `{params.get('profile', 'default')}`; the targets are `targets:` in "
        "`conf/config.yaml` (issue #11). Each task's best network is the one with the best "
        "**validation** score (RMSE in original units, accuracy or bits/char, mean over "
        "seeds); the test split did not choose it. Its test score is the mean over seeds, with "
        "the p-value of its test against the strongest baseline on the test targets "
        "(α = 0.05, as in the results table); Met? needs every part of the target.",
        "",
        "| Task | Target | Best network, chosen on validation | Its test score "
        "| Strongest baseline (test) | Met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for task, goal in goals.items():
        lines.append(
            target_row(task, goal or {}, kinds.get(task), configs.get(task, {}), metrics_dir)
        )
    return "\n".join(lines) + "\n"


def results_markdown(table: str, targets: str) -> str:
    """results.md: the results table (render), then the targets table (render_targets)
    under its own heading."""
    return f"{table}\n## {TARGETS_HEADING}\n\n{targets}"


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


def short_names(keys: list[str]) -> list[str]:
    """Each dotted grid key cut to its shortest ending that still tells it from the others
    (variants.x.train.learning_rate -> learning_rate), for table headers."""
    for depth in range(1, max((k.count(".") + 1 for k in keys), default=1) + 1):
        names = [".".join(k.split(".")[-depth:]) for k in keys]
        if len(set(names)) == len(names):
            return names
    return keys


def cell(value: Any) -> str:
    """A grid value in a table cell: floats to four digits, the rest as JSON would."""
    if isinstance(value, float):
        return fmt(value)
    return value if isinstance(value, str) else json.dumps(value)


def search_table(doc: dict[str, Any]) -> list[str]:
    """One search: what it searched, one row per grid point (the winner in bold), and which
    validation number chose the winner."""
    keys, select = list(doc["grid"]), doc["select"]
    metric = select["key"].rsplit(".", 1)[-1]
    profiles = sorted({str(r.get("profile")) for r in doc["rows"] if r.get("profile")})
    where = f"profile `{', '.join(profiles)}`; " if profiles else ""
    lines = [
        "",
        f"**{doc['search']}**: {doc['about']} ({where}targets "
        f"{', '.join(f'`{t}`' for t in doc['targets'])}).",
        "",
        "| " + " | ".join(short_names(keys)) + f" | Validation {metric} | Status | Experiment |",
        "| --- " * (len(keys) + 3) + "|",
    ]
    for i, row in enumerate(doc["rows"]):
        cells = [cell(row["params"][k]) for k in keys] + [fmt(row["metric"])]
        if i == doc["winner"]:
            cells = [f"**{c}**" for c in cells]
        lines.append(f"| {' | '.join(cells)} | {row['status']} | {row['experiment'] or ''} |")
    goal = "lowest" if select["goal"] == "min" else "highest"
    lines += [
        "",
        f"Winner (bold): the {goal} `{select['key']}` in `{select['file']}`, a validation "
        "number; the test split chose nothing.",
    ]
    return lines


def render_searches(exp_dir: Path = EXPERIMENTS) -> str:
    """Every committed search (experiments/*.json, by name) as a table."""
    lines = []
    for path in sorted(exp_dir.glob("*.json")):
        lines += search_table(json.loads(path.read_text(encoding="utf-8")))
    if not lines:
        return (
            "No search has been committed yet: `python -m stages.search run <name>` "
            "writes `experiments/<name>.json`.\n"
        )
    return "\n".join(lines[1:]) + "\n"


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
    return page.page(
        table, titles(params), plots_dir, page_path.parent, searches, targets, TARGETS_HEADING
    )


def main(argv: list[str]) -> None:
    params = load_params()
    table, targets = render(params), render_targets(params)
    with atomic_path(RESULTS) as tmp:
        tmp.write_text(results_markdown(table, targets), encoding="utf-8")
    with atomic_path(PAGE) as tmp:
        tmp.write_text(html_page(params, table), encoding="utf-8")
    print(f"wrote {RESULTS} and {PAGE}")
    if "--readme" in argv:
        blocks = {BEGIN: table, SEARCH_BEGIN: render_searches(), TARGETS_BEGIN: targets}
        changed = [
            path for path, begin, end in BLOCKS if sync_readme(blocks[begin], path, begin, end)
        ]
        for path in dict.fromkeys(p for p, _, _ in BLOCKS):
            print(f"{path} updated" if path in changed else f"{path} already up to date")


if __name__ == "__main__":
    run_stage(main)
