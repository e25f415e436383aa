"""Model zoo: every seed model, built from a `model:` block of params.yaml.

    model:
      layers:                    # in order
        - {type: simple_rnn | lstm | gru, units: 32, activation: tanh,
           recurrent_activation: sigmoid, dropout: 0.0, recurrent_dropout: 0.0,
           bidirectional: false, return_sequences: null}   # null = automatic
        - {type: dense, units: 32, activation: relu}
        - {type: dropout, rate: 0.3}
        - {type: flatten}
        - {type: embedding, input_dim: 10000, output_dim: 128,   # first, for integer ids
           mask_zero: false}     # true: id 0 (padding) masked, recurrent layers skip it
        - {type: spatial_dropout, rate: 0.2}   # whole channels of a sequence (SpatialDropout1D)
        - {type: global_max_pool | global_average_pool}   # over time: the RNN before it
                                 # returns sequences (the average honours the mask)
      head: {units: 1, activation: linear}   # TimeDistributed when sequence_output
      stateful: false            # carry state across batches (seed 003)
      sequence_output: false     # many-to-many: one output per time step

stages/core/scoring/reference.py mirrors this in numpy; both read the schema in
stages/core/models/arch.py.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from stages.core.config.names import LAYER_TYPES, OPTIMIZER_NAMES, POOL_TYPES, RNN_TYPES
from stages.core.io import StageError
from stages.core.models.arch import return_sequences

RNN = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}
POOLS = {
    "global_max_pool": layers.GlobalMaxPooling1D,
    "global_average_pool": layers.GlobalAveragePooling1D,
}
OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}
assert set(RNN) == set(RNN_TYPES) and set(OPTIMIZERS) == set(OPTIMIZER_NAMES)
assert set(POOLS) == set(POOL_TYPES)


def _units(spec: dict, where: str) -> int:
    if not spec.get("units"):
        raise StageError(f"params.yaml: {where}.units is required (a positive integer).")
    return int(spec["units"])


def rnn_layer(spec: dict, sequences: bool, stateful: bool, where: str) -> keras.Layer:
    """One recurrent layer, wrapped in Bidirectional when asked."""
    kwargs: dict[str, Any] = {
        "units": _units(spec, where),
        "activation": spec.get("activation", "tanh"),
        "dropout": float(spec.get("dropout", 0.0)),
        "recurrent_dropout": float(spec.get("recurrent_dropout", 0.0)),
        "return_sequences": sequences,
        "stateful": stateful,
    }
    if spec["type"] != "simple_rnn":
        kwargs["recurrent_activation"] = spec.get("recurrent_activation", "sigmoid")
    layer = RNN[spec["type"]](**kwargs)
    return layers.Bidirectional(layer) if spec.get("bidirectional") else layer


def other_layer(spec: dict, where: str) -> keras.Layer:
    """Dense, Dropout, Flatten, Embedding, SpatialDropout1D or a global pooling over time."""
    kind = spec.get("type")
    if kind == "embedding":
        return layers.Embedding(
            int(spec["input_dim"]), int(spec["output_dim"]), mask_zero=bool(spec.get("mask_zero"))
        )
    if kind == "spatial_dropout":
        return layers.SpatialDropout1D(float(spec.get("rate", 0.0)))
    if kind in POOLS:
        return POOLS[kind]()
    if kind == "dense":
        return layers.Dense(_units(spec, where), activation=spec.get("activation"))
    if kind == "dropout":
        return layers.Dropout(float(spec.get("rate", 0.0)))
    if kind == "flatten":
        return layers.Flatten()
    known = ", ".join(LAYER_TYPES)
    raise StageError(f"params.yaml: {where}.type {kind!r} is unknown (known: {known}).")


def build_model(
    arch: dict, input_shape: tuple[int, ...], batch_size: int | None = None, where: str = "model"
) -> keras.Sequential:
    """A Sequential model for (time steps, features) inputs; stateful models fix the batch.

    A model whose first layer is an embedding reads (time steps,) integer ids instead.
    """
    stateful = bool(arch.get("stateful"))
    first = (arch.get("layers") or [{}])[0]
    dtype = "int32" if first.get("type") == "embedding" else "float32"
    if stateful:
        inputs = keras.Input(batch_shape=(batch_size, *input_shape), dtype=dtype)
    else:
        inputs = keras.Input(shape=tuple(input_shape), dtype=dtype)
    model = keras.Sequential([inputs])
    seqs = return_sequences(arch)
    for i, spec in enumerate(arch.get("layers") or []):
        at = f"{where}.layers[{i}]"
        is_rnn = spec.get("type") in RNN
        model.add(rnn_layer(spec, seqs[i], stateful, at) if is_rnn else other_layer(spec, at))
    head_spec = arch.get("head") or {}
    head = layers.Dense(_units(head_spec, f"{where}.head"), activation=head_spec.get("activation"))
    model.add(layers.TimeDistributed(head) if arch.get("sequence_output") else head)
    return model


def learning_rate(train: dict, where: str = "train"):
    """`train.learning_rate`, or a Keras schedule built from `train.lr_schedule`.

    Why a schedule: a fixed rate tuned for the first steps is too large late in a short
    budget; cosine (optionally after a linear warmup from 0) or exponential decay lets the
    same number of steps end lower. Schedules count optimizer steps (batches), so they
    resume with the optimizer's iteration counter after a checkpoint.
    """
    rate = float(train.get("learning_rate", 0.001))
    spec = train.get("lr_schedule")
    if not spec:
        return rate
    kind, at = spec.get("type"), f"params.yaml: {where}.lr_schedule"
    steps = int(spec.get("decay_steps") or 0)
    if steps < 1:
        raise StageError(f"{at}.decay_steps must be a positive number of batches.")
    if kind == "cosine":
        warmup = int(spec.get("warmup_steps", 0))
        alpha = float(spec.get("alpha", 0.0))
        if warmup:
            return keras.optimizers.schedules.CosineDecay(
                0.0, steps, alpha=alpha, warmup_target=rate, warmup_steps=warmup
            )
        return keras.optimizers.schedules.CosineDecay(rate, steps, alpha=alpha)
    if kind == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            rate, steps, float(spec.get("decay_rate", 0.5)), staircase=bool(spec.get("staircase"))
        )
    raise StageError(f"{at}.type {kind!r} is unknown (known: cosine, exponential).")


def compile_model(model: keras.Model, train: dict, where: str = "train") -> None:
    """Optimizer, learning rate (or schedule), gradient clipping and loss from params."""
    name = train.get("optimizer", "adam")
    if name not in OPTIMIZERS:
        raise StageError(
            f"params.yaml: {where}.optimizer {name!r} is unknown (known: {', '.join(OPTIMIZERS)})."
        )
    kwargs: dict[str, Any] = {"learning_rate": learning_rate(train, where)}
    if train.get("clipnorm"):  # rescale each gradient whose L2 norm exceeds it (RNN blow-ups)
        kwargs["clipnorm"] = float(train["clipnorm"])
    optimizer = OPTIMIZERS[name](**kwargs)
    model.compile(
        optimizer=optimizer, loss=train.get("loss", "mse"), metrics=list(train.get("metrics", []))
    )
