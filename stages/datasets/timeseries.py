"""Read and validate a CSV time series: a date column (optional) and numeric value columns.

Every check names the file, the 1-based line in the file and the fix, because a silent
NaN or an unsorted month would otherwise surface much later as a strange RMSE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stages.core.io import StageError


def _line(row: int) -> int:
    """File line of a 0-based data row: the header is line 1."""
    return row + 2


MISSING = "null"  # what Yahoo Finance writes in every value column of a day it lacks


def read_csv(
    path: Path,
    date: str | None,
    columns: list[str],
    missing: str = "fail",
    date_range: dict | None = None,
) -> pd.DataFrame:
    """Load `columns` (and `date`) from `path`, validated; dates come back as ISO strings.

    `date_range` ({start, end}, inclusive, either optional) keeps only those rows.
    `missing: drop` drops rows holding the literal string "null" (Yahoo's marker for a
    missing day) and says how many; `missing: fail` (default) stops at the first one.
    """
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro` so the download stage fetches it.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StageError(f"{path}: cannot be parsed as CSV ({exc}). Re-download the file.") from exc
    wanted = ([date] if date else []) + list(columns)
    absent = [name for name in wanted if name not in frame.columns]
    if absent:
        raise StageError(
            f"{path}: missing column(s) {absent}; the file has {list(frame.columns)}. "
            "Fix the column names under tasks.<task> in params.yaml or use the right file."
        )
    if frame.empty:
        raise StageError(f"{path}: no data rows. Re-download the file.")
    dates = _dates(frame[date], path, date) if date else None
    if date_range:
        frame, dates = _in_range(frame, dates, path, date_range)
    if missing == "drop":
        frame, dates = _drop_missing(frame, dates, columns, path)
    elif missing != "fail":
        raise StageError(
            f"params.yaml: tasks.<task>.missing must be fail or drop, not {missing!r}."
        )
    out = pd.DataFrame({name: _numeric(frame[name], path, name) for name in columns})
    out.insert(0, "date", dates if dates is not None else "")
    return out


def _in_range(frame: pd.DataFrame, dates, path: Path, date_range: dict):
    """Rows whose date lies in [start, end]; an empty selection is an error, not a no-op."""
    if dates is None:
        raise StageError("params.yaml: tasks.<task>.date_range needs a date column (set date).")
    stamp = pd.to_datetime(pd.Series(dates))
    keep = np.ones(len(stamp), dtype=bool)
    if date_range.get("start") is not None:
        keep &= (stamp >= pd.Timestamp(str(date_range["start"]))).to_numpy()
    if date_range.get("end") is not None:
        keep &= (stamp <= pd.Timestamp(str(date_range["end"]))).to_numpy()
    if not keep.any():
        raise StageError(
            f"{path}: no rows between {date_range.get('start')} and {date_range.get('end')} "
            f"(the file covers {dates[0]} to {dates[-1]}). Fix tasks.<task>.date_range."
        )
    return frame[keep], dates[keep]


def _drop_missing(frame: pd.DataFrame, dates, columns: list[str], path: Path):
    """Drop Yahoo's "null" rows, saying how many went, so the gap is never silent."""
    null = frame[columns].apply(lambda col: col.str.strip() == MISSING).any(axis=1).to_numpy()
    if null.any():
        first = dates[null][0] if dates is not None else f"row {int(np.flatnonzero(null)[0])}"
        print(f"{path}: dropped {int(null.sum())} row(s) marked {MISSING!r} (first: {first})")
    keep = ~null
    return frame[keep], (dates[keep] if dates is not None else None)


def _numeric(raw: pd.Series, path: Path, name: str) -> np.ndarray:
    """Parse one column as float, failing on the first empty, non-numeric or NaN cell."""
    values = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        problem = "is empty" if raw.iloc[row].strip() == "" else "is not a finite number"
        hint = (
            " or set tasks.<task>.missing: drop to skip Yahoo's missing days"
            if raw.iloc[row].strip() == MISSING
            else ""
        )
        raise StageError(
            f"{path}: line {_line(raw.index[row])}, column '{name}': value {raw.iloc[row]!r} "
            f"{problem} ({bad.size} such row(s) in all). Fix or remove those rows{hint}."
        )
    return values


def _dates(raw: pd.Series, path: Path, name: str) -> np.ndarray:
    """Parse the date column; it must be parseable, strictly increasing and unique."""
    parsed = pd.to_datetime(raw.str.strip(), errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise StageError(
            f"{path}: line {_line(row)}, column '{name}': {raw.iloc[row]!r} is not a date. "
            "Fix the value or set tasks.<task>.date in params.yaml to the right column."
        )
    steps = np.diff(parsed.to_numpy().astype("datetime64[ns]").astype(np.int64))
    hits = np.flatnonzero(steps <= 0)
    if hits.size:
        row = int(hits[0]) + 1
        kind = "a duplicate" if steps[row - 1] == 0 else "out of order"
        raise StageError(
            f"{path}: line {_line(row)}, column '{name}': date {raw.iloc[row]!r} is {kind} "
            f"(previous row has {raw.iloc[row - 1]!r}). Sort the file by date and drop "
            "duplicate rows."
        )
    return parsed.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "").to_numpy()
