"""Stage `evaluate@<task>`: score every variant of a task, over its seeds, against its
baselines, and test whether it really beats the strongest one.

Writes metrics/<task>.json as {"models": {NAME: {SPLIT: {METRIC: value}}}, "baselines": ...}
with RMSE / MAE in model space (`rmse`, `mae`) and in original units (`rmse_orig`,
`mae_orig`), `skill` = 1 - RMSE / RMSE of the reference baseline (naive persistence, or
the training mean when the target is not observed; original units), and for the
test split `numpy_max_abs_diff`: how far stages/core/scoring/reference.py's numpy forward pass
is from Keras's predictions. A model's numbers are the mean over its seeds, with `_std`, `_ci95`
and each seed's own under `seeds`; `vs_best_baseline` is a Diebold-Mariano test (HLN
correction) of the seed ensemble's forecasts against the strongest baseline's.
Baselines include the task's `classical` statsmodels models (stages/core/baselines/classical.py).
Also writes plots/<task>/predictions.csv (seed-ensemble forecasts) for the plots stage.
No TensorFlow here: predictions were saved by the train stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stages.core.baselines import classical, simple
from stages.core.config.entry import stage_cli, typed
from stages.core.config.runs import task_seeds
from stages.core.config.schema import validated
from stages.core.config.tasks import Task
from stages.core.data.transforms import Transform
from stages.core.data.windows import horizon
from stages.core.io import (
    METRICS_DIR,
    MODELS_DIR,
    PLOTS_DIR,
    PREPARED_DIR,
    SKIPPED,
    SPLITS,
    StageError,
    atomic_path,
    load_npz,
    model_dir,
    trained_variants,
    unavailable,
    write_json,
)
from stages.core.models.arch import model_inputs
from stages.core.models.layouts import load_splits
from stages.core.scoring import reference
from stages.core.scoring.metrics import headline, headline_path, judge, scores
from stages.core.scoring.significance import compare


def split_scores(actual_model, pred_model, actual_orig, pred_orig, last, extra=()) -> dict:
    """Model-space and original-unit RMSE / MAE for one split, the task's extra metrics
    (original units) and the target count."""
    out = scores(actual_model, pred_model)
    orig = scores(actual_orig, pred_orig)
    out.update({f"{k}_orig": v for k, v in orig.items()})
    out.update(scores(actual_orig, pred_orig, extra, last))
    out["count"] = int(np.isfinite(pred_orig).sum())
    return out


class TaskData:
    """The targets of every split, flattened, in model space and original units."""

    def __init__(self, task: str, window: dict, prepared: Path = PREPARED_DIR):
        self.splits, self.meta = load_splits(task, prepared)
        self.horizon = horizon(window)
        self.series = load_npz(prepared / task / "series.npz")
        self.transform = Transform.from_dict(self.meta["transform"])
        self.observed = self.series["target"]

    def scored(self, split: str, per_window: np.ndarray) -> np.ndarray:
        """The scored windows only (stateful warm-up windows are dropped), flattened."""
        return per_window[self.splits[split]["scored"]].reshape(-1)

    def positions(self, split: str) -> np.ndarray:
        return self.scored(split, self.splits[split]["positions"])

    def actual(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return self.scored(split, self.splits[split]["y"]), self.observed[self.positions(split)]

    def to_original(self, split: str, scaled: np.ndarray) -> np.ndarray:
        return self.transform.target_to_original(scaled, self.observed, self.positions(split))

    def to_model(self, split: str, orig: np.ndarray) -> np.ndarray:
        return self.transform.target_to_model(orig, self.observed, self.positions(split))

    def last_observed(self, split: str) -> np.ndarray:
        """The last target value known when each forecast is made."""
        return self.observed[self.positions(split) - self.horizon]

    def score(self, split: str, pred_model: np.ndarray, pred_orig: np.ndarray, extra) -> dict:
        """Every metric of one forecast on one split."""
        actual_m, actual_o = self.actual(split)
        last = self.last_observed(split)
        return split_scores(actual_m, pred_model, actual_o, pred_orig, last, extra)


def evaluate_baselines(data: TaskData, cfg: Task) -> tuple[dict, dict]:
    """Scores and original-unit forecasts of every baseline, per split."""
    metrics: dict[str, dict] = {}
    preds: dict[str, dict] = {}
    extra = cfg.extra_metrics
    for split in SPLITS:
        pos = data.positions(split)
        if not len(pos):
            continue
        fc = simple.forecasts(
            data.observed,
            pos,
            data.horizon,
            cfg.season,
            data.meta["bounds"][0],
            cfg.target_observed,
        )
        if "linear_ar" in cfg.extra_baselines:
            fc["linear_ar"] = data.to_original(split, linear_ar_forecast(data, split))
        infos = {}
        for name, (orig, info) in classical_forecasts(data, cfg, split).items():
            fc[name], infos[name] = orig, info
        for name, orig in fc.items():
            metrics.setdefault(name, {})[split] = data.score(
                split, data.to_model(split, orig), orig, extra
            )
            if name in infos:
                metrics[name][split]["fitted"] = infos[name]
            preds.setdefault(name, {})[split] = orig
    return metrics, preds


def classical_forecasts(data: TaskData, cfg: Task, split: str) -> dict[str, tuple]:
    """The task's statsmodels baselines, parameters estimated on the rows before the split
    (train for val, train + val for test: what the networks may use to fit and select)."""
    specs = cfg.classical
    if not specs or split == "train":  # fitted there: scoring it would say nothing
        return {}
    task = data.meta["task"]
    if data.horizon != 1:
        raise StageError(
            f"params.yaml: tasks.{task}.classical: classical baselines forecast one step "
            f"ahead, but the task's horizon is {data.horizon}. Remove `classical` or use horizon 1."
        )
    fit_stop = int(data.meta["bounds"][0 if split == "val" else 1])
    return classical.forecasts(
        data.observed.astype(np.float64), data.positions(split), fit_stop, specs,
        f"tasks.{task}.classical",
    )  # fmt: skip


def linear_ar_forecast(data: TaskData, split: str) -> np.ndarray:
    """The linear autoregression baseline, fitted on the training windows, in model space."""
    train = data.splits["train"]
    if train["x"].ndim != 3 or train["y"].shape[-1] != 1 or train["y"].ndim != 2:
        raise StageError(
            f"params.yaml: tasks.{data.meta['task']}.extra_baselines: linear_ar needs "
            "sliding windows with one target each."
        )
    x = data.splits[split]["x"][data.splits[split]["scored"]]
    return simple.linear_ar(train["x"], train["y"], x)


def evaluate_model(
    data: TaskData, name: str, seed: int, variant: dict, models: Path, extra=(), base=None
) -> tuple[dict, dict]:
    """Scores per split for one trained run (its variant.json as `variant`), plus the
    numpy reference check on test. `base`: a hybrid's classical forecasts in model space,
    added to the network's residual forecasts before anything is scored."""
    out_dir = model_dir(data.meta["task"], name, seed, models)
    preds = load_npz(out_dir / "predictions.npz")
    metrics, orig_preds = {}, {}
    for split in SPLITS:
        if not len(data.positions(split)):
            continue
        scaled = data.scored(split, first_step(preds[split])).astype(np.float64)
        if base is not None:
            scaled = scaled + base[split]
        orig = data.to_original(split, scaled)
        metrics[split] = data.score(split, scaled, orig, extra)
        orig_preds[split] = orig
    metrics["test"]["numpy_max_abs_diff"] = reference_gap(data, variant, out_dir, preds["test"])
    return metrics, orig_preds


def first_step(pred: np.ndarray) -> np.ndarray:
    """A direct multi-step network's step-1 column: the one-step forecast this stage
    scores (stages/backtest.py scores every step)."""
    return pred[:, :1] if pred.ndim == 2 and pred.shape[1] > 1 else pred


def reference_gap(data: TaskData, variant: dict, out_dir: Path, keras_pred: np.ndarray) -> float:
    """Max |numpy forward pass - Keras prediction| on the test windows."""
    weights = load_npz(out_dir / "weights.npz")
    x = model_inputs(data.splits["test"]["x"], variant).astype(np.float64)
    ours = reference.predict(
        variant["model"], [weights[k] for k in sorted(weights)], x, variant["batch_size"]
    )
    keras_pred = keras_pred[: len(x)]  # indexed tasks keep only the first test windows as x
    return float(np.max(np.abs(ours.reshape(-1) - keras_pred.reshape(-1))))


def add_skill(splits: dict, base: dict, ref_name: str) -> None:
    """skill = 1 - RMSE / RMSE of the reference baseline, in original units, per split."""
    for split, m in splits.items():
        ref = base.get(ref_name, {}).get(split, {}).get("rmse_orig")
        if ref and "rmse_orig" in m:
            m["skill"] = 1.0 - m["rmse_orig"] / ref


def evaluate_variant(
    data: TaskData, name: str, runs: dict[int, dict], models: Path, cfg: Task, base: dict,
    base_preds: dict,
) -> tuple[dict, dict]:
    """Every seed's scores, their summary over seeds with the verdict against the strongest
    baseline (Diebold-Mariano with the HLN correction, squared errors, on exactly the same
    targets), and the seed ensemble's forecasts (the mean of the seeds' forecasts in
    original units), which the plots use."""
    per_seed, preds = {}, {}
    hybrid = hybrid_base(data, cfg, next(iter(runs.values())), name)
    for seed, record in runs.items():
        per_seed[seed], preds[seed] = evaluate_model(
            data, name, seed, record, models, cfg.extra_metrics, hybrid
        )
        add_skill(per_seed[seed], base, simple.reference_name(cfg.target_observed))

    def diebold_mariano(split: str, best: str, ensemble: np.ndarray) -> dict:
        return compare(
            "forecast", actual=data.actual(split)[1], pred_model=ensemble,
            pred_base=base_preds[best][split], horizon=data.horizon,
        )  # fmt: skip

    return judge(per_seed, preds, lambda seeds: np.mean(seeds, axis=0), base, "forecast",
                 diebold_mariano)  # fmt: skip


def hybrid_base(data: TaskData, cfg: Task, record: dict, name: str) -> dict | None:
    """A hybrid variant's classical forecasts per split in model space (fitted on the
    training rows only, as in training: stages/core/models/hybrid.py); None for a plain network."""
    if not record.get("hybrid"):
        return None
    from stages.core.models.hybrid import base_in_model_space, classical_spec

    where = f"variants.{name}"
    spec = classical_spec([c.model_dump() for c in cfg.classical], record["hybrid"], where)
    positions = {split: data.positions(split) for split in SPLITS}
    fit_stop = int(data.meta["bounds"][0])
    return base_in_model_space(data.transform, data.observed, positions, fit_stop, spec, where)


def prediction_table(data: TaskData, named_preds: dict[str, dict], every: int) -> pd.DataFrame:
    """Long table (variant, split, idx, date, actual, predicted), one row per target position."""
    frames = []
    dates = data.series["dates"]
    for name, per_split in named_preds.items():
        for split, orig in per_split.items():
            pos = data.positions(split)
            frame = pd.DataFrame(
                {
                    "variant": name,
                    "split": split,
                    "idx": pos,
                    "date": dates[pos],
                    "actual": data.observed[pos],
                    "predicted": orig,
                }
            )
            frames.append(thin(frame.drop_duplicates("idx"), split, every))
    return pd.concat(frames, ignore_index=True)


def thin(frame: pd.DataFrame, split: str, every: int) -> pd.DataFrame:
    """Every `every`-th row, except the first 10 days (1,440 rows) of test, kept whole.

    Jena has 420,551 rows per variant: the plots need the shape of the whole period and
    one detailed stretch, not a 100 MB CSV (tasks.<task>.plot.every; 1 keeps everything).
    """
    if every <= 1:
        return frame
    keep = np.arange(len(frame)) % every == 0
    if split == "test":
        keep[:1440] = True
    return frame[keep]


def report(task: str, models: dict, base: dict, ref_name: str) -> None:
    """Say plainly, per model, how it does against the reference and the best baseline."""
    ref = base[ref_name]["test"]["rmse_orig"]
    for name, splits in models.items():
        test = splits["test"]
        versus = test.get("vs_best_baseline", {})
        print(
            f"evaluate {task}: {name}: test RMSE {test['rmse_orig']:.4g} (mean of "
            f"{len(test['seeds'])} seed(s); {ref_name} {ref:.4g}, skill {test['skill']:+.3f}); "
            f"vs {versus.get('baseline')}: {versus.get('verdict')} "
            f"(p {versus.get('p_value', 1.0):.3g}); "
            f"numpy gap {test['numpy_max_abs_diff']:.1e}"
        )


def evaluate_task(
    task: str,
    cfg: Task | dict,
    seeds: list[int],
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    metrics_dir: Path = METRICS_DIR,
    plots_dir: Path = PLOTS_DIR,
) -> dict:
    """Evaluate every trained variant of `task` (`cfg`: its config object, or the mapping
    the schema turns into one); write the metrics file and prediction table."""
    cfg = cfg if isinstance(cfg, Task) else validated(Task, cfg, f"tasks.{task}")
    reason = unavailable(prepared / task)
    if reason:
        return skip_task(task, metrics_dir, plots_dir)
    variants = trained_variants(task, task_seeds(seeds, {"seeds": cfg.seeds}), models)
    data = TaskData(task, cfg.window.model_dump(), prepared)
    base_metrics, base_preds = evaluate_baselines(data, cfg)
    model_metrics, model_preds = {}, {}
    for name, runs in variants.items():
        model_metrics[name], model_preds[name] = evaluate_variant(
            data, name, runs, models, cfg, base_metrics, base_preds
        )
        hybrid = next(iter(runs.values())).get("hybrid")
        if hybrid:  # the results table marks it (stages/report.py)
            model_metrics[name]["test"]["hybrid"] = hybrid
    ref_name = simple.reference_name(cfg.target_observed)
    result = {"models": model_metrics, "baselines": base_metrics}
    named = {**model_preds, **{f"baseline:{k}": v for k, v in base_preds.items()}}
    table = prediction_table(data, named, cfg.plot.every if cfg.plot else 1)
    with atomic_path(plots_dir / task / "predictions.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_json(metrics_dir / f"{task}.json", result)
    write_json(headline_path(task, metrics_dir), headline(task, result, "forecast"))
    report(task, model_metrics, base_metrics, ref_name)
    return result


def skip_task(task: str, metrics_dir: Path, plots_dir: Path) -> dict:
    """A task whose data is unavailable: say so in its metrics file, with no numbers."""
    result = {"unavailable": SKIPPED}  # the full reason is in the upstream markers
    with atomic_path(plots_dir / task / "predictions.csv") as tmp:
        tmp.write_text("variant,split,idx,date,actual,predicted\n", encoding="utf-8")
    write_json(metrics_dir / f"{task}.json", result)
    write_json(headline_path(task, metrics_dir), {"net": "not run"})
    print(f"evaluate {task}: skipped, data unavailable (no metrics written)")
    return result


if __name__ == "__main__":
    stage_cli(
        "evaluate", "tasks",
        lambda task, _entry, params: evaluate_task(task, typed(params, "tasks", task),
                                                   params["seeds"]),
    )  # fmt: skip
