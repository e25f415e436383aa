"""train.clipnorm and train.lr_schedule (stages/core/models/zoo.py compile_model): the optimizer
Keras gets, the schedule's rate at given steps, and the schema's check of the keys."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from stages.core.config.schema import check_params
from stages.core.io import StageError
from stages.profile import compose


def compiled(train: dict):
    """A tiny model compiled with `train`; returns its optimizer."""
    import keras

    from stages.core.models.zoo import compile_model

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    compile_model(model, train)
    return model.optimizer


def rate_at(optimizer, step: int) -> float:
    schedule = optimizer._learning_rate  # the schedule object, not its current value
    return float(schedule(step)) if callable(schedule) else float(schedule)


def test_clipnorm_reaches_the_optimizer_and_is_off_by_default():
    assert compiled({"optimizer": "rmsprop", "clipnorm": 1.5}).clipnorm == 1.5
    assert compiled({"optimizer": "adam"}).clipnorm is None


def test_cosine_schedule_with_warmup_peaks_at_the_learning_rate_then_decays():
    opt = compiled(
        {
            "optimizer": "adam",
            "learning_rate": 0.01,
            "lr_schedule": {"type": "cosine", "decay_steps": 100, "warmup_steps": 10},
        }
    )
    assert rate_at(opt, 0) == pytest.approx(0.0)
    assert rate_at(opt, 5) == pytest.approx(0.005)
    assert rate_at(opt, 10) == pytest.approx(0.01)
    assert rate_at(opt, 60) == pytest.approx(0.005, rel=1e-4)  # half way down the cosine
    assert rate_at(opt, 110) == pytest.approx(0.0, abs=1e-7)


def test_exponential_schedule_and_fixed_rate():
    opt = compiled(
        {
            "optimizer": "rmsprop",
            "learning_rate": 0.004,
            "lr_schedule": {"type": "exponential", "decay_steps": 50, "decay_rate": 0.5},
        }
    )
    assert rate_at(opt, 50) == pytest.approx(0.002)
    assert rate_at(opt, 100) == pytest.approx(0.001)
    assert rate_at(compiled({"learning_rate": 0.02}), 1000) == pytest.approx(0.02)


def test_a_schedule_changes_training():
    """The schedule is really used by fit: a rate decayed to ~0 leaves the weights put."""
    import keras

    from stages.core.models.zoo import compile_model

    def weights_after(train: dict) -> np.ndarray:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        compile_model(model, train)
        before = model.get_weights()[0].copy()
        model.fit(np.ones((64, 3)), np.full(64, 5.0), batch_size=8, epochs=2, verbose=0)
        return model.get_weights()[0] - before

    fixed = weights_after({"optimizer": "sgd", "learning_rate": 0.01})
    decayed = weights_after(
        {
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "lr_schedule": {"type": "exponential", "decay_steps": 1, "decay_rate": 0.01},
        }
    )
    assert np.abs(decayed).max() < 0.2 * np.abs(fixed).max()  # only step 1 at full rate


def test_an_unknown_schedule_type_is_a_stage_error_naming_the_key():
    with pytest.raises(StageError, match=r"train.lr_schedule.type 'step' is unknown"):
        compiled({"lr_schedule": {"type": "step", "decay_steps": 5}})


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    out = tmp_path_factory.mktemp("params") / "params.yaml"
    compose("default", output=out)
    return yaml.safe_load(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("train", "fragment"),
    [
        ({"clipnorm": 0}, "train.clipnorm"),
        ({"lr_schedule": {"type": "cosine"}}, "lr_schedule.decay_steps"),
        ({"lr_schedule": {"type": "cosine", "decay_steps": 9, "warmup": 1}}, "warmup"),
        ({"lr_schedule": {"type": "linear", "decay_steps": 9}}, "lr_schedule.type"),
    ],
)
def test_schema_checks_the_knobs(tree, train, fragment):
    bad = copy.deepcopy(tree)
    bad["text_variants"]["warpeace-char_lstm"]["train"].update(train)
    with pytest.raises(StageError, match=fragment):
        check_params(bad)


def test_schema_accepts_the_knobs(tree):
    good = copy.deepcopy(tree)
    good["variants"]["dji-gru"]["train"].update(
        clipnorm=1.0, lr_schedule={"type": "cosine", "decay_steps": 100, "warmup_steps": 5}
    )
    check_params(good)
