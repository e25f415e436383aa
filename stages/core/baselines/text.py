"""The text tasks' baselines, by the names their metrics use.

- sentiment: `majority` (the training share of positive reviews), each entry of
  `tfidf_baselines` (TF-IDF + logistic regression, scikit-learn) and of `nbsvm_baselines`
  (stages/core/baselines/nbsvm.py), all fitted on the same training reviews as the networks;
- charlm: `unigram` and `ngram` (stages/core/baselines/ngram.py), counted on the training
  text, the n-gram's order and discount chosen on the validation text.

stages/evaluate_text.py scores them beside the networks; each returns its probabilities of
what happened, which the significance tests and the text hybrids use.
"""

from __future__ import annotations

import numpy as np

from stages.core.baselines import nbsvm, ngram
from stages.core.io import SPLIT_CODES

HELD_OUT = ("val", "test")  # the splits every text model and baseline is scored on


def as_documents(flat: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> list[str]:
    """Reviews as space-separated ids, for the TF-IDF baseline (same words as the RNNs)."""
    return [" ".join(map(str, flat[offsets[r] : offsets[r + 1]])) for r in rows]


def sentiment_baselines(ids: dict, cfg: dict) -> dict[str, dict[str, np.ndarray]]:
    """P(positive) per split from the majority class and each TF-IDF + LR configuration."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = {split: np.flatnonzero(ids["split"] == code) for split, code in SPLIT_CODES.items()}
    label = ids["label"]
    share = float(label[rows["train"]].mean())
    out = {"majority": {s: np.full(len(rows[s]), share) for s in ("val", "test")}}
    docs = {s: as_documents(ids["flat"], ids["offsets"], r) for s, r in rows.items()}
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
    for spec in cfg.get("nbsvm_baselines", []):
        held_out = {s: docs[s] for s in ("val", "test")}
        y_train = label[rows["train"]]
        out[spec["name"]], _ = nbsvm.nbsvm_probs(docs["train"], y_train, held_out, spec)
    return out


def ngram_baselines(ids: dict, vocab: int, cfg: dict, histories: dict) -> tuple[dict, dict]:
    """The unigram model and the n-gram model whose order and discount score best on the
    validation text (both counted on the training text), scored on every held-out
    character after the first; and their per-character log2 probabilities."""
    orders = [int(o) for o in cfg.get("ngram_orders", [1, 2, 3, 5, 7, 9])]
    discounts = [float(d) for d in cfg.get("ngram_discounts", [0.75])]
    model, order, discount, table = ngram.select_ngram(
        ids["train"], ids["val"], vocab, orders, discounts
    )
    print(f"evaluate_text: n-gram chosen on validation: order {order}, discount {discount}")
    chosen = {"unigram": (1, discount), "ngram": (order, discount)}
    metrics: dict[str, dict] = {}
    log2p: dict[str, dict] = {}
    for name, (k, d) in chosen.items():
        metrics[name], log2p[name] = {}, {}
        for split in HELD_OUT:
            held_out = ids[split]
            history = np.append(histories[split], held_out[:1])
            scored = model.score(history, held_out[1:], order=k, discount=d)
            log2p[name][split] = model.log2p(history, held_out[1:], order=k, discount=d)
            metrics[name][split] = {**scored, "count": len(held_out) - 1}
            print(
                f"evaluate_text: {name} ({k}-gram) {split} {scored['bits_per_char']:.3f} bits/char"
            )
    metrics["ngram"]["val"]["fitted"] = {"order": order, "discount": discount, "val_bits": table}
    return metrics, log2p
