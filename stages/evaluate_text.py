"""Stage `evaluate_text@<task>`: score every text variant, over its seeds, against its
baselines, and test whether it really beats the strongest one.

metrics/<task>.json has the same shape as the forecasting tasks: {"models": {variant:
{split: {metric: value}}}, "baselines": {...}}; a model's numbers are the mean over its
seeds (`_std`, `_ci95` and each seed's own under `seeds`), and `vs_best_baseline` tests
the seed ensemble (mean probability) against the strongest baseline on the same targets.

- sentiment (IMDB): accuracy, ROC AUC, F1 and log loss on the validation reviews and on
  the 25,000 test reviews; baselines are the majority class, TF-IDF + logistic
  regression and NBSVM (scikit-learn), fitted on the same training reviews as the RNNs;
  exact McNemar test. Also writes plots/<task>/data/roc/ and confusion/ for `dvc plots`.
- charlm (War and Peace): bits per character and next-character accuracy on the
  validation and test text; the baseline is a character n-gram model (interpolated
  absolute discounting) counted on the training text, its order and discount chosen on
  validation; paired block bootstrap over chunks of test text. Also gathers every
  variant's generated text (first seed) into metrics/samples/<task>.json.

Both kinds write plots/<task>/data/scores.csv: every model's and baseline's headline
number, drawn by `dvc plots show`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.core.baselines.text import HELD_OUT, ngram_baselines, sentiment_baselines
from stages.core.config.entry import stage_cli
from stages.core.config.runs import task_seeds
from stages.core.io import (
    METRICS_DIR,
    MODELS_DIR,
    PLOTS_DIR,
    PREPARED_DIR,
    SPLIT_CODES,
    StageError,
    atomic_path,
    load_npz,
    model_dir,
    read_json,
    trained_variants,
    write_json,
)
from stages.core.scoring.interpolation import bits, choose_weight, log_loss_for, mix
from stages.core.scoring.metrics import (
    HEADLINE,
    charlm_scores,
    classification_scores,
    headline,
    headline_path,
    judge,
)
from stages.core.scoring.significance import compare


def load_task(task: str, prepared: Path = PREPARED_DIR) -> tuple[dict, dict]:
    """The prepared ids and meta.json of a text task."""
    meta = read_json(prepared / task / "meta.json", f"prepare_text@{task}")
    return load_npz(prepared / task / "ids.npz"), meta


def evaluate_sentiment(
    task: str, cfg: dict, variants: dict, models: Path, plots: Path, _metrics_dir: Path
) -> dict:
    ids, _ = load_task(task)
    truth = {s: ids["label"][ids["split"] == SPLIT_CODES[s]].astype(int) for s in HELD_OUT}
    base_probs = sentiment_baselines(ids, cfg)
    base = {
        name: {s: classification_scores(truth[s], p[s]) for s in HELD_OUT}
        for name, p in base_probs.items()
    }
    result: dict[str, Any] = {"models": {}, "baselines": base}
    nets = {
        name: {seed: predictions(task, name, seed, models) for seed in runs}
        for name, runs in variants.items()
    }
    mixed = hybrids(task, cfg, nets, base_probs, log_loss_for(truth["val"]))

    def mcnemar(split: str, best: str, ensemble: np.ndarray) -> dict:
        return compare(
            "classification", y_true=truth[split], pred_model=ensemble,
            pred_base=base_probs[best][split],
        )  # fmt: skip

    ensembles = {}
    for name, probs in {**nets, **{n: h["probs"] for n, h in mixed.items()}}.items():
        per_seed = {
            seed: {s: classification_scores(truth[s], p[s]) for s in HELD_OUT}
            for seed, p in probs.items()
        }
        if name in mixed:
            note_weights(per_seed, mixed[name]["weights"])
        result["models"][name], ensembles[name] = judge(
            per_seed, probs, lambda seeds: np.mean(seeds, 0), base, "sentiment", mcnemar
        )
    mark_hybrids(result["models"], mixed)
    write_curves(plots / task / "data", truth["test"], {**ensembles, **base_probs}, list(ensembles))
    return result


def predictions(task: str, name: str, seed: int, models: Path) -> dict[str, np.ndarray]:
    """One review model's P(positive) per held-out split, float64."""
    saved = load_npz(model_dir(task, name, seed, models) / "predictions.npz")
    return {s: saved[s].reshape(-1).astype(np.float64) for s in HELD_OUT}


def hybrids(
    task: str, cfg: dict, nets: dict, base_probs: dict, loss: Callable
) -> dict[str, dict]:
    """Every `hybrids` entry whose variant was trained: {"<variant>+<baseline>": {"baseline",
    "probs": {seed: {split: p}}, "weights": {seed: w}}}, w chosen on validation per seed.
    A charlm network scores the held-out text after its first character, a prefix of what
    the n-gram scores, so the baseline is cut to the network's length."""
    out = {}
    for i, spec in enumerate(cfg.get("hybrids") or []):
        variant, baseline = spec["variant"], spec["baseline"]
        if baseline not in base_probs:
            raise StageError(
                f"params.yaml: text_tasks.{task}.hybrids[{i}].baseline is {baseline!r}, not a "
                f"baseline of {task} (known: {', '.join(base_probs)}). Name one of those."
            )
        if variant not in nets:
            print(f"evaluate_text: hybrid {variant}+{baseline} skipped: {variant} not trained")
            continue
        probs, weights = {}, {}
        for seed, p in nets[variant].items():
            theirs = {s: base_probs[baseline][s][: len(p[s])] for s in HELD_OUT}
            weights[seed] = choose_weight(p["val"], theirs["val"], loss)
            probs[seed] = {s: mix(p[s], theirs[s], weights[seed]) for s in HELD_OUT}
        out[f"{variant}+{baseline}"] = {"baseline": baseline, "probs": probs, "weights": weights}
        print(
            f"evaluate_text: hybrid {variant}+{baseline}: {baseline}'s weight chosen on "
            f"validation {', '.join(f'{w:.2f}' for w in weights.values())} (per seed)"
        )
    return out


def note_weights(per_seed: dict, weights: dict) -> None:
    """Each seed's interpolation weight beside its scores, on both splits (averaged over
    seeds like any metric)."""
    for seed, splits in per_seed.items():
        for scores in splits.values():
            scores["baseline_weight"] = weights[seed]


def mark_hybrids(models: dict, mixed: dict) -> None:
    """The results table labels these rows "(hybrid: <baseline>)" (stages/report.py)."""
    for name, entry in mixed.items():
        for split in HELD_OUT:
            models[name][split]["hybrid"] = entry["baseline"]


def write_curves(out: Path, y: np.ndarray, probs: dict[str, dict], models: list[str]) -> None:
    """Test ROC points (thinned) per model and baseline, and the per-review rows that
    DVC's `confusion` template counts, per model: plots/<task>/data/{roc,confusion}/."""
    from sklearn.metrics import roc_curve

    actual = np.where(y == 1, "positive", "negative")
    for name, p in probs.items():
        fpr, tpr, _ = roc_curve(y, p["test"])
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
        with atomic_path(out / "roc" / f"{name}.csv") as tmp:
            pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]}).to_csv(
                tmp, index=False, float_format="%.5g"
            )
        if name in models:
            predicted = np.where(p["test"] >= 0.5, "positive", "negative")
            with atomic_path(out / "confusion" / f"{name}.csv") as tmp:
                pd.DataFrame({"actual": actual, "predicted": predicted}).to_csv(tmp, index=False)


def evaluate_charlm(
    task: str, cfg: dict, variants: dict, models: Path, plots: Path, metrics_dir: Path
) -> dict:
    ids, meta = load_task(task)
    vocab = len(meta["alphabet"])
    histories = {"val": ids["train"], "test": np.concatenate([ids["train"], ids["val"]])}
    base, base_log2p = ngram_baselines(ids, vocab, cfg, histories)
    result: dict[str, Any] = {"models": {}, "baselines": base}
    block = int((cfg.get("significance") or {}).get("block", 1000))
    saved = {
        name: {
            seed: load_npz(model_dir(task, name, seed, models) / "predictions.npz") for seed in runs
        }
        for name, runs in variants.items()
    }
    # each run's probability of every true next character, float64
    nets = {
        name: {
            seed: {s: np.exp2(r[f"{s}_log2p"].astype(np.float64)) for s in HELD_OUT}
            for seed, r in runs.items()
        }
        for name, runs in saved.items()
    }
    base_probs = {n: {s: np.exp2(lp[s]) for s in HELD_OUT} for n, lp in base_log2p.items()}
    mixed = hybrids(task, cfg, nets, base_probs, bits)

    def bootstrap(split: str, best: str, ensemble_log2p: np.ndarray) -> dict:
        # the model's targets are the first len(...) held-out characters after the first
        ours = -ensemble_log2p
        theirs = -base_log2p[best][split][: len(ours)]
        return compare("charlm", loss_model=ours, loss_base=theirs, block=block)

    for name, probs in {**nets, **{n: h["probs"] for n, h in mixed.items()}}.items():
        per_seed = {
            seed: {s: char_scores(saved.get(name, {}).get(seed), s, p[s]) for s in HELD_OUT}
            for seed, p in probs.items()
        }
        if name in mixed:
            note_weights(per_seed, mixed[name]["weights"])
        # the seed ensemble: log2 of the mean of the seeds' probabilities of the true character
        result["models"][name], _ = judge(
            per_seed, probs, lambda seeds: np.log2(np.mean(seeds, 0)), base, "charlm", bootstrap
        )
    mark_hybrids(result["models"], mixed)
    samples = {
        name: read_json(
            model_dir(task, name, min(runs), models) / "samples.json", f"train_text@{name}"
        )
        for name, runs in variants.items()
    }
    write_json(samples_path(task, metrics_dir), samples)
    return result


def char_scores(saved: dict | None, split: str, p_true: np.ndarray) -> dict[str, float]:
    """A trained network's bits/char and next-character accuracy from its predictions file;
    a hybrid (`saved` None) has bits/char only: its accuracy would need the network's whole
    distribution."""
    if saved is None:
        return {"bits_per_char": bits(p_true), "count": len(p_true)}
    return charlm_scores(saved[f"{split}_log2p"], saved[f"{split}_correct"])


def samples_path(task: str, metrics_dir: Path = METRICS_DIR) -> Path:
    """Generated text of every variant of a character task, as evaluate_text gathers it."""
    return metrics_dir / "samples" / f"{task}.json"


def write_scores(path: Path, result: dict, kind: str) -> None:
    """The headline number of every model and baseline, one row each, for `dvc plots`."""
    metric, split, _ = HEADLINE[kind]
    rows = [
        {"name": name, "role": role[:-1], metric: splits[split][metric]}
        for role in ("models", "baselines")
        for name, splits in result[role].items()
    ]
    with atomic_path(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")


def evaluate_text_task(
    task: str,
    cfg: dict,
    seeds: list[int],
    models: Path = MODELS_DIR,
    metrics_dir: Path = METRICS_DIR,
    plots_dir: Path = PLOTS_DIR,
) -> dict:
    variants = trained_variants(task, task_seeds(seeds, cfg), models)
    evaluate = evaluate_sentiment if cfg["kind"] == "sentiment" else evaluate_charlm
    result = evaluate(task, cfg, variants, models, plots_dir, metrics_dir)
    if cfg["kind"] != "charlm":
        write_json(samples_path(task, metrics_dir), {})  # no text generated: an empty record
    write_scores(plots_dir / task / "data" / "scores.csv", result, cfg["kind"])
    write_json(metrics_dir / f"{task}.json", result)
    write_json(headline_path(task, metrics_dir), headline(task, result, cfg["kind"]))
    for kind in ("models", "baselines"):
        for name, splits in result[kind].items():
            last = splits.get("test") or splits["val"]
            shown = ", ".join(
                f"{k} {v:.4g}" for k, v in last.items() if isinstance(v, float) and k != "count"
            )
            if "vs_best_baseline" in last:
                versus = last["vs_best_baseline"]
                shown += (
                    f"; vs {versus['baseline']}: {versus['verdict']} (p {versus['p_value']:.3g})"
                )
            print(f"evaluate_text {task}: {name}: {shown}")
    return result


if __name__ == "__main__":
    stage_cli(
        "evaluate_text",
        "text_tasks",
        lambda task, cfg, params: evaluate_text_task(task, cfg, params["seeds"]),
    )
