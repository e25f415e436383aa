"""NBSVM (IMDB) and the War and Peace n-gram baselines, on small synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from stages.core.baselines import nbsvm, ngram
from stages.core.io import StageError


def marked_reviews(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Random word ids; id 1 marks a positive review, id 2 a negative one."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    docs = [
        " ".join(map(str, [*rng.integers(3, 40, rng.integers(5, 15)), 1 if label else 2]))
        for label in y
    ]
    return docs, y


@pytest.mark.parametrize("classifier", ["svm", "lr"])
def test_nbsvm_learns_a_marker_word(classifier):
    train, y_train = marked_reviews(60, 0)
    val, y_val = marked_reviews(20, 1)
    test, y_test = marked_reviews(20, 2)
    spec = {"classifier": classifier, "C": 1.0}
    probs, n_features = nbsvm.nbsvm_probs(train, y_train, {"val": val, "test": test}, spec)
    assert n_features > 39  # unigrams and bigrams of the training reviews
    for split, y in (("val", y_val), ("test", y_test)):
        assert np.all((probs[split] > 0) & (probs[split] < 1))
        assert np.mean((probs[split] >= 0.5) == y) == 1.0


def test_nbsvm_ratio_comes_from_training_rows_only():
    train, y_train = marked_reviews(60, 0)
    val, _ = marked_reviews(20, 1)
    first, _ = nbsvm.nbsvm_probs(train, y_train, {"val": val, "test": ["1 1 1 5"]}, {})
    other, _ = marked_reviews(30, 3)
    second, _ = nbsvm.nbsvm_probs(train, y_train, {"val": val, "test": other}, {})
    assert np.array_equal(first["val"], second["val"])
    x = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0]])
    r = nbsvm.log_count_ratio(x, np.array([1, 1, 0]), alpha=1.0)
    assert np.allclose(r, np.log([3 / 7, 2 / 7, 2 / 7]) - np.log([1 / 4, 2 / 4, 1 / 4]))


def noisy_cycle(pattern: list[int], repeats: int, noise: float, vocab: int, seed: int):
    """The pattern repeated, each character replaced by a random one with prob. noise."""
    rng = np.random.default_rng(seed)
    ids = np.tile(np.array(pattern), repeats)
    flip = rng.random(len(ids)) < noise
    ids[flip] = rng.integers(0, vocab, int(flip.sum()))
    return ids


def test_ngram_distributions_and_lower_orders():
    train = noisy_cycle([0, 1, 0, 2, 3], 200, 0.1, 5, 0)
    held = noisy_cycle([0, 1, 0, 2, 3], 30, 0.1, 5, 1)
    model = ngram.NGram(train, 4, 5, discount=0.6)
    for order in (1, 2, 3, 4):
        ctx = model.contexts(train, held, order)
        dist = model.distribution(ctx, order, 0.4)
        assert np.allclose(dist.sum(axis=1), 1.0)
        looped = np.stack([model.prob(ctx, np.full(len(held), w), order, 0.4) for w in range(5)])
        assert np.allclose(dist, looped.T)
        # a lower order scored from the high-order tables = a model counted at that order
        alone = ngram.NGram(train, order, 5, discount=0.4).score(train, held)
        assert model.score(train, held, order=order, discount=0.4) == pytest.approx(alone)
        assert alone["accuracy"] == np.mean(looped.argmax(axis=0) == held)
    with pytest.raises(StageError, match="counted up to 4"):
        model.contexts(train, held, 5)
    with pytest.raises(StageError, match="discount"):
        model.log2p(train, held, discount=1.5)


def test_log2p_matches_score():
    train = noisy_cycle([0, 1, 2, 1], 100, 0.2, 4, 2)
    held = noisy_cycle([0, 1, 2, 1], 10, 0.2, 4, 3)
    model = ngram.NGram(train, 3, 4)
    for order, discount in ((3, None), (2, 0.9), (1, 0.1)):
        log2p = model.log2p(train, held, order, discount)
        assert log2p.shape == held.shape and np.all(log2p < 0)
        bits = model.score(train, held, order, discount)["bits_per_char"]
        assert bits == pytest.approx(-np.mean(log2p))


def test_select_ngram_prefers_long_contexts_on_a_cycle():
    # after 0 comes 1 or 2 depending on the character before: needs a 3-gram
    train = noisy_cycle([0, 1, 0, 2], 500, 0.02, 3, 4)
    val = noisy_cycle([0, 1, 0, 2], 50, 0.0, 3, 5)
    model, order, discount, table = ngram.select_ngram(train, val, 3, [1, 2, 3, 4], [0.3, 0.9])
    assert order >= 3
    assert set(table) == {f"{o}-gram d={d}" for o in (1, 2, 3, 4) for d in (0.3, 0.9)}
    assert table[f"{order}-gram d={discount:g}"] == min(table.values())
    assert table["3-gram d=0.3"] < table["2-gram d=0.3"] < table["1-gram d=0.3"]
    assert table["3-gram d=0.9"] == pytest.approx(
        model.score(train, val, order=3, discount=0.9)["bits_per_char"]
    )
