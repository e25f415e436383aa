"""Stage `evaluate@<task>`: score every variant of a task against its baselines.

Writes metrics/<task>.json as {"models": {NAME: {SPLIT: {METRIC: value}}}, "baselines": ...}
with RMSE / MAE in model space (`rmse`, `mae`) and in original units (`rmse_orig`,
`mae_orig`), `skill` = 1 - RMSE / RMSE of the reference baseline (naive persistence, or
the training mean when the target is not observed; original units), and for the
test split `numpy_max_abs_diff`: how far stages/reference.py's numpy forward pass is from
Keras's predictions. Also writes plots/<task>/predictions.csv for the plots stage.
No TensorFlow here: predictions were saved by the train stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    root_mean_squared_error,
)

from stages import baselines, reference
from stages.common import (
    SKIPPED,
    StageError,
    atomic_path,
    load_npz,
    load_params,
    run_stage,
    section,
    unavailable,
    write_json,
)
from stages.prepare import PREPARED_DIR, SPLITS
from stages.train import MODELS_DIR, load_split_data, model_dir, model_inputs
from stages.transforms import Transform

METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")


def load_metrics(task: str, metrics_dir: Path = METRICS_DIR) -> dict[str, Any]:
    """A task's metrics file, as written by evaluate_task (for the plots and report stages)."""
    path = metrics_dir / f"{task}.json"
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro evaluate@{task}` first.")
    return json.loads(path.read_text(encoding="utf-8"))


def task_variants(params: dict[str, Any], task: str) -> dict[str, dict]:
    """Variants whose `task` is this task, in params order."""
    return {k: v for k, v in (params.get("variants") or {}).items() if v.get("task") == task}


def scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE and MAE over the targets where the forecast exists."""
    ok = np.isfinite(predicted)
    if not ok.any():
        return {}
    return {
        "rmse": float(root_mean_squared_error(actual[ok], predicted[ok])),
        "mae": float(mean_absolute_error(actual[ok], predicted[ok])),
    }


def direction_accuracy(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> float | None:
    """Share of targets where the forecast moves the same way as reality (0.5 = coin toss).

    Forecasts that predict no move at all (the random walk) are left out: they make no
    directional call, so None when no forecast makes one.
    """
    calls = np.isfinite(predicted) & (predicted != last)
    if not calls.any():
        return None
    same = np.sign(predicted[calls] - last[calls]) == np.sign(actual[calls] - last[calls])
    return float(same.mean())


def extra_scores(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray, names) -> dict:
    """Optional original-unit metrics a task asks for (tasks.<task>.extra_metrics)."""
    ok = np.isfinite(predicted)
    out: dict[str, float] = {}
    if "mape" in names and ok.any():
        out["mape"] = float(mean_absolute_percentage_error(actual[ok], predicted[ok]))
    if "direction_acc" in names:
        acc = direction_accuracy(actual, predicted, last)
        if acc is not None:
            out["direction_acc"] = acc
    return out


def split_scores(actual_model, pred_model, actual_orig, pred_orig) -> dict[str, float]:
    """Model-space and original-unit scores for one split, plus the target count."""
    out = scores(actual_model, pred_model)
    orig = scores(actual_orig, pred_orig)
    out.update({f"{k}_orig": v for k, v in orig.items()})
    out["count"] = int(np.isfinite(pred_orig).sum())
    return out


class TaskData:
    """The targets of every split, flattened, in model space and original units."""

    def __init__(self, task: str, prepared: Path = PREPARED_DIR):
        self.splits, self.meta = load_split_data(task, prepared)
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
        horizon = int(self.meta["window"].get("horizon", 1))
        return self.observed[self.positions(split) - horizon]

    def score(self, split: str, pred_model: np.ndarray, pred_orig: np.ndarray, extra) -> dict:
        """Every metric of one forecast on one split."""
        actual_m, actual_o = self.actual(split)
        out = split_scores(actual_m, pred_model, actual_o, pred_orig)
        if extra:
            out.update(extra_scores(actual_o, pred_orig, self.last_observed(split), extra))
        return out


def evaluate_baselines(data: TaskData, cfg: dict) -> tuple[dict, dict]:
    """Scores and original-unit forecasts of every baseline, per split."""
    horizon = int(data.meta["window"].get("horizon", 1))
    metrics: dict[str, dict] = {}
    preds: dict[str, dict] = {}
    extra = cfg.get("extra_metrics") or []
    for split in SPLITS:
        pos = data.positions(split)
        if not len(pos):
            continue
        fc = baselines.forecasts(
            data.observed,
            pos,
            horizon,
            cfg.get("season"),
            data.meta["bounds"][0],
            bool(cfg.get("target_observed", True)),
        )
        if "linear_ar" in (cfg.get("extra_baselines") or []):
            fc["linear_ar"] = data.to_original(split, linear_ar_forecast(data, split))
        for name, orig in fc.items():
            metrics.setdefault(name, {})[split] = data.score(
                split, data.to_model(split, orig), orig, extra
            )
            preds.setdefault(name, {})[split] = orig
    return metrics, preds


def linear_ar_forecast(data: TaskData, split: str) -> np.ndarray:
    """The linear autoregression baseline, fitted on the training windows, in model space."""
    train = data.splits["train"]
    if train["x"].ndim != 3 or train["y"].shape[-1] != 1 or train["y"].ndim != 2:
        raise StageError(
            f"params.yaml: tasks.{data.meta['task']}.extra_baselines: linear_ar needs "
            "sliding windows with one target each."
        )
    x = data.splits[split]["x"][data.splits[split]["scored"]]
    return baselines.linear_ar(train["x"], train["y"], x)


def evaluate_model(
    data: TaskData, name: str, variant: dict, models: Path, extra=()
) -> tuple[dict, dict]:
    """Scores per split for one trained variant, plus the numpy reference check on test."""
    out_dir = model_dir(data.meta["task"], name, models)
    preds = load_npz(out_dir / "predictions.npz")
    metrics, orig_preds = {}, {}
    for split in SPLITS:
        if not len(data.positions(split)):
            continue
        scaled = data.scored(split, preds[split]).astype(np.float64)
        orig = data.to_original(split, scaled)
        metrics[split] = data.score(split, scaled, orig, extra)
        orig_preds[split] = orig
    metrics["test"]["numpy_max_abs_diff"] = reference_gap(data, variant, out_dir, preds["test"])
    return metrics, orig_preds


def reference_gap(data: TaskData, variant: dict, out_dir: Path, keras_pred: np.ndarray) -> float:
    """Max |numpy forward pass - Keras prediction| on the test windows."""
    weights = load_npz(out_dir / "weights.npz")
    saved = json.loads((out_dir / "variant.json").read_text(encoding="utf-8"))
    x = model_inputs(data.splits["test"]["x"], variant).astype(np.float64)
    ours = reference.predict(
        variant["model"], [weights[k] for k in sorted(weights)], x, batch_size=saved["batch_size"]
    )
    keras_pred = keras_pred[: len(x)]  # indexed tasks keep only the first test windows as x
    return float(np.max(np.abs(ours.reshape(-1) - keras_pred.reshape(-1))))


def add_skill(models: dict, base: dict, ref_name: str) -> None:
    """skill = 1 - RMSE / RMSE of the reference baseline, in original units, per split."""
    for splits in models.values():
        for split, m in splits.items():
            ref = base.get(ref_name, {}).get(split, {}).get("rmse_orig")
            if ref and "rmse_orig" in m:
                m["skill"] = 1.0 - m["rmse_orig"] / ref


def prediction_table(data: TaskData, named_preds: dict[str, dict]) -> pd.DataFrame:
    """Long table (variant, split, idx, date, actual, predicted), one row per target position."""
    frames = []
    dates = data.series["dates"]
    every = int(data.meta["window"].get("plot_every", 1))
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
    one detailed stretch, not a 100 MB CSV (window.plot_every; 1 keeps everything).
    """
    if every <= 1:
        return frame
    keep = np.arange(len(frame)) % every == 0
    if split == "test":
        keep[:1440] = True
    return frame[keep]


def report(task: str, models: dict, base: dict, ref_name: str) -> None:
    """Say plainly, per model, whether it beats the reference baseline on test."""
    ref = base[ref_name]["test"]["rmse_orig"]
    for name, splits in models.items():
        rmse = splits["test"]["rmse_orig"]
        verdict = "beats" if rmse < ref else "does NOT beat"
        print(
            f"evaluate {task}: {name} {verdict} the {ref_name} baseline on test "
            f"(RMSE {rmse:.4g} vs {ref:.4g}, skill {splits['test']['skill']:+.3f}; "
            f"numpy gap {splits['test']['numpy_max_abs_diff']:.1e})"
        )


def evaluate_task(
    task: str,
    params: dict,
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    metrics_dir: Path = METRICS_DIR,
    plots_dir: Path = PLOTS_DIR,
) -> dict:
    """Evaluate every variant of `task`; write the metrics file and the prediction table."""
    cfg = section(params, "tasks", task)
    variants = task_variants(params, task)
    if not variants:
        raise StageError(f"params.yaml: no variant has task '{task}'. Add one under variants.")
    reason = unavailable(prepared / task)
    if reason:
        return skip_task(task, metrics_dir, plots_dir)
    data = TaskData(task, prepared)
    base_metrics, base_preds = evaluate_baselines(data, cfg)
    model_metrics, model_preds = {}, {}
    for name, variant in variants.items():
        model_metrics[name], model_preds[name] = evaluate_model(
            data, name, variant, models, cfg.get("extra_metrics") or []
        )
    ref_name = baselines.reference(cfg)
    add_skill(model_metrics, base_metrics, ref_name)
    result = {"models": model_metrics, "baselines": base_metrics}
    table = prediction_table(
        data, {**model_preds, **{f"baseline:{k}": v for k, v in base_preds.items()}}
    )
    with atomic_path(plots_dir / task / "predictions.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_json(metrics_dir / f"{task}.json", result)
    report(task, model_metrics, base_metrics, ref_name)
    return result


def skip_task(task: str, metrics_dir: Path, plots_dir: Path) -> dict:
    """A task whose data is unavailable: say so in its metrics file, with no numbers."""
    result = {"unavailable": SKIPPED}  # the full reason is in the upstream markers
    with atomic_path(plots_dir / task / "predictions.csv") as tmp:
        tmp.write_text("variant,split,idx,date,actual,predicted\n", encoding="utf-8")
    write_json(metrics_dir / f"{task}.json", result)
    print(f"evaluate {task}: skipped, data unavailable (no metrics written)")
    return result


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise StageError("usage: python -m stages.evaluate <task>")
    evaluate_task(argv[0], load_params())


if __name__ == "__main__":
    run_stage(main)
