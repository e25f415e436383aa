"""Hybrid variants: a network on a classical model's residuals (stages/core/models/hybrid.py).

What must hold: the classical part is fitted on the training rows only (nothing later can
move it), it is added back in the task's model space so the combined forecast lands in
original units on the baselines' own targets, a wrong name fails naming the params key,
and the results table marks the variant."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from stages import report
from stages.core.baselines import classical
from stages.core.config.variants import Variant
from stages.core.data.transforms import Transform
from stages.core.io import StageError
from stages.core.models import hybrid

SARIMA = {"name": "sarima_log", "kind": "arima", "order": [0, 1, 1],
          "seasonal_order": [0, 1, 1, 12], "log": True}  # fmt: skip
FIT_STOP = 84  # the training rows


def airline_like(n: int = 132, seed: int = 5) -> np.ndarray:
    """Positive monthly series with trend and multiplicative season, like the airline data."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 * np.exp(0.01 * t + 0.15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.03, n))


def logdiff_transform(y: np.ndarray) -> Transform:
    """The airline_logdiff chain: log, lag-1 difference, min-max to [-1, 1] on train rows."""
    tf = Transform(log=True, difference=1, feature_range=(-1.0, 1.0))
    tf.fit(y[:, None], slice(0, FIT_STOP))
    return tf


def positions() -> dict[str, np.ndarray]:
    return {"train": np.arange(13, FIT_STOP), "val": np.arange(84, 100),
            "test": np.arange(100, 132)}  # fmt: skip


def test_combined_forecast_is_the_classical_one_in_original_units():
    y = airline_like()
    tf, pos = logdiff_transform(y), positions()
    base = hybrid.base_in_model_space(tf, y, pos, FIT_STOP, SARIMA, "variants.v")
    held = np.concatenate([pos["val"], pos["test"]])
    expected, _ = classical.forecasts(y, held, FIT_STOP, [SARIMA], "w")["sarima_log"]
    got = np.concatenate([tf.target_to_original(base[s], y, pos[s]) for s in ("val", "test")])
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # a network output of zero residual scores exactly as the classical model would
    assert base["train"].shape == pos["train"].shape


def test_nothing_after_the_training_rows_moves_the_classical_part():
    y = airline_like()
    tf, pos = logdiff_transform(y), positions()
    base = hybrid.base_in_model_space(tf, y, pos, FIT_STOP, SARIMA, "variants.v")
    shaken = y.copy()
    shaken[100:] *= np.random.default_rng(1).uniform(0.5, 2.0, size=32)  # test rows only
    again = hybrid.base_in_model_space(tf, shaken, pos, FIT_STOP, SARIMA, "variants.v")
    for split in ("train", "val"):
        np.testing.assert_array_equal(again[split], base[split])
    # the test forecasts do follow the new history (a filter, not a frozen forecast) ...
    assert not np.allclose(again["test"][1:], base["test"][1:])
    # ... but the first one only reads rows before the test split
    np.testing.assert_array_equal(again["test"][0], base["test"][0])


def test_an_unknown_classical_name_names_the_params_key():
    with pytest.raises(StageError, match=r"variants\.v\.hybrid is 'sarima'.*sarima_log"):
        hybrid.classical_spec([SARIMA], "sarima", "variants.v")


def test_the_schema_takes_hybrid_as_a_name():
    variant = {"task": "t", "hybrid": "sarima_log", "model": {"layers": [{"type": "gru",
               "units": 4}], "head": {"units": 1}}, "train": {"epochs": 1}}  # fmt: skip
    assert Variant.model_validate(variant).hybrid == "sarima_log"
    with pytest.raises(ValueError):
        Variant.model_validate({**variant, "hybrid": {"name": "x"}})


def test_the_results_table_marks_a_hybrid(tmp_path):
    test = {"rmse_orig": 9.0, "mae_orig": 4.0, "count": 40, "seeds": {"42": {}}}
    metrics = {
        "models": {"net": {"test": {**test, "hybrid": "sarima_log"}}, "plain": {"test": test}},
        "baselines": {"naive": {"test": copy.deepcopy(test)}},
    }
    (tmp_path / "t.json").write_text(json.dumps(metrics))
    rows = report.render({"tasks": {"t": {"units": "u"}}}, tmp_path).splitlines()
    assert any(r.startswith("| t | net (hybrid: sarima_log) |") for r in rows)
    assert any(r.startswith("| t | plain |") for r in rows)


def test_a_hybrid_run_carries_its_classical_entry_only():
    """The training stage lists `runs.<run>` and `tasks.<task>.window`, not the whole task:
    the hybrid's base is copied into its runs entry at composition."""
    from stages.core.config.runs import runs

    tasks = {"t": {"classical": [SARIMA, {"name": "other", "kind": "ets"}]}}
    variants = {"t-net": {"task": "t", "hybrid": SARIMA["name"]}, "t-plain": {"task": "t"}}
    out = runs(variants, tasks, [1])
    assert out["t-net-s1"]["classical"] == SARIMA
    assert "classical" not in out["t-plain-s1"]
    with pytest.raises(ValueError, match=r"variants\.t-net\.hybrid is 'nope'.*tasks\.t\.classical"):
        runs({"t-net": {"task": "t", "hybrid": "nope"}}, tasks, [1])
