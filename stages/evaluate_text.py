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
  text into plots/<task>/data/samples.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.common import (
    StageError,
    atomic_path,
    load_npz,
    load_params,
    run_stage,
    section,
    write_json,
)
from stages.datasets import imdb, warpeace
from stages.evaluate import METRICS_DIR, PLOTS_DIR
from stages.prepare_text import SPLIT_CODES
from stages.train import MODELS_DIR, model_dir
from stages.train_text import load_task

# What each kind is judged on: (metric, split, lower is better). The report's verdict
# and the score chart both read it.
HEADLINE = {
    "sentiment": ("accuracy", "test", False),
    "charlm": ("bits_per_char", "val", True),
}


def best_baseline(metrics: dict, kind: str) -> float:
    """The number a model of this kind has to beat."""
    metric, split, lower = HEADLINE[kind]
    return (min if lower else max)(s[split][metric] for s in metrics["baselines"].values())


def text_variants(params: dict, task: str) -> dict[str, dict]:
    variants = {k: v for k, v in (params.get("text_variants") or {}).items() if v["task"] == task}
    if not variants:
        raise StageError(f"params.yaml: no text_variants entry has task '{task}'. Add one.")
    return variants


def classification_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Scikit-learn's metrics on P(positive); the decision threshold is 0.5."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    pred = (p >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "roc_auc": float(roc_auc_score(y, p)),
        "f1": float(f1_score(y, pred)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "count": len(y),
    }


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


def evaluate_sentiment(task: str, cfg: dict, variants: dict, models: Path, plots: Path) -> dict:
    ids, _ = load_task(task)
    truth = {s: ids["label"][ids["split"] == c].astype(int) for s, c in SPLIT_CODES.items()}
    probs = {"models": {}, "baselines": sentiment_baselines(ids, cfg)}
    for name in variants:
        preds = load_npz(model_dir(task, name, models) / "predictions.npz")
        probs["models"][name] = {s: preds[s] for s in ("val", "test")}
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


def evaluate_charlm(task: str, cfg: dict, variants: dict, models: Path, plots: Path) -> dict:
    ids, meta = load_task(task)
    vocab = len(meta["alphabet"])
    history, held_out = ids["train"], ids["val"]
    result: dict[str, Any] = {"models": {}, "baselines": {}}
    for name in variants:
        preds = load_npz(model_dir(task, name, models) / "predictions.npz")
        result["models"][name] = {
            "val": {
                "bits_per_char": float(-np.mean(preds["log2p"].astype(np.float64))),
                "accuracy": float(np.mean(preds["correct"])),
                "count": len(preds["log2p"]),
            }
        }
    for order in cfg.get("ngram_orders", [1, 2, 5]):
        model = warpeace.NGram(history, int(order), vocab, float(cfg.get("ngram_discount", 0.75)))
        # the same targets as the RNNs: every held-out character after the first
        scored = model.score(np.append(history, held_out[:1]), held_out[1:])
        result["baselines"][f"{order}-gram"] = {"val": {**scored, "count": len(held_out) - 1}}
        print(f"evaluate_text: {order}-gram {scored['bits_per_char']:.3f} bits/char")
    samples = [
        (model_dir(task, name, models) / "samples.md").read_text("utf-8") for name in variants
    ]
    with atomic_path(plots / task / "data" / "samples.md") as tmp:
        tmp.write_text(f"# {cfg.get('title', task)}: generated text\n\n" + "\n".join(samples))
    return result


def evaluate_text_task(
    task: str,
    params: dict,
    models: Path = MODELS_DIR,
    metrics_dir: Path = METRICS_DIR,
    plots_dir: Path = PLOTS_DIR,
) -> dict:
    cfg = section(params, "text_tasks", task)
    variants = text_variants(params, task)
    evaluate = evaluate_sentiment if cfg["kind"] == "sentiment" else evaluate_charlm
    result = evaluate(task, cfg, variants, models, plots_dir)
    write_json(metrics_dir / f"{task}.json", result)
    for kind in ("models", "baselines"):
        for name, splits in result[kind].items():
            last = splits.get("test") or splits["val"]
            shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "count")
            print(f"evaluate_text {task}: {name}: {shown}")
    return result


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise StageError("usage: python -m stages.evaluate_text <text task>")
    evaluate_text_task(argv[0], load_params())


if __name__ == "__main__":
    run_stage(main)
