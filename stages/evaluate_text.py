"""Stage `evaluate_text@<task>`: score every text variant against its baselines.

metrics/<task>.json has the same shape as the forecasting tasks: {"models": {variant:
{split: {metric: value}}}, "baselines": {...}}.

- sentiment (IMDB): accuracy, ROC AUC, F1 and log loss on the validation reviews and on
  the 25,000 test reviews; baselines are the majority class and TF-IDF + logistic
  regression (scikit-learn), fitted on the same training reviews as the RNNs. Also
  writes plots/<task>/data/roc/ and confusion/ for `dvc plots` (test split).
- charlm (War and Peace): bits per character and next-character accuracy on the
  held-out text; baselines are character n-gram models (interpolated absolute
  discounting) counted on the training text. Also gathers every variant's generated
  text (models/<task>/<variant>/samples.json) into metrics/samples/<task>.json.

Both kinds write plots/<task>/data/scores.csv: every model's and baseline's headline
number, drawn by `dvc plots show`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.core.io import (
    METRICS_DIR,
    MODELS_DIR,
    PLOTS_DIR,
    PREPARED_DIR,
    SPLIT_CODES,
    atomic_path,
    load_npz,
    model_dir,
    read_json,
    stage_cli,
    trained_variants,
    write_json,
)
from stages.core.metrics import HEADLINE, charlm_scores, classification_scores
from stages.datasets import imdb, warpeace


def load_task(task: str, prepared: Path = PREPARED_DIR) -> tuple[dict, dict]:
    """The prepared ids and meta.json of a text task."""
    meta = read_json(prepared / task / "meta.json", f"prepare_text@{task}")
    return load_npz(prepared / task / "ids.npz"), meta


def sentiment_baselines(ids: dict, cfg: dict) -> dict[str, dict[str, np.ndarray]]:
    """P(positive) per split from the majority class and each TF-IDF + LR configuration."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = {split: np.flatnonzero(ids["split"] == code) for split, code in SPLIT_CODES.items()}
    label = ids["label"]
    share = float(label[rows["train"]].mean())
    out = {"majority": {s: np.full(len(rows[s]), share) for s in ("val", "test")}}
    docs = {s: imdb.as_documents(ids["flat"], ids["offsets"], r) for s, r in rows.items()}
    for spec in cfg.get("tfidf_baselines", []):
        vectorizer = TfidfVectorizer(
            token_pattern=r"\S+",  # documents are word ids: every id is one token
            ngram_range=tuple(spec.get("ngram_range", [1, 1])),
            max_features=spec.get("max_features"),
            min_df=spec.get("min_df", 1),
            sublinear_tf=bool(spec.get("sublinear_tf", False)),
        )
        x_train = vectorizer.fit_transform(docs["train"])
        model = LogisticRegression(C=float(spec.get("C", 1.0)), max_iter=1000)
        model.fit(x_train, label[rows["train"]])
        out[spec["name"]] = {
            s: model.predict_proba(vectorizer.transform(docs[s]))[:, 1] for s in ("val", "test")
        }
        print(f"evaluate_text: baseline {spec['name']} ({x_train.shape[1]:,} features) fitted")
    return out


def evaluate_sentiment(
    task: str, cfg: dict, variants: dict, models: Path, plots: Path, _metrics_dir: Path
) -> dict:
    ids, _ = load_task(task)
    truth = {s: ids["label"][ids["split"] == c].astype(int) for s, c in SPLIT_CODES.items()}
    probs = {"models": {}, "baselines": sentiment_baselines(ids, cfg)}
    for name in variants:
        preds = load_npz(model_dir(task, name, models) / "predictions.npz")
        probs["models"][name] = {s: preds[s].reshape(-1) for s in ("val", "test")}
    result = {
        kind: {
            name: {s: classification_scores(truth[s], p[s]) for s in ("val", "test")}
            for name, p in entries.items()
        }
        for kind, entries in probs.items()
    }
    named = {**probs["models"], **probs["baselines"]}
    write_curves(plots / task / "data", truth["test"], named, list(variants))
    return result


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
    history, held_out = ids["train"], ids["val"]
    result: dict[str, Any] = {"models": {}, "baselines": {}}
    for name in variants:
        preds = load_npz(model_dir(task, name, models) / "predictions.npz")
        result["models"][name] = {"val": charlm_scores(preds["log2p"], preds["correct"])}
    for order in cfg.get("ngram_orders", [1, 2, 5]):
        model = warpeace.NGram(history, int(order), vocab, float(cfg.get("ngram_discount", 0.75)))
        # the same targets as the RNNs: every held-out character after the first
        scored = model.score(np.append(history, held_out[:1]), held_out[1:])
        result["baselines"][f"{order}-gram"] = {"val": {**scored, "count": len(held_out) - 1}}
        print(f"evaluate_text: {order}-gram {scored['bits_per_char']:.3f} bits/char")
    samples = {
        name: read_json(model_dir(task, name, models) / "samples.json", f"train_text@{name}")
        for name in variants
    }
    write_json(samples_path(task, metrics_dir), samples)
    return result


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
    models: Path = MODELS_DIR,
    metrics_dir: Path = METRICS_DIR,
    plots_dir: Path = PLOTS_DIR,
) -> dict:
    variants = trained_variants(task, models)
    evaluate = evaluate_sentiment if cfg["kind"] == "sentiment" else evaluate_charlm
    result = evaluate(task, cfg, variants, models, plots_dir, metrics_dir)
    if cfg["kind"] != "charlm":
        write_json(samples_path(task, metrics_dir), {})  # no text generated: an empty record
    write_scores(plots_dir / task / "data" / "scores.csv", result, cfg["kind"])
    write_json(metrics_dir / f"{task}.json", result)
    for kind in ("models", "baselines"):
        for name, splits in result[kind].items():
            last = splits.get("test") or splits["val"]
            shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "count")
            print(f"evaluate_text {task}: {name}: {shown}")
    return result


if __name__ == "__main__":
    stage_cli("evaluate_text", "text_tasks", lambda task, cfg, _p: evaluate_text_task(task, cfg))
