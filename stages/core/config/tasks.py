"""`datasets.<name>` and `tasks.<task>`: what a forecasting study reads and how it is
prepared, windowed and judged (stages download / prepare / evaluate / plots)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Field, Tag, field_validator, model_validator

from stages.core.config.base import (
    TAG,
    Fraction,
    NonNegInt,
    Pair,
    PosInt,
    Strict,
    problem,
    shaped,
    tagged,
)

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
    """`tasks.<task>.transform` (stages/core/data/transforms.py)."""

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
    """An ARIMA baseline of `tasks.<task>.classical` (stages/core/baselines/classical.py)."""

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


