"""Text hybrids: a network's probabilities interpolated with a baseline's, the weight
chosen on validation only (stages/core/scoring/interpolation.py, stages/evaluate_text.py)."""

import numpy as np
import pytest

from stages.core.config import schema
from stages.core.io import StageError
from stages.core.scoring import interpolation
from stages.evaluate_text import hybrids

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 4000)


def noisy(y: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """P(positive) of a classifier that knows y up to logistic noise."""
    logit = np.where(y == 1, 1.5, -1.5) + rng.normal(0, noise, len(y))
    return 1 / (1 + np.exp(-logit))


def test_a_useless_baseline_gets_weight_zero_and_a_useless_network_weight_one():
    loss = interpolation.log_loss_for(Y)
    good, coin = noisy(Y, 1.0, np.random.default_rng(1)), np.full(len(Y), 0.5)
    assert interpolation.choose_weight(good, coin, loss) == 0.0
    assert interpolation.choose_weight(coin, good, loss) == 1.0


def test_two_independent_models_mix_and_the_mixture_beats_both_on_validation():
    loss = interpolation.log_loss_for(Y)
    a, b = noisy(Y, 2.0, np.random.default_rng(2)), noisy(Y, 2.0, np.random.default_rng(3))
    w = interpolation.choose_weight(a, b, loss)
    assert 0.2 < w < 0.8
    assert loss(interpolation.mix(a, b, w)) < min(loss(a), loss(b))


def test_bits_is_the_mean_surprise_of_the_true_character():
    assert interpolation.bits(np.array([0.5, 0.25])) == pytest.approx(1.5)


def char_nets(n: int, rng: np.random.Generator) -> dict:
    return {"t-net": {42: {s: rng.uniform(0.05, 0.9, n) for s in ("val", "test")}}}


def test_the_weight_comes_from_validation_and_the_test_split_changes_nothing():
    rng = np.random.default_rng(4)
    nets = char_nets(500, rng)
    # the n-gram scores one character more than the network: it is cut to the network's
    base = {"ngram": {s: rng.uniform(0.05, 0.9, 501) for s in ("val", "test")}}
    cfg = {"hybrids": [{"variant": "t-net", "baseline": "ngram"}]}
    first = hybrids("t", cfg, nets, base, interpolation.bits)["t-net+ngram"]
    nets["t-net"][42]["test"] = rng.uniform(0.05, 0.9, 500)  # another test split
    base["ngram"]["test"] = rng.uniform(0.05, 0.9, 501)
    second = hybrids("t", cfg, nets, base, interpolation.bits)["t-net+ngram"]
    assert first["weights"] == second["weights"]
    w = first["weights"][42]
    expected = interpolation.mix(nets["t-net"][42]["test"], base["ngram"]["test"][:500], w)
    np.testing.assert_allclose(second["probs"][42]["test"], expected)
    assert first["baseline"] == "ngram"


def test_a_hybrid_of_an_untrained_variant_is_skipped_and_an_unknown_baseline_named():
    nets = char_nets(10, np.random.default_rng(5))
    base = {"ngram": {s: np.full(11, 0.5) for s in ("val", "test")}}
    off = {"hybrids": [{"variant": "t-off", "baseline": "ngram"}]}
    assert hybrids("t", off, nets, base, interpolation.bits) == {}
    typo = {"hybrids": [{"variant": "t-net", "baseline": "ngarm"}]}
    with pytest.raises(StageError, match=r"text_tasks\.t\.hybrids\[0\]\.baseline.*known: ngram"):
        hybrids("t", typo, nets, base, interpolation.bits)


def test_composition_names_a_hybrid_of_another_task_or_an_unknown_baseline():
    tree = {
        "text_tasks": {
            "book": {"kind": "charlm", "hybrids": [{"variant": "rev-gru", "baseline": "ngram"}]},
            "rev": {
                "kind": "sentiment",
                "nbsvm_baselines": [{"name": "nbsvm"}],
                "hybrids": [{"variant": "rev-gru", "baseline": "nbsvm_bigrams"}],
            },
        },
        "text_variants": {"rev-gru": {"task": "rev"}, "book-lstm": {"task": "book"}},
    }
    lines = schema.text_hybrid_names(tree)
    assert lines == [
        "text_tasks.book.hybrids[0].variant: 'rev-gru' is not a text variant of book "
        "(known: book-lstm)",
        "text_tasks.rev.hybrids[0].baseline: 'nbsvm_bigrams' is not a baseline of rev "
        "(known: majority, nbsvm)",
    ]


def test_the_results_table_marks_a_text_hybrid_and_leaves_its_accuracy_blank():
    from stages import report

    test = {"bits_per_char": 1.8, "count": 10, "hybrid": "ngram", "seeds": {"42": {}}}
    metrics = {
        "models": {"b-net+ngram": {"val": {**test}, "test": test}},
        "baselines": {"ngram": {"test": {"bits_per_char": 1.9, "accuracy": 0.5}}},
    }
    rows = report.text_table("b", {"kind": "charlm"}, metrics, {})
    assert "| b-net+ngram (hybrid: ngram) | 1.8 |  | 1 |  |  |" in rows
