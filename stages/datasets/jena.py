"""The Jena climate file (seed 002): read it from the zip, check the schema, clean it.

420,551 rows every 10 minutes, 2009-2016: `Date Time` (dd.mm.yyyy HH:MM:SS) and 14 numeric
columns. The wind columns hold -9999.0 where the sensor failed; see `clean`.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from stages.core.io import StageError

DATE = "Date Time"
COLUMNS = [
    "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)",
    "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)",
    "wv (m/s)", "max. wv (m/s)", "wd (deg)",
]  # fmt: skip
WIND = ["wv (m/s)", "max. wv (m/s)"]
SENTINEL = -9999.0


def read(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """(dates as ISO strings, the 14 columns as float64), from the .zip or a plain .csv."""
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro download@jena` first.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (
        pd.errors.ParserError,
        UnicodeDecodeError,
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,  # truncated download: no central directory
        zlib.error,  # corrupt bytes inside the compressed member
    ) as exc:
        raise StageError(
            f"{path}: unreadable, truncated or corrupt (zipped) CSV ({exc}). Delete it and "
            "run `dvc repro -f download@jena`."
        ) from exc
    absent = [name for name in [DATE, *COLUMNS] if name not in frame.columns]
    if absent:
        raise StageError(
            f"{path}: missing column(s) {absent}; the file has {list(frame.columns)}. "
            "This is not the Jena climate 2009-2016 file: re-download it."
        )
    values = frame[COLUMNS].apply(lambda col: pd.to_numeric(col.str.strip(), errors="coerce"))
    bad = np.argwhere(~np.isfinite(values.to_numpy(np.float64)))
    if bad.size:
        row, col = map(int, bad[0])
        raise StageError(
            f"{path}: line {row + 2}, column '{COLUMNS[col]}': {frame[COLUMNS[col]].iloc[row]!r} "
            f"is not a number ({len(bad)} such cell(s)). Re-download the file."
        )
    return dates(frame[DATE], path), values.to_numpy(np.float64)


def dates(raw: pd.Series, path: Path) -> np.ndarray:
    """Parse dd.mm.yyyy HH:MM:SS; a bad one is an error, out-of-order ones only a warning.

    The seed indexes rows, not times (train = rows 0-200000), so rows are kept as they are
    even where the logger repeated or skipped a timestamp; we say how many there are.
    """
    parsed = pd.to_datetime(raw.str.strip(), format="%d.%m.%Y %H:%M:%S", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise StageError(
            f"{path}: line {int(bad[0]) + 2}, column '{DATE}': {raw.iloc[int(bad[0])]!r} is not "
            "a dd.mm.yyyy HH:MM:SS date. Re-download the file."
        )
    steps = np.diff(parsed.to_numpy().astype("datetime64[s]").astype(np.int64))
    if (steps <= 0).any():
        print(f"{path}: note: {int((steps <= 0).sum())} timestamp(s) repeat or go back; rows kept")
    return parsed.dt.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=str)


def clean(values: np.ndarray, path: Path) -> np.ndarray:
    """Replace the wind sentinels (-9999.0) by 0 m/s; refuse any other sentinel-like value.

    Zero, not interpolation: the sentinel marks a failed wind reading, and calm air is the
    physically possible value closest to "no reading" (the TensorFlow time-series tutorial
    does the same). How many cells were affected is printed.
    """
    out = values.copy()
    for name in WIND:
        col = COLUMNS.index(name)
        hits = out[:, col] == SENTINEL
        if hits.any():
            print(f"{path}: {name}: {int(hits.sum())} sentinel value(s) -9999 set to 0 m/s")
        out[hits, col] = 0.0
    left = np.argwhere(out <= -9000.0)
    if left.size:
        row, col = map(int, left[0])
        raise StageError(
            f"{path}: line {row + 2}, column '{COLUMNS[col]}': {out[row, col]} looks like a "
            "missing-value sentinel outside the wind columns. Check the file."
        )
    return out
