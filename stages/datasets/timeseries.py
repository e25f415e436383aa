"""Read and validate a CSV time series: dates (optional), numeric and categorical columns.

Every check names the file, the 1-based line in the file and the fix, because a silent
NaN or an unsorted month would otherwise surface much later as a strange RMSE.

Options (tasks.<task> in params.yaml), so that any real file works through params alone:
- `date`: one column, or a list of columns combined into one timestamp
  ([year, month, day, hour] by name, else the cells joined by a space), `date_format`;
- `missing`: which cells are missing (`markers`) and what to do with them (`policy`:
  fail, drop, ffill, interpolate), and whether windows may span dropped rows (`span_gaps`);
- `freq`: the expected spacing of the dates; gaps are reported, refused or filled;
- `categorical`: columns kept as text (prepare one-hot encodes them on the training rows).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.core.io import StageError

DEFAULT_MARKERS = ("", "NA", "N/A", "NaN", "nan", "null")  # "null": Yahoo Finance's marker
POLICIES = ("fail", "drop", "ffill", "interpolate")
MISSING_KEYS = ("markers", "policy", "span_gaps")
DATE_UNITS = ("year", "month", "day", "hour", "minute", "second")  # pd.to_datetime's names
DONE = {"drop": "rows dropped", "ffill": "forward-filled", "interpolate": "interpolated"}


def _line(row: int) -> int:
    """File line of a 0-based data row: the header is line 1."""
    return row + 2


@dataclass(frozen=True)
class Missing:
    """What a missing cell looks like and what happens to it.

    The shorthand `missing: drop` keeps the seeds' behaviour (DJI: windows span Yahoo's
    dropped days, span_gaps true); the mapping form defaults to span_gaps false, because a
    window that silently jumps a gap is rarely what a new dataset wants.
    """

    markers: tuple[str, ...] = DEFAULT_MARKERS
    policy: str = "fail"
    span_gaps: bool = False

    @classmethod
    def parse(cls, value: Any, where: str = "tasks.<task>") -> Missing:
        """From params: a policy name, or {markers, policy, span_gaps}."""
        key = f"params.yaml: {where}.missing"
        if value is None or isinstance(value, str):
            policy = value or "fail"
            if policy not in ("fail", "drop"):
                raise StageError(
                    f"{key} must be fail, drop or a mapping such as {{policy: {policy}}}, "
                    f"not {value!r}."
                )
            return cls(policy=policy, span_gaps=policy == "drop")
        if not isinstance(value, dict):
            raise StageError(f"{key} must be a policy name or a mapping, not {value!r}.")
        unknown = sorted(set(value) - set(MISSING_KEYS))
        if unknown:
            raise StageError(f"{key} has unknown key(s) {unknown}; known: {list(MISSING_KEYS)}.")
        policy = value.get("policy") or "fail"
        _check_policy(policy, f"{key}.policy")
        markers = value.get("markers")
        markers = DEFAULT_MARKERS if markers is None else _markers(markers, f"{key}.markers")
        span = value.get("span_gaps", False)
        if not isinstance(span, bool):
            raise StageError(f"{key}.span_gaps must be true or false, not {span!r}.")
        return cls(markers=markers, policy=policy, span_gaps=span)


def _check_policy(policy: Any, key: str) -> None:
    if policy not in POLICIES:
        raise StageError(f"{key} must be one of {', '.join(POLICIES)}, not {policy!r}.")


def _markers(value: Any, key: str) -> tuple[str, ...]:
    """Marker strings; YAML's bare null means the text "null", numbers their text (-999)."""
    if not isinstance(value, list):
        raise StageError(f"{key} must be a list of strings, e.g. ['', NA], not {value!r}.")
    out = []
    for item in value:
        if item is None:
            out.append("null")
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            out.append(str(item).strip())
        else:
            raise StageError(f"{key}: {item!r} is not a string; quote it.")
    return tuple(out)


@dataclass(frozen=True)
class CsvSpec:
    """Everything read_table needs to know about one task's file."""

    date: str | list[str] | None
    columns: list[str]
    missing: Missing = field(default_factory=Missing)
    date_range: dict | None = None
    date_format: str | None = None
    freq: str | None = None
    categorical: tuple[str, ...] = ()
    where: str = "tasks.<task>"

    def date_columns(self) -> list[str]:
        if self.date is None:
            return []
        return [self.date] if isinstance(self.date, str) else list(self.date)


@dataclass
class Table:
    """The validated rows: `frame` holds `date` (ISO text, "" without dates) and the columns;
    `gap_before[i]` says rows i-1 and i are not neighbours in time (rows dropped between
    them, or a gap `freq` found), which prepare uses to keep windows off the gap."""

    frame: pd.DataFrame
    gap_before: np.ndarray
    span_gaps: bool


def read_csv(
    path: Path,
    date: str | list[str] | None,
    columns: list[str],
    missing: Any = "fail",
    date_range: dict | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Load `columns` (and the date) from `path`, validated; dates come back as ISO strings.

    `date_range` ({start, end}, inclusive, either optional) keeps only those rows. See
    read_table for `missing` and the other options (date_format, freq, categorical).
    """
    spec = CsvSpec(date, list(columns), Missing.parse(missing), date_range, **options)
    return read_table(path, spec).frame


def read_table(path: Path, spec: CsvSpec) -> Table:
    """Read, date, select the range, check the spacing, then find and treat missing cells."""
    frame = _load(path, spec)
    stamps = _timestamps(frame, spec, path) if spec.date is not None else None
    if spec.date_range:
        frame, stamps = _in_range(frame, stamps, path, spec)
    gaps = np.zeros(len(frame), dtype=bool)
    inserted = np.zeros(len(frame), dtype=bool)
    if spec.freq:
        frame, stamps, gaps, inserted = _regular(frame, stamps, path, spec)
    cells = {name: _column(frame[name], inserted, path, name, spec) for name in spec.columns}
    seen = _seen_markers(frame, spec)
    cells, stamps, gaps = _treat_missing(cells, stamps, gaps, path, spec, seen)
    out = pd.DataFrame(cells)
    out.insert(0, "date", _iso(stamps) if stamps is not None else "")
    return Table(out, gaps, spec.missing.span_gaps)


def _load(path: Path, spec: CsvSpec) -> pd.DataFrame:
    """The file as text cells, with the wanted columns present and at least one row."""
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro` so the download stage fetches it.")
    if path.stat().st_size == 0:
        raise StageError(
            f"{path}: the file is empty (0 bytes). Fetch it again: dvc repro -f "
            f"download@{path.parent.name}, or fix the file the dataset entry names."
        )
    try:
        with warnings.catch_warnings():
            # a first data row with more fields than the header would silently become
            # pandas' row index (index_col=False), or lose its extra cells: refuse it
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.EmptyDataError as exc:  # only blank lines: no header to read
        raise StageError(f"{path}: no header and no data rows. Re-download the file.") from exc
    except pd.errors.ParserWarning as exc:
        raise StageError(
            f"{path}: a data row has more fields than the header ({' '.join(str(exc).split())}). "
            "Fix the file: "
            "every row needs one cell per column."
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())  # pandas' messages end in a newline
        raise StageError(
            f"{path}: cannot be parsed as CSV ({reason}). Fix the file, or re-download it."
        ) from exc
    wanted = spec.date_columns() + list(spec.columns)
    absent = [name for name in wanted if name not in frame.columns]
    if absent:
        raise StageError(
            f"{path}: missing column(s) {absent}; the file has {list(frame.columns)}. "
            f"Fix the column names under {spec.where} in conf/ or use the right file."
        )
    if frame.empty:
        raise StageError(f"{path}: no data rows. Re-download the file.")
    return frame


def _timestamps(frame: pd.DataFrame, spec: CsvSpec, path: Path) -> pd.Series:
    """Parse the date column(s); the result must be valid, strictly increasing and unique."""
    names = spec.date_columns()
    label = "+".join(names)
    cells = [frame[name].str.strip() for name in names]
    raw = cells[0].str.cat(cells[1:], sep=" ") if len(cells) > 1 else cells[0]
    units = {name.lower() for name in names}
    if spec.date_format is None and {"year", "month", "day"} <= units <= set(DATE_UNITS):
        parts = {name.lower(): pd.to_numeric(frame[name], errors="coerce") for name in names}
        parsed = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
    else:  # one column, or e.g. [Date, Time]: the cells joined by a space, parsed as one
        parsed = pd.to_datetime(raw, errors="coerce", format=spec.date_format or "mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise StageError(
            f"{path}: line {_line(row)}, column '{label}': {raw.iloc[row]!r} is not a date. "
            f"Fix the value, set {spec.where}.date in conf/ to the right column(s), or "
            f"set {spec.where}.date_format (a strftime pattern such as '%d.%m.%Y %H:%M')."
        )
    _check_order(parsed, raw, path, label)
    return parsed.reset_index(drop=True)


def _check_order(parsed: pd.Series, raw: pd.Series, path: Path, label: str) -> None:
    """Refuse out-of-order and duplicate dates, naming the line."""
    steps = np.diff(parsed.to_numpy().astype("datetime64[ns]").astype(np.int64))
    hits = np.flatnonzero(steps <= 0)
    if hits.size:
        row = int(hits[0]) + 1
        kind = "a duplicate" if steps[row - 1] == 0 else "out of order"
        raise StageError(
            f"{path}: line {_line(row)}, column '{label}': date {raw.iloc[row]!r} is {kind} "
            f"(previous row has {raw.iloc[row - 1]!r}). Sort the file by date and drop "
            "duplicate rows."
        )


def _iso(stamps: pd.Series) -> np.ndarray:
    """ISO text; date-only series (every time midnight) drop the " 00:00:00"."""
    text = stamps.dt.strftime("%Y-%m-%d %H:%M:%S")
    if (stamps == stamps.dt.normalize()).all():
        text = text.str.replace(" 00:00:00", "")
    return text.to_numpy()


def _in_range(frame: pd.DataFrame, stamps, path: Path, spec: CsvSpec):
    """Rows whose date lies in [start, end]; an empty selection is an error, not a no-op."""
    if stamps is None:
        raise StageError("params.yaml: tasks.<task>.date_range needs a date column (set date).")
    date_range = spec.date_range
    keep = np.ones(len(stamps), dtype=bool)
    if date_range.get("start") is not None:
        keep &= (stamps >= pd.Timestamp(str(date_range["start"]))).to_numpy()
    if date_range.get("end") is not None:
        keep &= (stamps <= pd.Timestamp(str(date_range["end"]))).to_numpy()
    if not keep.any():
        ends = _iso(stamps.iloc[[0, -1]])
        raise StageError(
            f"{path}: no rows between {date_range.get('start')} and {date_range.get('end')} "
            f"(the file covers {ends[0]} to {ends[1]}). Fix tasks.<task>.date_range."
        )
    return frame[keep], stamps[keep].reset_index(drop=True)  # frame keeps file rows for lines


def _regular(frame: pd.DataFrame, stamps, path: Path, spec: CsvSpec):
    """Check the dates against `freq`: report gaps; refuse them (fail), keep them as gaps
    (drop), or insert the missing timestamps as all-missing rows (ffill, interpolate)."""
    key = f"params.yaml: {spec.where}.freq"
    if stamps is None:
        raise StageError(f"{key} needs dates: set {spec.where}.date to the date column(s).")
    try:
        grid = pd.date_range(stamps.iloc[0], stamps.iloc[-1], freq=spec.freq)
    except ValueError as exc:
        raise StageError(f"{key}: {spec.freq!r} is not a pandas offset alias ({exc}).") from exc
    where = grid.get_indexer(pd.DatetimeIndex(stamps))
    off = np.flatnonzero(where < 0)
    if off.size:
        row = int(off[0])
        raise StageError(
            f"{path}: date {_iso(stamps.iloc[[row]])[0]} (line {_line(frame.index[row])}) is "
            f"not on the {spec.freq!r} grid that starts at the first date. Fix {key} or "
            "the file's dates."
        )
    jumps = np.flatnonzero(np.diff(where) > 1) + 1
    gaps = np.zeros(len(frame), dtype=bool)
    gaps[jumps] = True
    if not jumps.size:
        return frame, stamps, gaps, np.zeros(len(frame), dtype=bool)
    lost = len(grid) - len(stamps)
    around = _iso(stamps.iloc[[jumps[0] - 1, jumps[0]]])
    first = f"first between {around[0]} and {around[1]}"
    policy = spec.missing.policy
    if policy == "fail":
        raise StageError(
            f"{path}: {len(jumps)} gap(s) in the {spec.freq!r} dates ({lost} missing "
            f"timestamp(s), {first}). Fill them in the file, or set "
            f"{spec.where}.missing.policy to drop (keep the gaps) or ffill / interpolate "
            "(insert and fill the missing timestamps)."
        )
    action = "kept as gaps" if policy == "drop" else f"inserted, then {DONE[policy]}"
    print(f"{path}: {len(jumps)} gap(s) at freq {spec.freq!r}, {lost} missing timestamp(s) "
          f"({first}): {action}")
    if policy == "drop":
        return frame, stamps, gaps, np.zeros(len(frame), dtype=bool)
    source = np.zeros(len(grid), dtype=np.int64)  # inserted rows copy a neighbour's cells,
    source[where] = np.arange(len(frame))          # but every cell of theirs counts missing
    source = np.maximum.accumulate(source)
    inserted = np.ones(len(grid), dtype=bool)
    inserted[where] = False
    full = frame.iloc[source]
    return full, pd.Series(grid), np.zeros(len(grid), dtype=bool), inserted


def _column(raw: pd.Series, inserted: np.ndarray, path: Path, name: str, spec: CsvSpec):
    """One column parsed: floats (NaN = missing) or, for categorical ones, text (None)."""
    text = raw.str.strip()
    missing = text.isin(spec.missing.markers).to_numpy() | inserted
    if name in spec.categorical:
        values = text.to_numpy(dtype=object, copy=True)
        values[missing] = None
        problem = missing if spec.missing.policy == "fail" else np.zeros_like(missing)
    else:
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        garbage = ~np.isfinite(values) & ~missing
        _refuse_text(text, garbage, missing, path, name, spec)
        values[missing] = np.nan
        problem = garbage | (missing & (spec.missing.policy == "fail"))
    if problem.any():
        _refuse_cell(raw, problem, missing, path, name)
    return values


def _refuse_text(text, garbage, missing, path: Path, name: str, spec: CsvSpec) -> None:
    """A column that is mostly text is a categorical column not declared as one."""
    present = int((~missing).sum())
    if present and garbage.sum() * 2 > present:
        row = int(np.flatnonzero(garbage)[0])
        raise StageError(
            f"{path}: column '{name}' holds text, not numbers (e.g. {text.iloc[row]!r} on "
            f"line {_line(text.index[row])}). List it under {spec.where}.categorical to one-hot "
            "encode it as a feature, or remove it from features / target."
        )


def _refuse_cell(raw: pd.Series, problem, missing, path: Path, name: str) -> None:
    """Stop at the first bad cell; for a missing marker, say how to skip or fill instead."""
    row = int(np.flatnonzero(problem)[0])
    cell = raw.iloc[row].strip()
    what = "is empty" if cell == "" else "is not a finite number"
    hint = (
        " or set tasks.<task>.missing: drop (or a mapping with policy ffill / interpolate) "
        "to skip or fill missing cells"
        if missing[row]
        else ""
    )
    raise StageError(
        f"{path}: line {_line(raw.index[row])}, column '{name}': value {raw.iloc[row]!r} "
        f"{what} ({int(problem.sum())} such row(s) in all). Fix or remove those rows{hint}."
    )


def _is_missing(values: np.ndarray) -> np.ndarray:
    """Missing cells of a parsed column: NaN (numeric) or None (categorical)."""
    if values.dtype == object:
        return np.array([v is None for v in values], dtype=bool)
    return np.isnan(values)


def _seen_markers(frame: pd.DataFrame, spec: CsvSpec) -> list[str]:
    """The markers that occur in the used columns, for the drop message."""
    cells = frame[list(spec.columns)].apply(lambda col: col.str.strip())
    return sorted(set(cells.to_numpy().ravel()) & set(spec.missing.markers))


def _treat_missing(cells: dict, stamps, gaps: np.ndarray, path: Path, spec: CsvSpec, seen):
    """Apply the policy to the missing cells, printing per column what it found and did."""
    holes = {name: _is_missing(values) for name, values in cells.items()}
    policy = spec.missing.policy
    empty = [name for name, hole in holes.items() if hole.all()]
    if empty:  # no policy can make a series out of nothing
        raise StageError(
            f"{path}: column(s) {empty} hold no value in any of the "
            f"{len(holes[empty[0]])} rows (all missing). Pick another column for "
            f"{spec.where}.target / features in conf/, or fix the file."
        )
    for name, hole in holes.items():
        if hole.any():
            done = DONE.get(policy, "refused")
            if policy == "interpolate" and cells[name].dtype == object:
                done = "forward-filled (text)"
            print(f"{path}: column '{name}': {int(hole.sum())} missing cell(s), {done}")
    any_hole = np.logical_or.reduce(list(holes.values()))
    if not any_hole.any():
        return cells, stamps, gaps
    if policy == "drop":
        first = _first_label(stamps, any_hole)
        print(f"{path}: dropped {int(any_hole.sum())} row(s) marked "
              f"{' or '.join(map(repr, seen)) or 'missing'} (first: {first})")
        return _keep(cells, stamps, gaps, ~any_hole)
    cells = {name: _fill(values, policy) for name, values in cells.items()}
    lead = np.logical_or.reduce([_is_missing(values) for values in cells.values()])
    if lead.any():
        print(f"{path}: dropped {int(lead.sum())} leading row(s) whose missing values "
              f"cannot be {DONE[policy]} (first kept: {_first_label(stamps, ~lead)})")
        return _keep(cells, stamps, gaps, ~lead)
    return cells, stamps, gaps


def _first_label(stamps, rows: np.ndarray) -> str:
    """The date (or row number) of the first row in the mask, for messages."""
    row = int(np.flatnonzero(rows)[0])
    return _iso(stamps.iloc[[row]])[0] if stamps is not None else f"row {row}"


def _fill(values: np.ndarray, policy: str) -> np.ndarray:
    """Forward fill, or linear interpolation in row order for numbers (text: forward fill).

    Trailing missing values take the last observed one; leading ones stay missing.
    """
    series = pd.Series(values)
    if policy == "interpolate" and values.dtype != object:
        return series.interpolate(method="linear").to_numpy(dtype=np.float64, copy=True)
    filled = series.ffill().to_numpy(dtype=values.dtype, copy=True)
    if values.dtype == object:
        filled[pd.isna(filled)] = None
    return filled


def _keep(cells: dict, stamps, gaps: np.ndarray, keep: np.ndarray):
    """Rows in `keep`; a kept row after dropped ones (or after a gap) starts a gap."""
    rows = np.flatnonzero(keep)
    marks = np.cumsum(gaps)
    new_gaps = np.zeros(len(rows), dtype=bool)
    new_gaps[1:] = (np.diff(rows) > 1) | (marks[rows[1:]] - marks[rows[:-1]] > 0)
    cells = {name: values[rows] for name, values in cells.items()}
    stamps = stamps.iloc[rows].reset_index(drop=True) if stamps is not None else None
    return cells, stamps, new_gaps
