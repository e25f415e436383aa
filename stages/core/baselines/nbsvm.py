"""NBSVM, the strongest classical baseline for review sentiment (Wang & Manning 2012).

Fitted by stages/evaluate_text.py on the same training reviews as the networks (documents of
word ids, so it sees exactly their vocabulary); `text_tasks.<task>.nbsvm_baselines` entries
override NBSVM_DEFAULTS.
"""

from __future__ import annotations

import numpy as np

from stages.core.io import StageError

# NBSVM (Wang & Manning 2012, "Baselines and Bigrams", ACL): binarised uni+bigrams scaled
# by the naive-Bayes log-count ratio, then a linear SVM whose weights are interpolated
# towards their mean magnitude (beta = 0.25, the paper's value). C = 0.1 won on a 4,000-
# review hold-out of the 20,000 training reviews (C in 0.01..1; beta 0.25 beat 1.0 by
# ~0.6 points, and NB-LR at its best C by ~0.4; trigrams added nothing for 2.5x the time).
# On the 5,000 validation reviews: 0.913 accuracy (NB-LR 0.912); test 0.913 (NB-LR 0.912).
NBSVM_DEFAULTS = {
    "ngram_range": [1, 2],
    "alpha": 1.0,
    "C": 0.1,
    "min_df": 1,
    "max_features": None,
    "classifier": "svm",  # "svm" (interpolated, Platt-calibrated) or "lr" (NB-LR)
    "beta": 0.25,
    "calibration_folds": 3,
}


def log_count_ratio(x, y: np.ndarray, alpha: float) -> np.ndarray:
    """r = log((p/|p|_1) / (q/|q|_1)), p and q the alpha-smoothed feature counts of the
    positive and negative rows (Wang & Manning 2012, section 2.1); training rows only."""
    p = alpha + np.asarray(x[y == 1].sum(axis=0), dtype=np.float64).ravel()
    q = alpha + np.asarray(x[y == 0].sum(axis=0), dtype=np.float64).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


def nb_scores(x_train, y_train: np.ndarray, xs: list, spec: dict) -> list[np.ndarray]:
    """Decision scores for each matrix of `xs` from a classifier fitted on x_train * r.

    The SVM weights become w' = (1 - beta) * mean|w| + beta * w, the bias beta * b: the
    paper's MNB/SVM interpolation, which is what makes NBSVM robust on long reviews.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    r = log_count_ratio(x_train, y_train, float(spec["alpha"]))
    scaled = x_train.multiply(r).tocsr()
    if spec["classifier"] == "lr":
        model = LogisticRegression(C=float(spec["C"]), max_iter=1000).fit(scaled, y_train)
        w, b = model.coef_.ravel(), float(model.intercept_[0])
    elif spec["classifier"] == "svm":
        model = LinearSVC(C=float(spec["C"]), max_iter=5000, random_state=0)
        model.fit(scaled, y_train)
        beta = float(spec["beta"])
        w = (1 - beta) * np.abs(model.coef_).mean() + beta * model.coef_.ravel()
        b = beta * float(model.intercept_[0])
    else:
        raise StageError(
            f"params.yaml: NBSVM classifier must be svm or lr, not {spec['classifier']!r}."
        )
    return [np.asarray(x @ (r * w)).ravel() + b for x in xs]


def platt(x_train, y_train: np.ndarray, spec: dict) -> tuple[float, float]:
    """Sigmoid slope and offset for SVM scores (Platt 1999), fitted on out-of-fold scores
    so the probabilities are not overconfident from scoring the SVM's own training rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(int(spec["calibration_folds"]), shuffle=True, random_state=0)
    oof = np.zeros(len(y_train))
    for fit, held in folds.split(np.zeros(len(y_train)), y_train):
        (oof[held],) = nb_scores(x_train[fit], y_train[fit], [x_train[held]], spec)
    sigmoid = LogisticRegression(C=1e4).fit(oof[:, None], y_train)
    return float(sigmoid.coef_[0, 0]), float(sigmoid.intercept_[0])


def nbsvm_probs(
    train_docs: list[str], y_train: np.ndarray, docs: dict[str, list[str]], spec: dict
) -> tuple[dict[str, np.ndarray], int]:
    """P(positive) per split of `docs` from NBSVM (or NB-LR), and the number of features.

    Documents are word ids joined by spaces; counts are binarised, as in the paper.
    """
    import time

    from scipy.special import expit
    from sklearn.feature_extraction.text import CountVectorizer

    spec = {**NBSVM_DEFAULTS, **spec}
    start = time.perf_counter()
    vectorizer = CountVectorizer(
        binary=True,
        token_pattern=r"\S+",  # every word id is one token
        ngram_range=tuple(spec["ngram_range"]),
        min_df=spec["min_df"],
        max_features=spec["max_features"],
        dtype=np.float64,
    )
    x_train = vectorizer.fit_transform(train_docs)
    y_train = np.asarray(y_train).astype(int)
    xs = [vectorizer.transform(docs[split]) for split in docs]
    scores = nb_scores(x_train, y_train, xs, spec)
    slope, offset = platt(x_train, y_train, spec) if spec["classifier"] == "svm" else (1.0, 0.0)
    probs = {split: expit(slope * s + offset) for split, s in zip(docs, scores, strict=True)}
    name = spec.get("name", "NBSVM")  # the entry's name in its task's nbsvm_baselines
    print(
        f"evaluate_text: baseline {name} (NBSVM, {spec['classifier']}) "
        f"{x_train.shape[1]:,} features, {time.perf_counter() - start:.1f} s"
    )
    return probs, int(x_train.shape[1])
