"""The params schema: every key params.yaml may hold, its type and its range (pydantic v2).

Why: a typo (`lookbak: 12`) used to be ignored silently and a bad value (`lookback: -3`)
surfaced as a numpy traceback deep inside a stage. Here both become one line that names
the full key path and the fix, before any work is done:

    params.yaml: tasks.sunspots.window.lookback: -3 must be >= 1

Two checks use these models:
- `check_params(tree)`: the whole tree, cross-references included (a variant's task must
  exist), when `python -m stages.profile` composes params.yaml from conf/.
- `check_entry(group, key, entry)`: one entry (e.g. `tasks.sunspots`), from stage_cli
  before a stage runs, so a stage reads (and DVC tracks) only its own section.

No TensorFlow here (the layer names come from stages/core/names.py); stages import this
module lazily, so pydantic is loaded only when params are checked.
"""

from __future__ import annotations

import datetime
import difflib
import re
import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from stages.core.io import PARAMS_FILE, StageError
from stages.core.names import HEADLINE, LAYER_TYPES, OPTIMIZER_NAMES, POOL_TYPES, RNN_TYPES

# ----------------------------------------------------------------------------- helpers

PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, lt=1)]  # a share strictly between 0 and 1
DropRate = Annotated[float, Field(ge=0, lt=1)]  # dropout: 1 would drop everything
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Pair = Annotated[list[int], Field(min_length=2, max_length=2)]
TAG = "="  # discriminator tags are "<field>=<value>"; dropped from the key paths shown


def problem(at: str, text: str) -> PydanticCustomError:
    """An error raised by a model validator: `at` (a key below the model) joins its path."""
    return PydanticCustomError("params", "{text}", {"at": at, "text": text})


class Strict(BaseModel):
    """Unknown keys are errors and values are not coerced (`units: "32"` is not 32)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def tagged(field: str, known: tuple[str, ...], default: str | None = None, group=None):
    """A discriminator reading `field` (e.g. window.layout) for a union of models; `group`
    maps several values onto one tag (the three recurrent layer types share a model).
    Its name carries the field and the known values, which pydantic's error repeats."""

    def pick(value: Any) -> str | None:
        raw = value.get(field, default) if isinstance(value, dict) else None
        if not isinstance(raw, str):
            return None
        return f"{field}{TAG}{(group or {}).get(raw, raw)}"

    pick.__name__ = f"{field}{TAG}{','.join(known)}"
    return Discriminator(pick)


def shaped(default: str, **members: Any) -> Any:
    """A union picked by the value's shape (mapping, list, int, other value), so an error
    names the field and not the union member; other shapes are checked as `default`."""

    def pick(value: Any) -> str:
        if isinstance(value, dict):
            shape = "mapping"
        elif isinstance(value, list):
            shape = "list"
        elif isinstance(value, int) and not isinstance(value, bool):
            shape = "int"
        else:
            shape = "value"
        return f"shape{TAG}{shape if shape in members else default}"

    tags = tuple(Annotated[kind, Tag(f"shape{TAG}{name}")] for name, kind in members.items())
    return Annotated[Union[tags], Discriminator(pick)]  # noqa: UP007


# ----------------------------------------------------------------------------- datasets


class FileSpec(Strict):
    """One file of `datasets.<name>.files` (stages/download.py fetches and verifies it)."""

    name: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    md5: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    urls: list[Annotated[str, Field(min_length=1)]] | None = None
    how: str | None = None

    @field_validator("name")
    @classmethod
    def plain_name(cls, name: str) -> str:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"{name!r} must be a plain file name (no folders)")
        return name


class Dataset(Strict):
    """`datasets.<name>`: files to download, or a generator in stages/datasets/."""

    files: Annotated[list[FileSpec], Field(min_length=1)] | None = None
    any_of: bool = False
    optional: bool = False
    generate: str | None = None
    file: str | None = None
    points: PosInt | None = None  # the sincos generator's knob

    @model_validator(mode="after")
    def one_source(self) -> Dataset:
        if (self.files is None) == (self.generate is None):
            raise problem("files", "give exactly one of 'files' (to download) or 'generate'")
        if self.generate is not None and not self.file:
            raise problem("file", "is required with 'generate' (the CSV file to write)")
        return self


# ----------------------------------------------------------------------------- tasks


class DateRange(Strict):
    start: str | None = None
    end: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def iso(cls, value: Any) -> Any:
        """YAML reads an unquoted 2001-01-01 as a date; the stages read it as text."""
        return value.isoformat() if isinstance(value, datetime.date) else value


class Missing(Strict):
    """`missing: {markers, policy, span_gaps}`: which cells count as missing and what to do."""

    markers: list[str] | None = None
    policy: Literal["fail", "drop", "ffill", "interpolate"] | None = None
    span_gaps: bool = False

    @field_validator("markers", mode="before")
    @classmethod
    def as_text(cls, value: Any) -> Any:
        """YAML reads a bare null or -999 as None or a number; the stage takes their text."""
        if not isinstance(value, list):
            return value
        plain = (int, float, type(None))
        return [str(v) if isinstance(v, plain) and not isinstance(v, bool) else v for v in value]


class Split(Strict):
    val: Fraction
    test: Fraction
    of: Literal["rows", "targets"] = "rows"

    @model_validator(mode="after")
    def ordered(self) -> Split:
        # val == test is allowed: no validation split (the paper profile)
        if self.val > self.test:
            raise problem(
                "val", f"{self.val} must be <= split.test ({self.test}): validation comes first"
            )
        return self


class Transform(Strict):
    """`tasks.<task>.transform` (stages/core/transforms.py)."""

    scaler: Literal["minmax", "standard", "none"] = "minmax"
    feature_range: Annotated[list[float], Field(min_length=2, max_length=2)] = [0.0, 1.0]
    fit_on: Literal["train", "all"] = "train"
    log: bool = False
    difference: NonNegInt = 0
    window_norm: bool = False
    fit_rows: PosInt | None = None

    @model_validator(mode="after")
    def consistent(self) -> Transform:
        low, high = self.feature_range
        if low >= high:
            raise problem("feature_range", f"{self.feature_range} must be [low, high], low < high")
        if self.window_norm and (self.log or self.difference):
            raise problem("window_norm", "replaces log / difference: use one or the other")
        return self


class SlidingWindow(Strict):
    layout: Literal["sliding"] = "sliding"
    lookback: PosInt
    horizon: PosInt = 1
    stride: PosInt = 1
    context: Literal["segment", "history"] = "segment"


class StatefulWindow(Strict):
    layout: Literal["stateful"]
    time_steps: PosInt
    batch_size: PosInt
    train_batches: PosInt
    eval_batches: PosInt
    warmup_batches: NonNegInt = 0


class IndexedWindow(Strict):
    layout: Literal["indexed"]
    lookback: PosInt
    step: PosInt
    delay: NonNegInt
    batch_size: PosInt = 128
    train: Annotated[list[NonNegInt | None], Field(min_length=2, max_length=2)]
    val: Annotated[list[NonNegInt | None], Field(min_length=2, max_length=2)]
    test: Annotated[list[NonNegInt | None], Field(min_length=2, max_length=2)]
    train_eval_every: PosInt = 1
    reference_windows: NonNegInt = 256

    @model_validator(mode="after")
    def ranges(self) -> IndexedWindow:
        for split in ("train", "val", "test"):
            low, high = getattr(self, split)
            if low is None or (high is not None and high <= low):
                raise problem(split, f"{[low, high]} must be [first row, last row or null]")
        return self


Window = Annotated[
    Union[  # noqa: UP007 (tagged members)
        Annotated[SlidingWindow, Tag(f"layout{TAG}sliding")],
        Annotated[StatefulWindow, Tag(f"layout{TAG}stateful")],
        Annotated[IndexedWindow, Tag(f"layout{TAG}indexed")],
    ],
    tagged("layout", ("sliding", "stateful", "indexed"), "sliding"),
]


class SearchRanges(Strict):
    p: Pair
    d: Pair
    q: Pair


class Arima(Strict):
    """An ARIMA baseline of `tasks.<task>.classical` (stages/core/classical.py)."""

    name: str
    kind: Literal["arima"]
    order: Annotated[list[NonNegInt], Field(min_length=3, max_length=3)] | None = None
    search: SearchRanges | None = None
    seasonal_order: Annotated[list[NonNegInt], Field(min_length=4, max_length=4)] | None = None
    trend: str | None = None
    log: bool = False

    @model_validator(mode="after")
    def order_or_search(self) -> Arima:
        if (self.order is None) == (self.search is None):
            raise problem("order", "give exactly one of 'order' and 'search'")
        return self


class Ets(Strict):
    """An exponential-smoothing baseline of `tasks.<task>.classical`."""

    name: str
    kind: Literal["ets"]
    error: Literal["add", "mul"] = "add"
    trend: Literal["add"] | None = None
    damped_trend: bool = False
    seasonal: Literal["add", "mul"] | None = None
    seasonal_periods: Annotated[int, Field(ge=2)] | None = None
    log: bool = False
    search: Literal["aic"] | None = None

    @model_validator(mode="after")
    def consistent(self) -> Ets:
        if self.seasonal and self.seasonal_periods is None:
            raise problem("seasonal_periods", "is required with 'seasonal' (e.g. 12 for months)")
        if self.damped_trend and self.trend is None:
            raise problem("damped_trend", "needs a trend: set trend: add")
        return self


Classical = Annotated[
    Union[  # noqa: UP007
        Annotated[Arima, Tag(f"kind{TAG}arima")],
        Annotated[Ets, Tag(f"kind{TAG}ets")],
    ],
    tagged("kind", ("arima", "ets")),
]


class Zoom(Strict):
    points: PosInt = 60
    at: Literal["start", "end"] = "start"


class Plot(Strict):
    every: PosInt = 1
    bar_metric: str = "rmse_orig"
    zoom: Zoom | None = None


class Task(Strict):
    """`tasks.<task>`: a dataset plus a protocol (stages prepare / evaluate / plots)."""

    title: str | None = None
    units: str | None = None
    dataset: str
    file: str
    date: shaped("value", value=str, list=list[str]) | None = None
    date_format: str | None = None
    date_range: DateRange | None = None
    missing: shaped("value", value=Literal["fail", "drop"], mapping=Missing) | None = None
    categorical: list[str] = []
    freq: str | None = None  # a pandas offset alias, e.g. MS, D, 10min
    features: Annotated[list[str], Field(min_length=1)] | None = None
    target: str
    split: Split | None = None
    transform: Transform = Transform()
    window: Window
    season: PosInt | None = None
    classical: list[Classical] = []
    extra_baselines: list[Literal["linear_ar"]] = []
    extra_metrics: list[Literal["mape", "direction_acc"]] = []
    plot: Plot | None = None
    seeds: PosInt | None = None
    target_observed: bool = True

    @model_validator(mode="after")
    def layout_needs(self) -> Task:
        layout = self.window.layout
        if layout != "indexed" and self.features is None:
            raise problem("features", "is required for the sliding and stateful layouts")
        if layout == "sliding" and self.split is None:
            raise problem("split", "is required for the sliding layout: {val: 0.7, test: 0.8}")
        names = [spec.name for spec in self.classical]
        for name in sorted({n for n in names if names.count(n) > 1}):
            raise problem("classical", f"the name {name!r} is used twice: give each its own")
        return self


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
    """A variant's `model:` block (stages/core/zoo.py)."""

    layers: Annotated[list[Layer], Field(min_length=1)]
    head: Head = Head()
    stateful: bool = False
    sequence_output: bool = False


class EarlyStopping(Strict):
    patience: PosInt = 10
    min_delta: NonNegFloat = 0.0


class Distribute(Strict):
    """`train.distribute` (stages/core/distribute.py): the tf.distribute strategy."""

    strategy: Literal["none", "mirrored", "multi_worker"] = "none"
    devices: list[str] | None = None  # mirrored only: e.g. [/gpu:0, /gpu:1]


class LrSchedule(Strict):
    """`train.lr_schedule` (stages/core/zoo.py learning_rate): Keras CosineDecay (peak
    `train.learning_rate`, after `warmup_steps` of linear warmup from 0) or
    ExponentialDecay (times `decay_rate` every `decay_steps`); steps are batches."""

    type: Literal["cosine", "exponential"]
    decay_steps: PosInt
    alpha: NonNegFloat = 0.0  # cosine: the final rate as a share of the peak
    warmup_steps: NonNegInt = 0  # cosine only
    decay_rate: Fraction = 0.5  # exponential only
    staircase: bool = False  # exponential only


class Train(Strict):
    """A variant's `train:` block (stages/core/fit.py, stages/core/layouts.py, zoo.py)."""

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
    """A text variant's encoding knobs (stages/core/windows.py pad_ids / chunks)."""

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


# ----------------------------------------------------------------------------- text tasks


class Tfidf(Strict):
    name: str
    ngram_range: Pair = [1, 1]
    max_features: PosInt | None = None
    min_df: shaped("value", int=PosInt, value=Fraction) = 1
    sublinear_tf: bool = False
    C: PosFloat = 1.0


class Nbsvm(Strict):
    """An NBSVM baseline (stages/datasets/imdb.py NBSVM_DEFAULTS)."""

    name: str
    ngram_range: Pair = [1, 2]
    alpha: PosFloat = 1.0
    C: PosFloat = 0.1
    min_df: shaped("value", int=PosInt, value=Fraction) = 1
    max_features: PosInt | None = None
    classifier: Literal["svm", "lr"] = "svm"
    beta: Annotated[float, Field(ge=0, le=1)] = 0.25
    calibration_folds: Annotated[int, Field(ge=2)] = 3


class TextHybrid(Strict):
    """`text_tasks.<task>.hybrids[i]`: a text variant's probabilities interpolated with one
    baseline's, the weight chosen on validation (stages/core/interpolation.py). Evaluation
    only: the variant's trained weights are reused, nothing retrains. Its row is
    `<variant>+<baseline>`, marked "hybrid" in the tables."""

    variant: str
    baseline: str


class Sentiment(Strict):
    """`text_tasks.<task>` of kind sentiment (IMDB-like reviews)."""

    kind: Literal["sentiment"]
    title: str | None = None
    dataset: str
    seeds: PosInt | None = None
    val_fraction: Fraction = 0.2
    test_fraction: Fraction | None = None
    classes: dict[str, Literal[0, 1]] | None = None
    root: str | None = None
    file: str | None = None
    encoding: str = "utf-8"
    tfidf_baselines: list[Tfidf] = []
    nbsvm_baselines: list[Nbsvm] = []
    hybrids: list[TextHybrid] = []


class Significance(Strict):
    block: PosInt = 1000


class CharLM(Strict):
    """`text_tasks.<task>` of kind charlm (a book, next character)."""

    kind: Literal["charlm"]
    title: str | None = None
    dataset: str
    seeds: PosInt | None = None
    file: str
    encoding: str = "utf-8"
    val_fraction: Fraction = 0.1
    test_fraction: Fraction = 0.1
    ngram_orders: Annotated[list[PosInt], Field(min_length=1)] = [1, 2, 3, 5, 7, 9]
    ngram_discounts: Annotated[list[Fraction], Field(min_length=1)] = [0.75]
    significance: Significance = Significance()
    hybrids: list[TextHybrid] = []

    @model_validator(mode="after")
    def held_out(self) -> CharLM:
        if self.val_fraction + self.test_fraction >= 1:
            raise problem("test_fraction", "val_fraction + test_fraction must be < 1")
        return self


TextTask = Annotated[
    Union[  # noqa: UP007
        Annotated[Sentiment, Tag(f"kind{TAG}sentiment")],
        Annotated[CharLM, Tag(f"kind{TAG}charlm")],
    ],
    tagged("kind", ("sentiment", "charlm")),
]


# ----------------------------------------------------------------------------- the tree


class Run(Strict):
    """One entry of `runs` / `text_runs` (computed by stages/core/runs.py)."""

    variant: str
    task: str
    seed: int
    classical: dict[str, Any] | None = None  # a hybrid's base, copied from the task's list


class Select(Strict):
    """`searches.<name>.select`: the validation number that picks a search's winner."""

    file: str  # e.g. metrics/airline.json (read from each experiment's commit)
    key: Annotated[str, Field(min_length=1)]  # dotted path inside it, e.g. models.x.val.rmse_orig
    goal: Literal["min", "max"]

    @field_validator("key")
    @classmethod
    def validation_only(cls, key: str) -> str:
        if "test" in key.split("."):
            raise ValueError(f"{key!r} reads the test split; a search selects on validation")
        return key


class Search(Strict):
    """`searches.<name>` (stages/search.py): a grid of `dvc exp run --queue` experiments."""

    about: str
    targets: Annotated[list[str], Field(min_length=1)]  # stages `dvc exp run` reproduces
    grid: Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)]
    set: dict[str, Any] = {}  # fixed overrides for every point
    select: Select

    @model_validator(mode="after")
    def disjoint(self) -> Search:
        both = sorted(set(self.grid) & set(self.set))
        if both:
            raise problem("set", f"{', '.join(both)} also in grid; keep each key in one place")
        return self


class Target(Strict):
    """`targets.<task>` (stages/report.py targets_table): what the task's best network,
    chosen on the VALIDATION split's headline metric, must reach on the test split (mean
    over seeds). An empty entry sets no target: the row reports the verdict only."""

    at_most: float | None = None  # test headline <= this (lower is better: RMSE, bits/char)
    at_least: float | None = None  # test headline >= this (higher is better: accuracy)
    beat_baseline: bool = False  # and significantly better than the strongest baseline

    @model_validator(mode="after")
    def one_bound(self) -> Target:
        if self.at_most is not None and self.at_least is not None:
            raise problem("at_least", "give at most one of 'at_most' and 'at_least'")
        return self


class Params(Strict):
    """The whole of params.yaml."""

    profile: str
    seed: int
    seeds: Annotated[list[int], Field(min_length=1)]
    runs: dict[str, Run] = {}
    text_runs: dict[str, Run] = {}
    datasets: dict[str, Dataset]
    tasks: dict[str, Task] = {}
    variants: dict[str, Variant] = {}
    text_tasks: dict[str, TextTask] = {}
    text_variants: dict[str, TextVariant] = {}
    published: dict[str, str] = {}
    searches: dict[str, Search] = {}
    targets: dict[str, Target] = {}

    @field_validator("seeds")
    @classmethod
    def distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{seeds} must be distinct integers")
        return seeds


ENTRY_MODELS: dict[str, Any] = {
    "datasets": Dataset,
    "tasks": Task,
    "variants": Variant,
    "text_tasks": TextTask,
    "text_variants": TextVariant,
    "runs": Run,
    "text_runs": Run,
    "searches": Search,
    "targets": Target,
}


# ----------------------------------------------------------------------------- messages


def allowed_keys(root: Any, loc: tuple) -> list[str]:
    """The keys a mapping at `loc` may hold, by walking the annotations from `root`."""
    node = root
    for part in loc:
        node = step(unwrap(node), part)
        if node is None:
            return []
    node = unwrap(node)
    return list(node.model_fields) if isinstance(node, type) else []


def unwrap(node: Any) -> Any:
    """Strip Annotated and Optional (X | None) down to the model, list, dict or union."""
    while True:
        origin = typing.get_origin(node)
        if origin is Annotated:
            node = typing.get_args(node)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(node) if a is not type(None)]
            if len(args) != 1:
                return node
            node = args[0]
        else:
            return node


def step(node: Any, part: Any) -> Any:
    """The annotation one loc element below `node` (a field, an item, a tagged member)."""
    origin = typing.get_origin(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(part)
        return field.annotation if field else None
    if origin is dict:
        return typing.get_args(node)[1]
    if origin is list:
        return typing.get_args(node)[0]
    if origin in (Union, types.UnionType):
        for member in typing.get_args(node):
            if typing.get_origin(member) is Annotated:
                base, *extra = typing.get_args(member)
                if any(isinstance(e, Tag) and e.tag == part for e in extra):
                    return base
    return None


def dotted(loc: tuple) -> str:
    """('tasks', 'dji', 'classical', 0, 'order') -> tasks.dji.classical[0].order."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif TAG not in str(part):
            out += f".{part}" if out else str(part)
    return out


LIMITS = {
    "greater_than_equal": ">= {ge}",
    "greater_than": "> {gt}",
    "less_than_equal": "<= {le}",
    "less_than": "< {lt}",
}


def line(error: dict, root: Any, prefix: tuple) -> str:
    """One pydantic error as `<path>: <problem>`, the path dotted from the top of params."""
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    full = prefix + loc
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(allowed)}"
        return f"{dotted(full)}: unknown key ({hint})"
    if kind == "missing":
        return f"{dotted(full)}: is required but missing; add it"
    if kind == "params":
        return f"{dotted(full + tuple(ctx['at'].split('.')))}: {ctx['text']}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return tag_line(full, ctx, value)
    if kind in LIMITS:
        return f"{dotted(full)}: {value!r} must be {LIMITS[kind].format(**ctx)}"
    if kind == "value_error":
        return f"{dotted(full)}: {error['msg'].removeprefix('Value error, ')}"
    message = error["msg"].replace("Input should be", "should be")
    message = re.sub(r"String should match pattern .*", "has the wrong form", message)
    message = re.sub(r" or instance of \w+", "", message).replace("valid dictionary", "mapping")
    return f"{dotted(full)}: {value!r} {message[:1].lower()}{message[1:]}"


def tag_line(loc: tuple, ctx: dict, value: Any) -> str:
    """An unknown or absent `type` / `kind` / `layout`, with the names that exist."""
    field, _, known = str(ctx.get("discriminator", "")).removesuffix("()").partition(TAG)
    if not isinstance(value, dict):
        return f"{dotted(loc)}: {value!r} should be a mapping"
    names = known.replace(",", ", ")
    if value.get(field) is None:
        return f"{dotted(loc + (field,))}: is required but missing; use one of: {names}"
    return f"{dotted(loc + (field,))}: {value[field]!r} is unknown; use one of: {names}"


def messages(exc: ValidationError, root: Any, prefix: tuple = ()) -> list[str]:
    """Every error of one validation, one line each, in the order of the params file."""
    return [line(error, root, prefix) for error in exc.errors(include_url=False)]


# ----------------------------------------------------------------------------- checks


def cross_references(tree: dict[str, Any]) -> list[str]:
    """Names that must exist elsewhere in the tree (checked at compose time only)."""
    out = []
    datasets = tree.get("datasets") or {}
    for group, target, kinds in (
        ("tasks", "datasets", datasets),
        ("text_tasks", "datasets", datasets),
        ("variants", "tasks", tree.get("tasks") or {}),
        ("text_variants", "text_tasks", tree.get("text_tasks") or {}),
    ):
        key = "dataset" if target == "datasets" else "task"
        for name, entry in (tree.get(group) or {}).items():
            ref = (entry or {}).get(key)
            if isinstance(ref, str) and ref not in kinds:
                close = difflib.get_close_matches(ref, list(kinds), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(kinds)}"
                out.append(f"{group}.{name}.{key}: {ref!r} is not in {target} ({hint})")
    trained = {**(tree.get("variants") or {}), **(tree.get("text_variants") or {})}
    for name in tree.get("published") or {}:
        if name not in trained:
            out.append(f"published.{name}: no variant of that name; remove it or fix the name")
    out += target_directions(tree) + text_hybrid_names(tree)
    return out


def text_baseline_names(cfg: dict[str, Any]) -> list[str]:
    """The baselines evaluate_text fits for a text task, by the names its metrics use."""
    if cfg.get("kind") == "charlm":
        return ["unigram", "ngram"]
    specs = [*(cfg.get("tfidf_baselines") or []), *(cfg.get("nbsvm_baselines") or [])]
    return ["majority", *(s.get("name") for s in specs if isinstance(s, dict))]


def text_hybrid_names(tree: dict[str, Any]) -> list[str]:
    """A text hybrid names a text variant of its own task and one of that task's baselines."""
    variants = tree.get("text_variants") or {}
    out = []
    for task, cfg in (tree.get("text_tasks") or {}).items():
        known = text_baseline_names(cfg or {})
        for i, entry in enumerate((cfg or {}).get("hybrids") or []):
            if not isinstance(entry, dict):
                continue
            where = f"text_tasks.{task}.hybrids[{i}]"
            variant, base = entry.get("variant"), entry.get("baseline")
            if (variants.get(variant) or {}).get("task") != task:
                ours = [n for n, v in variants.items() if (v or {}).get("task") == task]
                out.append(
                    f"{where}.variant: {variant!r} is not a text variant of {task} "
                    f"(known: {', '.join(ours)})"
                )
            if base not in known:
                out.append(
                    f"{where}.baseline: {base!r} is not a baseline of {task} "
                    f"(known: {', '.join(known)})"
                )
    return out


def target_directions(tree: dict[str, Any]) -> list[str]:
    """A target's bound must point the way its task's headline improves (RMSE and bits/char
    at_most, accuracy at_least). A task absent from the tree is not an error: the report
    gives it a row saying it was not run."""
    kinds = dict.fromkeys(tree.get("tasks") or {}, "forecast")
    kinds |= {t: (c or {}).get("kind") for t, c in (tree.get("text_tasks") or {}).items()}
    out = []
    for task, goal in (tree.get("targets") or {}).items():
        if kinds.get(task) not in HEADLINE or not isinstance(goal, dict):
            continue
        metric, _, lower = HEADLINE[kinds[task]]
        wrong, right = ("at_least", "at_most") if lower else ("at_most", "at_least")
        if goal.get(wrong) is not None:
            better = "lower" if lower else "higher"
            out.append(f"targets.{task}.{wrong}: {metric} is better {better}; use '{right}'")
    return out


def fail(lines: list[str], source: str, fix: str) -> None:
    """Raise one StageError listing every problem, one per line."""
    if lines:
        body = "\n".join(f"{source}: {text}" for text in lines)
        raise StageError(f"{body}\n{fix}")


def check_params(tree: Any, source: str = str(PARAMS_FILE), fix: str = "") -> Params:
    """The whole tree, cross-references included; raises StageError listing every problem."""
    fix = fix or "Fix the values in conf/ and re-compose: python -m stages.profile <profile>."
    if not isinstance(tree, dict):
        fail(["expected a mapping at the top level"], source, fix)
    try:
        params = Params.model_validate(tree)
    except ValidationError as exc:
        fail(messages(exc, Params), source, fix)
    fail(cross_references(tree), source, fix)
    return params


def check_entry(group: str, key: str, entry: Any, source: str = str(PARAMS_FILE)) -> None:
    """One entry, e.g. tasks.sunspots, before a stage uses it; the rest of params is not read."""
    model = ENTRY_MODELS.get(group)
    if model is None:
        return
    wrapper = dict[str, model]  # one-key mapping: the loc then starts with the key
    from pydantic import TypeAdapter

    try:
        TypeAdapter(wrapper, config=None).validate_python({key: entry})
    except ValidationError as exc:
        fail(
            messages(exc, wrapper, (group,)),
            source,
            f"Fix {group}.{key} in conf/ and re-compose: python -m stages.profile <profile>.",
        )
