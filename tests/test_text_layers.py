"""Issue #11's review-model knobs: embedding masking, spatial dropout and pooling over
time are params the schema accepts, the zoo builds and (pooling) the numpy pass mirrors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from stages.core.config.schema import check_entry
from stages.core.io import StageError
from stages.core.models.arch import return_sequences
from stages.core.models.zoo import build_model
from stages.core.scoring.reference import predict

POOLED = {
    "layers": [
        {"type": "embedding", "input_dim": 20, "output_dim": 4},
        {"type": "spatial_dropout", "rate": 0.2},
        {"type": "gru", "units": 3, "bidirectional": True},
        {"type": "global_max_pool"},
    ],
    "head": {"units": 1, "activation": "sigmoid"},
}


def variant(arch: dict) -> dict:
    train = {"epochs": 1, "loss": "binary_crossentropy"}
    inputs = {"vocab_size": 20, "maxlen": 6}
    return {"task": "imdb", "inputs": inputs, "model": arch, "train": train}


def with_(arch: dict, index: int, **changes) -> dict:
    out = copy.deepcopy(arch)
    out["layers"][index].update(changes)
    return out


def randomise(model, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, size=w.shape) for w in model.get_weights()])


def test_schema_accepts_the_knobs_and_rejects_typos():
    check_entry("text_variants", "x", variant(with_(POOLED, 0, mask_zero=True)))
    check_entry("text_variants", "x", variant(with_(POOLED, 3, type="global_average_pool")))
    with pytest.raises(StageError, match=r"layers\[3\].type: 'global_max_pooling' is unknown"):
        check_entry("text_variants", "x", variant(with_(POOLED, 3, type="global_max_pooling")))
    with pytest.raises(StageError, match=r"layers\[1\].rate: 1.5 must be < 1.0"):
        check_entry("text_variants", "x", variant(with_(POOLED, 1, rate=1.5)))
    with pytest.raises(StageError, match=r"layers\[3\].units"):
        check_entry("text_variants", "x", variant(with_(POOLED, 3, units=4)))


def test_a_recurrent_layer_before_a_pool_returns_sequences():
    assert return_sequences(POOLED) == {2: True}
    no_pool = {**POOLED, "layers": POOLED["layers"][:3]}
    assert return_sequences(no_pool) == {2: False}


@pytest.mark.parametrize("pool", ["global_max_pool", "global_average_pool"])
def test_numpy_pass_matches_keras_with_pooling(pool):
    arch = with_(POOLED, 3, type=pool)
    model = build_model(arch, (6,))
    randomise(model)
    x = np.random.default_rng(1).integers(0, 20, size=(5, 6))
    keras_out = model.predict(x, verbose=0)
    np.testing.assert_allclose(predict(arch, model.get_weights(), x), keras_out, atol=1e-5)


def test_mask_zero_makes_padding_side_irrelevant():
    """With the mask, a review padded before or after gives the same score (average pool
    honours the mask, the recurrent layers skip masked steps); without it they differ."""
    pre = np.array([[0, 0, 0, 5, 7, 9]])
    post = np.array([[5, 7, 9, 0, 0, 0]])
    for mask, same in ((True, True), (False, False)):
        arch = with_(with_(POOLED, 0, mask_zero=mask), 3, type="global_average_pool")
        model = build_model(arch, (6,))
        randomise(model)
        a, b = (model.predict(x, verbose=0) for x in (pre, post))
        assert np.allclose(a, b, atol=1e-6) is same


def test_numpy_pass_refuses_masking():
    arch = with_(POOLED, 0, mask_zero=True)
    model = build_model(arch, (6,))
    with pytest.raises(StageError, match="mask_zero"):
        predict(arch, model.get_weights(), np.zeros((1, 6)))
