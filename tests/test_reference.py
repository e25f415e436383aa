"""The numpy forward pass reproduces Keras for every cell, layout and stateful batches."""

import keras
import numpy as np
import pytest

from stages.core.io import StageError
from stages.core.models.zoo import build_model, compile_model
from stages.core.scoring.reference import predict

CASES = {
    "simple_rnn": {
        "layers": [{"type": "simple_rnn", "units": 3}],
        "head": {"units": 1, "activation": "tanh"},
    },
    "lstm": {"layers": [{"type": "lstm", "units": 5}], "head": {"units": 1}},
    "gru": {"layers": [{"type": "gru", "units": 4}], "head": {"units": 1}},
    "stacked_bidirectional": {
        "layers": [
            {"type": "gru", "units": 4, "bidirectional": True},
            {"type": "lstm", "units": 3, "bidirectional": True},
            {"type": "dense", "units": 4, "activation": "relu"},
        ],
        "head": {"units": 2},
    },
    "dense": {
        "layers": [
            {"type": "flatten"},
            {"type": "dense", "units": 8, "activation": "relu"},
            {"type": "dropout", "rate": 0.3},
        ],
        "head": {"units": 1},
    },
    "sequence_output": {
        "layers": [{"type": "simple_rnn", "units": 6, "activation": "relu"}],
        "head": {"units": 1},
        "sequence_output": True,
    },
}


def randomise(model, seed=0):
    """Weights ~ N(0, 0.5): large enough that a wrong gate order cannot hide."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, size=w.shape) for w in model.get_weights()])


@pytest.mark.parametrize("name", CASES)
def test_numpy_forward_pass_matches_keras(name):
    keras.utils.set_random_seed(0)
    arch = CASES[name]
    model = build_model(arch, (12, 2))
    randomise(model)
    x = np.random.default_rng(1).normal(size=(7, 12, 2)).astype(np.float32)
    gap = np.abs(model.predict(x, verbose=0) - predict(arch, model.get_weights(), x)).max()
    assert gap <= 1e-5


def test_seed_001_hand_computation():
    """SimpleRNN(2, linear) -> Dense(1) on [1, 2, 3]: the seed printed -3.86981216."""
    weights = [
        np.array([[0.18662322, -1.2369459]]),
        np.array([[0.86981213, -0.49338293], [0.49338293, 0.8698122]]),
        np.zeros(2),
        np.array([[-0.4635998], [0.6538409]]),
        np.zeros(1),
    ]
    arch = {
        "layers": [{"type": "simple_rnn", "units": 2, "activation": "linear"}],
        "head": {"units": 1, "activation": "linear"},
    }
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    assert predict(arch, weights, x)[0, 0] == pytest.approx(-3.86981216, abs=1e-5)
    model = build_model(arch, (3, 1))
    model.set_weights(weights)
    assert model.predict(x, verbose=0)[0, 0] == pytest.approx(-3.86981216, abs=1e-5)


def test_stateful_lstm_carries_state_across_batches_like_keras():
    arch = {
        "layers": [{"type": "lstm", "units": 6}],
        "head": {"units": 1},
        "stateful": True,
        "sequence_output": True,
    }
    model = build_model(arch, (4, 1), batch_size=5)
    randomise(model, 3)
    x = np.random.default_rng(2).normal(size=(15, 4, 1)).astype(np.float32)
    model.layers[0].reset_states()
    keras_out = model.predict(x, batch_size=5, verbose=0)
    ours = predict(arch, model.get_weights(), x, batch_size=5)
    assert np.abs(keras_out - ours).max() <= 1e-5
    fresh = np.concatenate(
        [predict(arch, model.get_weights(), x[i : i + 5], 5) for i in range(0, 15, 5)]
    )
    assert np.abs(fresh - ours)[5:].max() > 1e-3  # zero state per batch is different


def test_unknown_layer_and_optimizer_are_clear_errors():
    with pytest.raises(StageError, match=r"variants.x.model.layers\[0\].type 'cnn' is unknown"):
        build_model(
            {"layers": [{"type": "cnn"}], "head": {"units": 1}}, (3, 1), where="variants.x.model"
        )
    with pytest.raises(StageError, match="units is required"):
        build_model({"layers": [{"type": "gru"}], "head": {"units": 1}}, (3, 1))
    model = build_model(CASES["gru"], (3, 1))
    with pytest.raises(StageError, match="optimizer 'adamw2' is unknown"):
        compile_model(model, {"optimizer": "adamw2"})
