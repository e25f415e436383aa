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
    """A recurrent layer of `model.layers` (Keras SimpleRNN, LSTM or GRU)."""

    type: Literal[RNN_TYPES]  # type: ignore[valid-type]
    """The recurrent cell."""
    units: PosInt
    """Size of the hidden state."""
    activation: str = "tanh"
    """Keras activation of the output and candidate state."""
    recurrent_activation: str = "sigmoid"
    """Keras activation of the gates (LSTM and GRU)."""
    dropout: DropRate = 0.0
    """Share of the inputs dropped while training."""
    recurrent_dropout: DropRate = 0.0
    """Share of the recurrent state dropped while training."""
    bidirectional: bool = False
    """Also read the sequence backwards and concatenate both outputs."""
    return_sequences: bool | None = None
    """Output every time step; unset: automatic (true when another recurrent layer, a
    pool or a sequence output follows)."""


class DenseLayer(Strict):
    """A fully connected layer of `model.layers`."""

    type: Literal["dense"]
    """A Keras Dense layer."""
    units: PosInt
    """Output size."""
    activation: str | None = None
    """Keras activation, e.g. relu; unset: linear."""


class DropoutLayer(Strict):
    """A dropout layer of `model.layers`."""

    type: Literal["dropout"]
    """A Keras Dropout layer."""
    rate: DropRate = 0.0
    """Share of the values dropped while training."""


class FlattenLayer(Strict):
    """A flatten layer of `model.layers`."""

    type: Literal["flatten"]
    """Flatten a window of steps into one vector (for a dense-only model)."""


class EmbeddingLayer(Strict):
    """An embedding of integer ids, the first layer of a text model."""

    type: Literal["embedding"]
    """A Keras Embedding layer."""
    input_dim: PosInt | None = None
    """Number of ids; unset: the text stages fill in the vocabulary size."""
    output_dim: PosInt
    """Size of each id's vector."""
    mask_zero: bool = False
    """Mask id 0 (padding): the recurrent layers skip those steps."""


class SpatialDropoutLayer(Strict):
    """Drops whole embedding channels (SpatialDropout1D), not single values."""

    type: Literal["spatial_dropout"]
    """A Keras SpatialDropout1D layer."""
    rate: DropRate = 0.0
    """Share of the channels dropped while training."""


class PoolLayer(Strict):
    """Global max / average over time; the recurrent layer before it returns sequences."""

    type: Literal[POOL_TYPES]  # type: ignore[valid-type]
    """Max or average over time (the average honours the mask)."""


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
    """`model.head`: the output layer after `layers` (TimeDistributed with sequence_output)."""

    units: PosInt | None = None
    """Outputs (1 for one value ahead); unset: a charlm head gets the alphabet size."""
    activation: str | None = None
    """Keras activation, e.g. linear, sigmoid, softmax; unset: linear."""


class Model(Strict):
    """A variant's `model:` block (stages/core/models/zoo.py)."""

    layers: Annotated[list[Layer], Field(min_length=1)]
    """The layers in order, each picked by its `type`."""
    head: Head = Head()
    """The output layer."""
    stateful: bool = False
    """Carry the recurrent state across batches (seed 003; character streams)."""
    sequence_output: bool = False
    """Many-to-many: one output per time step."""


class EarlyStopping(Strict):
    """`train.early_stopping`: stop when the validation loss stops improving."""

    patience: PosInt = 10
    """Epochs without improvement before training stops."""
    min_delta: NonNegFloat = 0.0
    """Smallest decrease of the validation loss that counts as an improvement."""


class Distribute(Strict):
    """`train.distribute` (stages/core/models/distribute.py): the tf.distribute strategy."""

    strategy: Literal["none", "mirrored", "multi_worker"] = "none"
    """none: no strategy; mirrored: one machine's devices; multi_worker: one process per
    machine, each with its TF_CONFIG."""
    devices: list[str] | None = None
    """Mirrored only: the devices, e.g. [/gpu:0, /gpu:1]; unset: every visible GPU."""


class LrSchedule(Strict):
    """`train.lr_schedule` (stages/core/models/zoo.py learning_rate): Keras CosineDecay (peak
    `train.learning_rate`, after `warmup_steps` of linear warmup from 0) or
    ExponentialDecay (times `decay_rate` every `decay_steps`); steps are batches."""

    type: Literal["cosine", "exponential"]
    """Keras CosineDecay or ExponentialDecay."""
    decay_steps: PosInt
    """Cosine: batches from the peak to the end; exponential: batches per decay."""
    alpha: NonNegFloat = 0.0
    """Cosine only: the final rate as a share of the peak."""
    warmup_steps: NonNegInt = 0
    """Cosine only: batches of linear warmup from 0 to the peak."""
    decay_rate: Fraction = 0.5
    """Exponential only: the factor applied every `decay_steps`."""
    staircase: bool = False
    """Exponential only: decay in steps rather than continuously."""


class Train(Strict):
    """A variant's `train:` block (stages/core/models/: fit.py, layouts.py, zoo.py)."""

    optimizer: Literal[OPTIMIZER_NAMES] = "adam"  # type: ignore[valid-type]
    """The Keras optimizer."""
    learning_rate: PosFloat = 0.001
    """The optimizer's learning rate (the peak when `lr_schedule` is set)."""
    lr_schedule: LrSchedule | None = None
    """A learning-rate schedule over batches; unset: a constant rate."""
    clipnorm: PosFloat | None = None
    """Clip each gradient to this L2 norm; unset: no clipping."""
    loss: str = "mse"
    """The Keras loss, e.g. mse, binary_crossentropy, sparse_categorical_crossentropy."""
    metrics: list[str] = []
    """Extra Keras metrics logged while training, e.g. accuracy."""
    epochs: PosInt
    """Passes over the training data (the most, with early stopping)."""
    batch_size: PosInt | None = None
    """Training batch (global, split between replicas); unset: 32."""
    eval_batch_size: PosInt | None = None
    """Batch for validation and prediction; unset: 256."""
    eval_streams: PosInt | None = None
    """Character models: held-out text is scored as N continuous streams; unset: batch_size."""
    shuffle: bool = True
    """Shuffle the training windows every epoch."""
    steps_per_epoch: PosInt | None = None
    """Batches per epoch; unset: one pass over the windows (indexed layout: 500)."""
    cache_validation: bool = True
    """Build the validation pipeline once, not every epoch (same numbers, less CPU)."""
    train_stride: PosInt | None = None
    """Re-window the training split with this stride (val and test keep the task's)."""
    early_stopping: EarlyStopping | None = None
    """Stop on the validation loss; unset: train every epoch."""
    restore_best: bool = False
    """Keep the weights of the best validation epoch, not the last."""
    checkpoint_every: NonNegFloat = 30.0
    """Seconds between checkpoints after an epoch (a killed run resumes from one)."""
    sample_every: NonNegInt = 0
    """Character models: print a 200-character sample every N epochs (0: never)."""
    distribute: Distribute | None = None
    """A tf.distribute strategy; unset: none."""


class Variant(Strict):
    """`variants.<name>`: a forecasting model trained on `task`."""

    task: str
    """The `tasks` entry whose data the variant trains and is scored on."""
    enabled: bool = True
    """False: no training stage (a profile switches a variant off)."""
    reverse: bool = False
    """Feed each input window in reversed time order."""
    hybrid: str | None = None
    """A name of the task's `classical:` list: the network learns that model's residuals;
    naive: it learns the change from the last observed value (a residual on persistence)."""
    model: Model
    """The network's layers and head."""
    train: Train
    """How it is trained."""

    @model_validator(mode="after")
    def head_units(self) -> Variant:
        if self.model.head.units is None:
            raise problem("model.head.units", "is required (1 for one value ahead)")
        return self


class Inputs(Strict):
    """A text variant's encoding knobs (stages/core/data/windows.py pad_ids / chunks)."""

    vocab_size: PosInt | None = None
    """Words: keep ids below N, the most frequent words (Keras num_words; sentiment needs it)."""
    skip_top: NonNegInt = 0
    """Words: map the N most frequent words to the out-of-vocabulary id (Keras skip_top)."""
    maxlen: PosInt | None = None
    """Words: pad or cut each document to N ids (sentiment needs it)."""
    padding: Literal["pre", "post"] = "pre"
    """Words: pad short documents at the start or the end."""
    truncating: Literal["pre", "post"] = "pre"
    """Words: cut long documents at the start or the end."""
    reverse: bool = False
    """Words: reverse each document (seed 002)."""
    seq_length: PosInt | None = None
    """Characters: time steps in each training window."""


class Sample(Strict):
    """`text_variants.<name>.sample`: text a character model generates after training."""

    seed_text: str = "the "
    """Text the sample starts from (characters of the book only)."""
    length: PosInt = 500
    """Characters generated per sample."""
    temperatures: list[NonNegFloat] = [0, 0.2, 0.5, 1.0]
    """Sampling temperatures, one sample each (0: always the likeliest character)."""


class TextVariant(Strict):
    """`text_variants.<name>`: a sentiment or character model trained on `task`."""

    task: str
    """The `text_tasks` entry the variant trains on."""
    enabled: bool = True
    """False: no training stage (a profile switches a variant off)."""
    inputs: Inputs = Inputs()
    """How the text is encoded as ids."""
    model: Model
    """The network's layers and head."""
    train: Train
    """How it is trained."""
    sample: Sample | None = None
    """Character models: the text generated after training; unset: the defaults below."""


