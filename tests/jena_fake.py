"""Files in the exact schema of jena_climate_2009_2016.csv(.zip), for tests and benchmarks.

10-minute rows from 01.01.2009 00:10:00, the real header and 14 columns, temperature with
daily and yearly cycles plus noise, other columns derived from it, and a few -9999.0
sentinels in the wind columns, as the real file has.
"""

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from stages.datasets import jena

INNER = "jena_climate_2009_2016.csv"


def frame(rows: int, seed: int = 0, sentinels: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    day, year = 2 * np.pi * t / 144, 2 * np.pi * t / (144 * 365.25)
    temp = 9 - 10 * np.cos(year) - 4 * np.cos(day) + rng.normal(0, 1, rows).cumsum() * 0.02
    values = {
        "p (mbar)": 990 + rng.normal(0, 5, rows),
        "T (degC)": temp,
        "Tpot (K)": temp + 273.15 + 2,
        "Tdew (degC)": temp - 5 + rng.normal(0, 1, rows),
        "rh (%)": np.clip(80 + 10 * np.cos(day) + rng.normal(0, 5, rows), 5, 100),
        "VPmax (mbar)": 6.1 * np.exp(0.07 * temp),
        "VPact (mbar)": 5 * np.exp(0.06 * temp),
        "VPdef (mbar)": np.abs(rng.normal(2, 1, rows)),
        "sh (g/kg)": 5 + temp / 5,
        "H2OC (mmol/mol)": 8 + temp / 3,
        "rho (g/m**3)": 1250 - 4 * temp,
        "wv (m/s)": np.abs(rng.normal(2, 1, rows)),
        "max. wv (m/s)": np.abs(rng.normal(3, 1.5, rows)),
        "wd (deg)": rng.uniform(0, 360, rows),
    }
    out = pd.DataFrame({k: np.round(v, 2) for k, v in values.items()})[jena.COLUMNS]
    for col in jena.WIND:
        out.loc[rng.choice(rows, sentinels, replace=False), col] = jena.SENTINEL
    stamps = pd.Timestamp("2009-01-01 00:10:00") + pd.to_timedelta(t * 10, unit="min")
    out.insert(0, jena.DATE, stamps.strftime("%d.%m.%Y %H:%M:%S"))
    return out


def write_zip(path: Path, rows: int, seed: int = 0) -> Path:
    """The zip as the canonical URL serves it: one CSV inside."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(INNER, frame(rows, seed).to_csv(index=False))
    return path
