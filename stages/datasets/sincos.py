"""Seed 003's synthetic stream: input sin(x), target cos(x), x = i / (10*pi).

Generated from params instead of downloaded, so the "raw data" stage still exists and
prepare treats it like any other CSV time series without dates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stages.core.io import StageError


def generate(entry: dict[str, Any]) -> pd.DataFrame:
    """Return `points` rows of x, sin(x), cos(x) exactly as the seed's get_batch computes x."""
    points = int(entry.get("points", 0))
    if points <= 0:
        raise StageError("params.yaml: datasets.sincos.points must be a positive integer.")
    x = np.arange(points) / (10 * np.pi)
    return pd.DataFrame({"x": x, "sin": np.sin(x), "cos": np.cos(x)})
