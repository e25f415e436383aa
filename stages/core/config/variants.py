"""`variants.<name>` and `text_variants.<name>`: a network's layers, its training and, for
text, its input encoding (stages train / train_text; built by stages/core/models/)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, Tag, model_validator

from stages.core.config.base import (
    TAG,
    DropRate,
    Fraction,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    Strict,
    problem,
    tagged,
)
from stages.core.config.names import LAYER_TYPES, OPTIMIZER_NAMES, POOL_TYPES, RNN_TYPES

# ----------------------------------------------------------------------------- variants


class RnnLayer(Strict):
    type: Literal[RNN_TYPES]  # type: ignore[valid-type]
    units: PosInt
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    dropout: DropRate = 0.0
    recurrent_dropout: DropRate = 0.0
    bidirectional: bool = False
    return_sequences: bool | None = None


class DenseLayer(Strict):
    type: Literal["dense"]
    units: PosInt
    activation: str | None = None


class DropoutLayer(Strict):
    type: Literal["dropout"]
    rate: DropRate = 0.0


class FlattenLayer(Strict):
    type: Literal["flatten"]


class EmbeddingLayer(Strict):
    type: Literal["embedding"]
    input_dim: PosInt | None = None  # text stages fill in the vocabulary size
    output_dim: PosInt
    mask_zero: bool = False  # id 0 (padding) is masked: recurrent layers skip those steps


class SpatialDropoutLayer(Strict):
    """Drops whole embedding channels (SpatialDropout1D), not single values."""

    type: Literal["spatial_dropout"]
    rate: DropRate = 0.0


class PoolLayer(Strict):
    """Global max / average over time; the recurrent layer before it returns sequences."""

    type: Literal[POOL_TYPES]  # type: ignore[valid-type]


LAYER_MODELS = {
    "rnn": RnnLayer,
    "dense": DenseLayer,
    "dropout": DropoutLayer,
    "flatten": FlattenLayer,
    "embedding": EmbeddingLayer,
    "spatial_dropout": SpatialDropoutLayer,
    "pool": PoolLayer,
}
GROUPS = dict.fromkeys(RNN_TYPES, "rnn") | dict.fromkeys(POOL_TYPES, "pool")
assert set(LAYER_TYPES) == set(GROUPS) | set(LAYER_MODELS) - {"rnn", "pool"}, "names.LAYER_TYPES"
Layer = Annotated[
    Union[tuple(Annotated[m, Tag(f"type{TAG}{k}")] for k, m in LAYER_MODELS.items())],  # noqa: UP007
    tagged("type", LAYER_TYPES, group=GROUPS),
]


class Head(Strict):
    units: PosInt | None = None  # a charlm head gets the alphabet size when unset
    activation: str | None = None


class Model(Strict):
    """A variant's `model:` block (stages/core/models/zoo.py)."""

    layers: Annotated[list[Layer], Field(min_length=1)]
    head: Head = Head()
    stateful: bool = False
    sequence_output: bool = False


class EarlyStopping(Strict):
    patience: PosInt = 10
    min_delta: NonNegFloat = 0.0


class Distribute(Strict):
    """`train.distribute` (stages/core/models/distribute.py): the tf.distribute strategy."""

    strategy: Literal["none", "mirrored", "multi_worker"] = "none"
    devices: list[str] | None = None  # mirrored only: e.g. [/gpu:0, /gpu:1]


class LrSchedule(Strict):
    """`train.lr_schedule` (stages/core/models/zoo.py learning_rate): Keras CosineDecay (peak
    `train.learning_rate`, after `warmup_steps` of linear warmup from 0) or
    ExponentialDecay (times `decay_rate` every `decay_steps`); steps are batches."""

    type: Literal["cosine", "exponential"]
    decay_steps: PosInt
    alpha: NonNegFloat = 0.0  # cosine: the final rate as a share of the peak
    warmup_steps: NonNegInt = 0  # cosine only
    decay_rate: Fraction = 0.5  # exponential only
    staircase: bool = False  # exponential only


class Train(Strict):
    """A variant's `train:` block (stages/core/models/: fit.py, layouts.py, zoo.py)."""

    optimizer: Literal[OPTIMIZER_NAMES] = "adam"  # type: ignore[valid-type]
    learning_rate: PosFloat = 0.001
    lr_schedule: LrSchedule | None = None
    clipnorm: PosFloat | None = None  # clip each gradient to this L2 norm
    loss: str = "mse"
    metrics: list[str] = []
    epochs: PosInt
    batch_size: PosInt | None = None
    eval_batch_size: PosInt | None = None
    eval_streams: PosInt | None = None  # character models: held-out streams (batch_size)
    shuffle: bool = True
    steps_per_epoch: PosInt | None = None
    cache_validation: bool = True
    train_stride: PosInt | None = None
    early_stopping: EarlyStopping | None = None
    restore_best: bool = False
    checkpoint_every: NonNegFloat = 30.0
    sample_every: NonNegInt = 0  # character models: print a sample every N epochs
    distribute: Distribute | None = None


class Variant(Strict):
    """`variants.<name>`: a forecasting model trained on `task`."""

    task: str
    enabled: bool = True  # false: no training stage (a profile switches a variant off)
    reverse: bool = False
    hybrid: str | None = None  # a `classical:` name: the network learns its residuals
    model: Model
    train: Train

    @model_validator(mode="after")
    def head_units(self) -> Variant:
        if self.model.head.units is None:
            raise problem("model.head.units", "is required (1 for one value ahead)")
        return self


class Inputs(Strict):
    """A text variant's encoding knobs (stages/core/data/windows.py pad_ids / chunks)."""

    vocab_size: PosInt | None = None
    skip_top: NonNegInt = 0
    maxlen: PosInt | None = None
    padding: Literal["pre", "post"] = "pre"
    truncating: Literal["pre", "post"] = "pre"
    reverse: bool = False
    seq_length: PosInt | None = None


class Sample(Strict):
    seed_text: str = "the "
    length: PosInt = 500
    temperatures: list[NonNegFloat] = [0, 0.2, 0.5, 1.0]


class TextVariant(Strict):
    """`text_variants.<name>`: a sentiment or character model trained on `task`."""

    task: str
    enabled: bool = True  # false: no training stage (a profile switches a variant off)
    inputs: Inputs = Inputs()
    model: Model
    train: Train
    sample: Sample | None = None


