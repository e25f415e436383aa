"""Significance tests against hand-worked examples (numbers computed in the test itself)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from stages.core.scoring import significance as sig

# Forecast worked example: six targets, a model and a baseline.
ACTUAL = [2.0, 4.0, 3.0, 5.0, 6.0, 4.0]
MODEL = [2.5, 3.5, 3.0, 5.5, 5.0, 4.0]  # errors -0.5, 0.5, 0, -0.5, 1, 0
BASE = [3.0, 3.0, 4.0, 4.0, 5.0, 6.0]  # errors -1, 1, -1, 1, 1, -2
# Squared-error differentials e_model^2 - e_base^2, written out by hand.
D = [0.25 - 1, 0.25 - 1, 0 - 1, 0.25 - 1, 1 - 1, 0 - 4]


def _hand_dm(horizon: int) -> tuple[float, float]:
    n = 6
    mean = sum(D) / n  # -7.25 / 6
    c = [x - mean for x in D]
    gamma0 = sum(x * x for x in c) / n
    gamma1 = sum(c[t] * c[t - 1] for t in range(1, n)) / n
    v = gamma0 if horizon == 1 else gamma0 + 2 * gamma1
    dm = mean / math.sqrt(v / n)
    h = horizon
    hln = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return hln, 2 * stats.t.sf(abs(hln), n - 1)


def test_diebold_mariano_matches_the_worked_example():
    assert sum(D) == -7.25
    stat, p = sig.diebold_mariano(ACTUAL, MODEL, BASE)
    hand_stat, hand_p = _hand_dm(1)
    assert stat == pytest.approx(hand_stat, abs=1e-12)
    assert p == pytest.approx(hand_p, abs=1e-12)
    assert stat < 0  # the model's errors are smaller


def test_diebold_mariano_horizon_two_adds_one_autocovariance():
    # gamma1 < 0 here but gamma0 + 2*gamma1 stays > 0, so no fallback to gamma0.
    stat, p = sig.diebold_mariano(ACTUAL, MODEL, BASE, horizon=2)
    hand_stat, hand_p = _hand_dm(2)
    assert stat == pytest.approx(hand_stat, abs=1e-12)
    assert p == pytest.approx(hand_p, abs=1e-12)
    assert stat != pytest.approx(_hand_dm(1)[0])


def test_diebold_mariano_identical_swapped_and_nan():
    assert sig.diebold_mariano(ACTUAL, MODEL, MODEL) == (0.0, 1.0)
    stat, p = sig.diebold_mariano(ACTUAL, MODEL, BASE)
    swapped, p_swapped = sig.diebold_mariano(ACTUAL, BASE, MODEL)
    assert swapped == pytest.approx(-stat, abs=1e-12)
    assert p_swapped == pytest.approx(p, abs=1e-12)
    # A NaN anywhere drops that pair only.
    with_nan = sig.diebold_mariano([*ACTUAL, 1.0], [*MODEL, np.nan], [*BASE, 9.0])
    assert with_nan == pytest.approx((stat, p), abs=1e-12)


def _labels(wins: int, losses: int, both_right: int, both_wrong: int):
    """y_true all 1; the model is right where the prediction is 1."""
    model = [1] * wins + [0] * losses + [1] * both_right + [0] * both_wrong
    base = [0] * wins + [1] * losses + [1] * both_right + [0] * both_wrong
    return [1] * len(model), model, base


def test_mcnemar_exact_on_a_small_table():
    y, model, base = _labels(wins=9, losses=1, both_right=5, both_wrong=2)
    stat, p = sig.mcnemar_exact(y, model, base)
    assert p == pytest.approx(2 * stats.binom.cdf(1, 10, 0.5), abs=1e-15)
    assert p == pytest.approx(0.021484375, abs=1e-15)
    assert stat == 8.0  # 9 model-right-base-wrong minus 1 the other way
    assert sig.verdict(stat, p, lower_is_better_stat=False) == "better"
    swapped, p_swapped = sig.mcnemar_exact(y, base, model)
    assert (swapped, p_swapped) == (-8.0, p)


def test_mcnemar_tied_and_no_discordant_pairs():
    y, model, base = _labels(wins=3, losses=3, both_right=4, both_wrong=1)
    assert sig.mcnemar_exact(y, model, base) == (0.0, 1.0)
    assert sig.mcnemar_exact(y, model, model) == (0.0, 1.0)


def test_seed_summary_t_interval():
    out = sig.seed_summary([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert out["mean"] == 3.0
    assert out["std"] == pytest.approx(math.sqrt(2.5), abs=1e-12)
    assert out["ci95"] == pytest.approx([3 - half, 3 + half], abs=1e-12)
    assert sig.seed_summary([0.7]) == {"mean": 0.7}


def _losses(n: int, shift: float, seed: int = 1):
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 1.0, n)
    return base - shift + rng.normal(0, 0.3, n), base


def test_block_bootstrap_detects_a_clearly_better_model():
    model, base = _losses(20_000, 0.5)
    diff, p = sig.block_bootstrap(model, base, block=100, n_boot=500)
    assert diff == pytest.approx(float(np.mean(model - base)), abs=1e-12)
    assert diff < 0
    assert p == 1 / 501  # no resample as extreme: the +1 floor
    assert sig.verdict(diff, p) == "better"
    assert sig.verdict(*sig.block_bootstrap(base, model, block=100, n_boot=500)) == "worse"


def test_block_bootstrap_identical_deterministic_and_ragged_tail():
    model, base = _losses(1_050, 0.0)
    assert sig.block_bootstrap(base, base, block=100, n_boot=200) == (0.0, 1.0)
    assert sig.verdict(0.0, 1.0) == "no difference"
    first = sig.block_bootstrap(model, base, block=100, n_boot=300, seed=7)
    assert sig.block_bootstrap(model, base, block=100, n_boot=300, seed=7) == first
    # 1,050 items: the 50-item tail is kept, so the observed value is the full mean.
    assert first[0] == pytest.approx(float(np.mean(model - base)), abs=1e-12)
    with pytest.raises(ValueError):
        sig.block_bootstrap(model, base, block=2_000)


def test_block_bootstrap_handles_the_charlm_size():
    model, base = _losses(320_000, 0.01)
    diff, p = sig.block_bootstrap(model, base, block=1000, n_boot=2000)
    assert 0 < p <= 1 and math.isfinite(diff)


def test_verdict_sign_conventions():
    assert sig.verdict(-2.5, 0.01) == "better"
    assert sig.verdict(2.5, 0.01) == "worse"
    assert sig.verdict(-2.5, 0.2) == "no difference"
    assert sig.verdict(-2.5, 0.05) == "no difference"  # significant means p < alpha
    assert sig.verdict(-2.5, 0.06, alpha=0.1) == "better"
    assert sig.verdict(3.0, 0.01, lower_is_better_stat=False) == "better"
    assert sig.verdict(-3.0, 0.01, lower_is_better_stat=False) == "worse"
    assert sig.verdict(math.nan, math.nan) == "no difference"


def test_compare_dispatches_and_returns_plain_json():
    fc = sig.compare("forecast", actual=ACTUAL, pred_model=MODEL, pred_base=BASE, horizon=2)
    assert fc["test"] == "diebold_mariano_hln"
    assert (fc["statistic"], fc["p_value"]) == sig.diebold_mariano(ACTUAL, MODEL, BASE, 2)
    y, model, base = _labels(wins=9, losses=1, both_right=5, both_wrong=2)
    probs = [0.9 if m else 0.2 for m in model]  # thresholded at 0.5
    cl = sig.compare("classification", y_true=y, pred_model=probs, pred_base=base)
    assert cl == {
        "test": "mcnemar_exact",
        "statistic": 8.0,
        "p_value": 0.021484375,
        "verdict": "better",
    }
    lm_model, lm_base = _losses(5_000, 0.5)
    lm = sig.compare("charlm", loss_model=lm_model, loss_base=lm_base, block=100)
    assert lm["test"] == "block_bootstrap" and lm["verdict"] == "better"
    for out in (fc, cl, lm):
        assert type(out["statistic"]) is float and type(out["p_value"]) is float
        json.dumps(out)
    with pytest.raises(ValueError):
        sig.compare("regression")
