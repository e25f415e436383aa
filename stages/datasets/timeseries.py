"""Read and validate a CSV time series: a date column (optional) and numeric value columns.

Every check names the file, the 1-based line in the file and the fix, because a silent
NaN or an unsorted month would otherwise surface much later as a strange RMSE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stages.common import StageError


def _line(row: int) -> int:
    """File line of a 0-based data row: the header is line 1."""
    return row + 2


def read_csv(path: Path, date: str | None, columns: list[str]) -> pd.DataFrame:
    """Load `columns` (and `date`) from `path`, validated; dates come back as ISO strings."""
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro` so the download stage fetches it.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StageError(f"{path}: cannot be parsed as CSV ({exc}). Re-download the file.") from exc
    wanted = ([date] if date else []) + list(columns)
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise StageError(
            f"{path}: missing column(s) {missing}; the file has {list(frame.columns)}. "
            "Fix the column names under tasks.<task> in params.yaml or use the right file."
        )
    if frame.empty:
        raise StageError(f"{path}: no data rows. Re-download the file.")
    out = pd.DataFrame({name: _numeric(frame[name], path, name) for name in columns})
    out.insert(0, "date", _dates(frame[date], path, date) if date else "")
    return out


def _numeric(raw: pd.Series, path: Path, name: str) -> np.ndarray:
    """Parse one column as float, failing on the first empty, non-numeric or NaN cell."""
    values = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        problem = "is empty" if raw.iloc[row].strip() == "" else "is not a finite number"
        raise StageError(
            f"{path}: line {_line(row)}, column '{name}': value {raw.iloc[row]!r} {problem} "
            f"({bad.size} such row(s) in all). Fix or remove those rows."
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
