"""Stage `backtest@<task>`: a rolling-origin backtest of every model of a multi-step task.

For a task with `horizon: H` and `backtest: {step, refit, levels}`, every forecaster
(the baselines of stages/core/baselines/forecasters.py and each trained network as
stages/core/models/forecaster.py wraps it) forecasts steps 1..H from origins every `step`
rows of the test period, through one loop (stages/core/scoring/backtest.py), with model or
split-conformal intervals. Writes:

- metrics/backtest/<task>.json: {horizon, origins, step, refit, levels, models: {name:
  {rmse_by_horizon, mae_by_horizon, rmse_ci95_by_horizon, count_by_horizon, rmse, mae,
  mase, coverage_80, coverage_95, width_*, winkler_*, intervals, ...}}, summary}; a
  network's entry is its seed ensemble and has `vs_best_baseline_by_horizon`;
- plots/<task>/backtest_horizon.png (RMSE by step, 95 % whiskers) and
  plots/<task>/backtest_fan.png (the last origin's forecasts with 80 / 95 % bands).
No TensorFlow: the networks' forecasts come from the numpy forward pass.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from stages.core.baselines.forecasters import Forecast, History, registry
from stages.core.config.entry import stage_cli, typed
from stages.core.config.runs import task_seeds
from stages.core.config.tasks import Task
from stages.core.data.transforms import Transform
from stages.core.io import (
    METRICS_DIR,
    MODELS_DIR,
    PLOTS_DIR,
    PREPARED_DIR,
    SKIPPED,
    load_npz,
    trained_variants,
    unavailable,
    write_json,
)
from stages.core.models.forecaster import Network
from stages.core.scoring import backtest as bt


def load_history(task: str, cfg: Task, prepared: Path) -> History:
    """The prepared series of a task as a forecaster reads it."""
    import json

    meta = json.loads((prepared / task / "meta.json").read_text(encoding="utf-8"))
    series = load_npz(prepared / task / "series.npz")
    return History(
        observed=series["target"].astype(np.float64),
        scaled=series["scaled"].astype(np.float64),
        scaled_target=series["scaled_target"].astype(np.float64),
        transform=Transform.from_dict(meta["transform"]),
        bounds=(int(meta["bounds"][0]), int(meta["bounds"][1])),
        lookback=int(cfg.window.lookback),
    )


def networks(task: str, cfg: Task, seeds: list[int], models: Path, history: History) -> list:
    """Every trained variant of the task as a forecaster (hybrids with their ARIMA base)."""
    from stages.core.models.hybrid import base_paths, classical_spec

    out = []
    task_dict = {"seeds": cfg.seeds}
    for name, runs in trained_variants(task, task_seeds(seeds, task_dict), models).items():
        hybrid = next(iter(runs.values())).get("hybrid")
        base = None
        if hybrid:
            specs = [s.model_dump() for s in cfg.classical]
            spec = classical_spec(specs, hybrid, f"variants.{name}")

            def base(h, origins, horizon, spec=spec, name=name):
                return base_paths(
                    h.transform, h.observed, origins, h.bounds[0], spec, horizon,
                    f"variants.{name}",
                )  # fmt: skip

        out.append(Network(task, name, runs, models, base))
    return out


def run_model(model, history: History, cfg: Task, origins, calib) -> tuple[Forecast, str, list]:
    """One forecaster's backtest forecasts, with its own or conformal intervals, and a
    network's per-seed paths."""
    settings = cfg.backtest
    fc = bt.historical_forecasts(
        model, history, origins, cfg.horizon, settings.levels, settings.refit
    )
    per_seed = list(getattr(model, "per_seed", []))
    if fc.bounds:
        return fc, "model", per_seed
    calib_fc = model.predict(history, calib, cfg.horizon, settings.levels).mean
    errors = calib_fc - bt.held_targets(history, calib, cfg.horizon, history.bounds[1])
    bounds = bt.conformal_bounds(fc.mean, errors, settings.levels)
    return Forecast(fc.mean, bounds), "conformal", per_seed


def backtest_task(
    task: str,
    cfg: Task,
    seeds: list[int],
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    metrics_dir: Path = METRICS_DIR,
    plots_dir: Path = PLOTS_DIR,
) -> dict:
    """Backtest every model of `task`; write the contract file and the figures."""
    out_path = metrics_dir / "backtest" / f"{task}.json"
    if unavailable(prepared / task):
        write_json(out_path, {"unavailable": SKIPPED})
        from stages.core.report.backtest_figures import empty_figures

        empty_figures(task, plots_dir)
        print(f"backtest {task}: skipped, data unavailable")
        return {}
    history = load_history(task, cfg, prepared)
    origins = bt.test_origins(history.bounds, len(history.observed), cfg.backtest.step)
    calib = bt.calibration_origins(history.bounds)
    actual = history.targets(origins, cfg.horizon)
    scale = bt.mase_scale(history.observed, history.bounds[0], cfg.season)
    baselines = registry(cfg, f"tasks.{task}")
    nets = networks(task, cfg, seeds, models, history)
    results, forecasts = {}, {}
    for model in [*baselines, *nets]:
        started = time.perf_counter()
        forecasts[model.name], kind, per_seed = run_model(model, history, cfg, origins, calib)
        results[model.name] = {
            **bt.scores(actual, forecasts[model.name], cfg.backtest.levels, scale),
            "intervals": kind,
        }
        if isinstance(model, Network):
            results[model.name]["seeds"] = len(model.runs)
            results[model.name]["rmse_by_horizon_seed_mean"] = seed_mean_rmse(per_seed, actual)
        seconds = time.perf_counter() - started
        print(f"backtest {task}: {model.name}: RMSE {results[model.name]['rmse']:.4g} over "
              f"{cfg.horizon} steps, MASE {results[model.name]['mase']:.3f}, {seconds:.1f} s",
              flush=True)  # fmt: skip
    summary = judge(task, actual, forecasts, results, [b.name for b in baselines], nets)
    document = {
        "horizon": int(cfg.horizon),
        "origins": len(origins),
        "step": int(cfg.backtest.step),
        "refit": int(cfg.backtest.refit),
        "levels": list(cfg.backtest.levels),
        "models": results,
        "summary": summary,
    }
    write_json(out_path, document)
    from stages.core.report.backtest_figures import draw

    draw(task, cfg, history, origins, forecasts, document, plots_dir)
    print(f"backtest {task}: {summary['verdict']}")
    return document


def seed_mean_rmse(per_seed: list[np.ndarray], actual: np.ndarray) -> list[float]:
    """Each step's RMSE averaged over the seeds (the ensemble's is `rmse_by_horizon`)."""
    rmse = [np.sqrt(np.nanmean((p - actual) ** 2, axis=0)) for p in per_seed]
    return [float(v) for v in np.mean(rmse, axis=0)]


def judge(task, actual, forecasts, results, baseline_names, nets) -> dict:
    """Per-step verdicts of every network; the task's line for its best network."""
    base = {name: forecasts[name].mean for name in baseline_names}
    for net in nets:
        results[net.name]["vs_best_baseline_by_horizon"] = bt.step_verdicts(
            actual, forecasts[net.name].mean, base, results
        )
    if not nets:
        return {"best_network": None, "verdict": "no network trained"}
    best = min(nets, key=lambda n: results[n.name]["rmse"]).name
    best_base = min(baseline_names, key=lambda n: results[n]["rmse"])
    verdicts = results[best]["vs_best_baseline_by_horizon"]
    return {
        "best_network": best,
        "best_baseline": best_base,
        "verdict": bt.in_words(best.removeprefix(f"{task}-"), verdicts),
    }


def run(task: str, _entry: dict, params: dict) -> None:
    backtest_task(task, typed(params, "tasks", task), params["seeds"])


if __name__ == "__main__":
    stage_cli("backtest", "backtests", lambda key, entry, params: run(entry["task"], entry, params))
