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
    """File name under data/raw/<dataset>/ (a plain name, no folders)."""
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    """SHA-256 the download must match (64 hex digits); unset: not checked, the first
    download prints it and dvc.lock records the file's hash."""
    md5: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    """MD5 the download must match (32 hex digits), where the source publishes only that."""
    urls: list[Annotated[str, Field(min_length=1)]] | None = None
    """Where to fetch it, tried in order after $RNN_DATA_MIRROR; empty: the mirror only."""
    how: str | None = None
    """How to get the file by hand when no URL serves it (printed when every source fails)."""

    @field_validator("name")
    @classmethod
    def plain_name(cls, name: str) -> str:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"{name!r} must be a plain file name (no folders)")
        return name


class Dataset(Strict):
    """`datasets.<name>`: files to download, or a generator in stages/datasets/."""

    files: Annotated[list[FileSpec], Field(min_length=1)] | None = None
    """The raw files to download; give this or `generate`."""
    any_of: bool = False
    """True: one of `files` is enough (alternative archives); false: every file is needed."""
    optional: bool = False
    """True: when no source answers, the dataset's study is skipped with one line."""
    generate: str | None = None
    """A module of stages/datasets/ that makes the data (synthetic); give this or `files`."""
    file: str | None = None
    """The CSV file a `generate` module writes (required with `generate`)."""
    points: PosInt | None = None
    """Rows the sincos generator writes (x = i / (10*pi), i < points)."""

    @model_validator(mode="after")
    def one_source(self) -> Dataset:
        if (self.files is None) == (self.generate is None):
            raise problem("files", "give exactly one of 'files' (to download) or 'generate'")
        if self.generate is not None and not self.file:
            raise problem("file", "is required with 'generate' (the CSV file to write)")
        return self


# ----------------------------------------------------------------------------- tasks


class DateRange(Strict):
    """`tasks.<task>.date_range`: keep only the rows dated within [start, end]."""

    start: str | None = None
    """First date kept (ISO, e.g. 2001-01-01); unset: from the first row."""
    end: str | None = None
    """Last date kept (ISO); unset: to the last row."""

    @field_validator("start", "end", mode="before")
    @classmethod
    def iso(cls, value: Any) -> Any:
        """YAML reads an unquoted 2001-01-01 as a date; the stages read it as text."""
        return value.isoformat() if isinstance(value, datetime.date) else value


class Missing(Strict):
    """`missing: {markers, policy, span_gaps}`: which cells count as missing and what to do."""

    markers: list[str] | None = None
    """Cell texts that mean missing; unset: "", NA, N/A, NaN, nan and null."""
    policy: Literal["fail", "drop", "ffill", "interpolate"] | None = None
    """What to do with missing cells: fail, drop the rows, forward-fill or interpolate
    (leading rows that cannot be filled are dropped); unset: fail."""
    span_gaps: bool = False
    """True: a window may cross dropped rows or `freq` gaps; false: such windows leave
    every split."""

    @field_validator("markers", mode="before")
    @classmethod
    def as_text(cls, value: Any) -> Any:
        """YAML reads a bare null or -999 as None or a number; the stage takes their text."""
        if not isinstance(value, list):
            return value
        plain = (int, float, type(None))
        return [str(v) if isinstance(v, plain) and not isinstance(v, bool) else v for v in value]


class Split(Strict):
    """`tasks.<task>.split`: where validation and test start (sliding layout)."""

    val: Fraction
    """Share of the series where validation starts (equal to `test`: no validation split)."""
    test: Fraction
    """Share of the series where test starts; the rest is the test split."""
    of: Literal["rows", "targets"] = "rows"
    """The shares are of the series rows (seeds 000, 001) or of the windowed targets
    (seed 004)."""

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
    """Scale every column to `feature_range` (minmax), to mean 0 and std 1 (standard), or
    not at all."""
    feature_range: Annotated[list[float], Field(min_length=2, max_length=2)] = [0.0, 1.0]
    """[low, high] of the minmax scaler, low < high."""
    fit_on: Literal["train", "all"] = "train"
    """Rows the scaler is fitted on: the training split (no leak) or all (seeds 000, 001)."""
    log: bool = False
    """Take the natural log of the values before differencing and scaling."""
    difference: NonNegInt = 0
    """Difference the series this many times (0: not at all); forecasts are undone to the
    original units."""
    window_norm: bool = False
    """Divide each window by its last value (seed 004); replaces log and difference."""
    fit_rows: PosInt | None = None
    """Indexed layout: fit the scaler on the first N rows (seed 002 fits 200,000)."""

    @model_validator(mode="after")
    def consistent(self) -> Transform:
        low, high = self.feature_range
        if low >= high:
            raise problem("feature_range", f"{self.feature_range} must be [low, high], low < high")
        if self.window_norm and (self.log or self.difference):
            raise problem("window_norm", "replaces log / difference: use one or the other")
        return self


class SlidingWindow(Strict):
    """`tasks.<task>.window` of layout sliding: windows of past values, one target each."""

    layout: Literal["sliding"] = "sliding"
    """Overlapping windows cut from each split (the default layout)."""
    lookback: PosInt
    """Past time steps in each input window."""
    horizon: PosInt = 1
    """Steps ahead of the window's last value that the target lies."""
    stride: PosInt = 1
    """Steps between the starts of consecutive windows (12 on a monthly series: one a year)."""
    context: Literal["segment", "history"] = "segment"
    """segment: split first, then window each part (the seeds); history: inputs may reach
    back before the split, so every point of the split is a target."""


class StatefulWindow(Strict):
    """`tasks.<task>.window` of layout stateful: continuous streams for a stateful network
    (seed 003)."""

    layout: Literal["stateful"]
    """Batches of parallel streams, state carried from one batch to the next."""
    time_steps: PosInt
    """Time steps in each window of a stream."""
    batch_size: PosInt
    """Parallel streams per batch (the stateful model's fixed batch)."""
    train_batches: PosInt
    """Training batches of overlapping streams (seed 003: 501)."""
    eval_batches: PosInt
    """Scored batches of each validation and test stream."""
    warmup_batches: NonNegInt = 0
    """Windows each held-out stream runs, predicted but not scored, before scoring starts."""


class IndexedWindow(Strict):
    """`tasks.<task>.window` of layout indexed: windows gathered per batch from row ranges,
    never stored (seed 002's generator)."""

    layout: Literal["indexed"]
    """A window ends at row r, reads rows r-lookback..r every `step`, targets row r+delay."""
    lookback: PosInt
    """Rows a window reaches back (1440: ten days of 10-minute readings)."""
    step: PosInt
    """Read every step-th row of the look-back (6: one reading an hour)."""
    delay: NonNegInt
    """Rows after the window's last row that the target lies (144: 24 hours ahead)."""
    batch_size: PosInt = 128
    """Windows per batch the generator gathers."""
    train: Annotated[list[NonNegInt | None], Field(min_length=2, max_length=2)]
    """[first row, last row] of the training windows' ends (null: the end of the file)."""
    val: Annotated[list[NonNegInt | None], Field(min_length=2, max_length=2)]
    """[first row, last row or null] of the validation windows' ends."""
    test: Annotated[list[NonNegInt | None], Field(min_length=2, max_length=2)]
    """[first row, last row or null] of the test windows' ends."""
    train_eval_every: PosInt = 1
    """Training-split metrics on every N-th window only (the fit uses them all)."""
    reference_windows: NonNegInt = 256
    """Test windows checked against the numpy forward pass (0: none)."""

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
    """`classical[i].search` of an ARIMA: the order ranges its AIC search tries."""

    p: Pair
    """[low, high] of the autoregressive order, both included."""
    d: Pair
    """[low, high] of the differencing order, both included."""
    q: Pair
    """[low, high] of the moving-average order, both included."""

    @model_validator(mode="after")
    def ranges(self) -> SearchRanges:
        for key in ("p", "d", "q"):
            low, high = getattr(self, key)
            if not 0 <= low <= high:
                raise problem(key, f"{[low, high]} must be [low, high] with 0 <= low <= high")
        return self


class Arima(Strict):
    """An ARIMA baseline of `tasks.<task>.classical` (stages/core/baselines/classical.py)."""

    name: str
    """The baseline's name in metrics and tables (unique within the task)."""
    kind: Literal["arima"]
    """An ARIMA model (statsmodels), fitted on the rows before each scored split."""
    order: Annotated[list[NonNegInt], Field(min_length=3, max_length=3)] | None = None
    """A fixed (p, d, q); give this or `search`."""
    search: SearchRanges | None = None
    """Pick (p, d, q) by AIC on the training rows; give this or `order`."""
    seasonal_order: Annotated[list[NonNegInt], Field(min_length=4, max_length=4)] | None = None
    """Seasonal (P, D, Q, s), e.g. [0, 1, 1, 12]; unset: no seasonal part."""
    trend: str | None = None
    """statsmodels trend term, e.g. c for a constant; unset: statsmodels' default."""
    log: bool = False
    """Fit on the log of the target and forecast back in its units."""

    @model_validator(mode="after")
    def order_or_search(self) -> Arima:
        if (self.order is None) == (self.search is None):
            raise problem("order", "give exactly one of 'order' and 'search'")
        return self


class Ets(Strict):
    """An exponential-smoothing baseline of `tasks.<task>.classical`."""

    name: str
    """The baseline's name in metrics and tables (unique within the task)."""
    kind: Literal["ets"]
    """An exponential-smoothing (ETS) state-space model (statsmodels)."""
    error: Literal["add", "mul"] = "add"
    """Additive or multiplicative errors."""
    trend: Literal["add"] | None = None
    """An additive trend; unset: none."""
    damped_trend: bool = False
    """Damp the trend (needs `trend`)."""
    seasonal: Literal["add", "mul"] | None = None
    """Additive or multiplicative seasonality (needs `seasonal_periods`); unset: none."""
    seasonal_periods: Annotated[int, Field(ge=2)] | None = None
    """Steps in a season, e.g. 12 for months."""
    log: bool = False
    """Fit on the log of the target and forecast back in its units."""
    search: Literal["aic"] | None = None
    """aic: choose the trend, damping and seasonality by AIC on the training rows."""

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
    """`tasks.<task>.plot.zoom`: the stretch of test shown close up in forecast.png."""

    points: PosInt = 60
    """Test targets shown in the zoom (without a zoom entry: 400)."""
    at: Literal["start", "end"] = "start"
    """Take them from the start or the end of the test split."""


class Plot(Strict):
    """`tasks.<task>.plot` (stages evaluate / plots): what the figures show."""

    every: PosInt = 1
    """predictions.csv keeps every N-th target (plus the zoomed stretch); 1 keeps all."""
    bar_metric: str = "rmse_orig"
    """The test metric of the bar chart, e.g. rmse_orig or mae_orig."""
    zoom: Zoom | None = None
    """The close-up of test; unset: its first 400 targets."""


class Backtest(Strict):
    """`tasks.<task>.backtest`: the rolling-origin backtest over the test period
    (stages/backtest.py), as statsforecast's `cross_validation` or darts'
    `historical_forecasts` run it: an expanding window, an origin every `step` rows."""

    step: PosInt = 1
    """Rows between consecutive forecast origins (1: every row of the test period)."""
    refit: NonNegInt = 1
    """Re-estimate the classical models' parameters every N origins (1: at every origin,
    0: never, the fit on the rows before the test period serves every origin). Networks
    keep their weights (darts' retrain=False); orders and forms stay as chosen on the
    training rows."""
    levels: list[Annotated[float, Field(gt=0, lt=1)]] = [0.8, 0.95]
    """Nominal coverages of the prediction intervals."""
    recursive: bool = False
    """False: networks forecast the H steps directly (H outputs, the default); true: a
    one-output network is fed its own forecasts (univariate tasks only)."""


class Task(Strict):
    """`tasks.<task>`: a dataset plus a protocol (stages prepare / evaluate / plots)."""

    title: str | None = None
    """Heading of the task in the report and figures; unset: the task's name."""
    units: str | None = None
    """Units of the target, shown beside RMSE and MAE (e.g. passengers, degC)."""
    dataset: str
    """The `datasets` entry whose files this task reads."""
    file: str
    """The CSV (or zipped CSV) of that dataset to read."""
    date: shaped("value", value=str, list=list[str]) | None = None
    """The date column, or a list of columns joined into one timestamp; unset: no dates."""
    date_format: str | None = None
    """strftime pattern of `date`; unset: any format pandas recognises."""
    date_range: DateRange | None = None
    """Keep only the rows within these dates; unset: every row."""
    missing: shaped("value", value=Literal["fail", "drop"], mapping=Missing) | None = None
    """fail, drop (windows may span the dropped rows), or {markers, policy, span_gaps};
    unset: fail on a missing cell."""
    categorical: list[str] = []
    """Text columns of `features`, one-hot encoded on the training rows' categories."""
    freq: str | None = None
    """A pandas offset alias (h, D, MS, 10min) the dates must follow; unset: not checked."""
    features: Annotated[list[str], Field(min_length=1)] | None = None
    """Input columns (required for sliding and stateful; indexed reads every column)."""
    target: str
    """The column forecast."""
    split: Split | None = None
    """Where validation and test start (required for the sliding layout)."""
    transform: Transform = Transform()
    """Scaling and transforms fitted on the training rows."""
    window: Window
    """How samples are cut: sliding, stateful or indexed (`layout`)."""
    season: PosInt | None = None
    """Season length in steps for the seasonal naive baseline; unset: no seasonal naive."""
    classical: list[Classical] = []
    """ARIMA and ETS baselines (and the bases of hybrid variants)."""
    extra_baselines: list[Literal["linear_ar"]] = []
    """More baselines: linear_ar, a least-squares AR model on the same windows."""
    extra_metrics: list[Literal["mape", "direction_acc"]] = []
    """More test metrics: mape (percentage error), direction_acc (share of correct up/down)."""
    plot: Plot | None = None
    """What the figures show; unset: every target and a zoom on the first 400."""
    seeds: PosInt | None = None
    """Train only the first N of `seeds`; unset: all of them."""
    target_observed: bool = True
    """False: the inputs do not include the target, so there is no naive baseline and
    skill is measured against the mean."""
    horizon: PosInt | None = None
    """Forecast horizon H in steps: the networks get H outputs (the head's units) and
    `backtest` scores every step 1..H; unset: the one-step protocol of the seeds."""
    backtest: Backtest | None = None
    """The rolling-origin backtest of a task with a `horizon`; unset: none."""
    baselines: list[Literal["ridge_ar", "gradient_boosting"]] = []
    """Backtest baselines on lagged features of every input column: ridge_ar (ridge
    regression) and gradient_boosting (scikit-learn HistGradientBoostingRegressor)."""
    lags: PosInt = 24
    """Lagged rows of every input column that ridge_ar and gradient_boosting read."""

    @model_validator(mode="after")
    def layout_needs(self) -> Task:
        layout = self.window.layout
        if layout != "indexed" and self.features is None:
            raise problem("features", "is required for the sliding and stateful layouts")
        if layout == "sliding" and self.split is None:
            raise problem("split", "is required for the sliding layout: {val: 0.7, test: 0.8}")
        if self.horizon is not None or self.backtest is not None:
            self.horizon_needs()
        names = [spec.name for spec in self.classical]
        for name in sorted({n for n in names if names.count(n) > 1}):
            raise problem("classical", f"the name {name!r} is used twice: give each its own")
        return self

    def horizon_needs(self) -> None:
        """A multi-step task forecasts H steps from an origin: sliding one-step windows,
        a transform that a path of forecasts can be undone through, and a backtest."""
        if self.horizon is None:
            raise problem("horizon", "is required with 'backtest' (the steps to forecast)")
        if self.backtest is None:
            raise problem("backtest", "is required with 'horizon': {step: 1, refit: 1}")
        window = self.window
        if window.layout != "sliding" or window.horizon != 1:
            raise problem("horizon", "needs a sliding window with window.horizon 1")
        if self.transform.window_norm or self.transform.difference > 1:
            raise problem("horizon", "needs transform.difference 0 or 1 and no window_norm")
