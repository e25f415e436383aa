"""The targets table (params `targets`): per task, the best network chosen on the
VALIDATION split, its test score against the target and the strongest baseline, and
whether every part of the target was met."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.core.io import METRICS_DIR, load_metrics
from stages.core.report.cells import fmt, fmt_p, verdict_words
from stages.core.scoring.metrics import HEADLINE, best_baseline_name

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
