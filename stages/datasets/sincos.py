"""Seed 003's synthetic stream: input sin(x), target cos(x), x = i / (10*pi).

Generated from params instead of downloaded, so the "raw data" stage still exists and
prepare treats it like any other CSV time series without dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stages.core.config.tasks import Dataset
from stages.core.io import StageError


def generate(entry: Dataset) -> pd.DataFrame:
    """Return `points` rows of x, sin(x), cos(x) exactly as the seed's get_batch computes x."""
    points = entry.points
    if points is None:  # the schema checked it is >= 1 when given
        raise StageError("params.yaml: datasets.sincos.points is required; add it in conf/.")
    x = np.arange(points) / (10 * np.pi)
    return pd.DataFrame({"x": x, "sin": np.sin(x), "cos": np.cos(x)})
