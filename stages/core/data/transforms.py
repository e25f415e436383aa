"""Value transforms between original units and the model's scaled space, and back.

Chain: optional log -> optional lag-d differencing -> scaler (min-max, standard or none).
Or, instead of log / differencing, per-window normalisation (seed 004): every window and
its target are divided by the window's last value, so prices become ratios near 1 and a
model trained on 2001-2012 levels still applies to 2017 levels.
The scaler is fitted on the training rows only by default; `fit_on: all` reproduces the
seeds' leak (their MinMaxScaler saw the test range) so the difference can be measured.
The inverse needs the observed series for differencing, which a forecaster has anyway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from stages.core.io import StageError


@dataclass
class Transform:
    """Fitted transform; serialised to JSON next to the prepared arrays."""

    log: bool = False
    difference: int = 0
    scaler: str = "minmax"
    feature_range: tuple[float, float] = (0.0, 1.0)
    target_column: int = 0
    offset: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    window_lag: int = 0  # > 0: target divided by the observed value this many steps back

    @classmethod
    def from_params(cls, cfg: dict[str, Any], target_column: int, horizon: int = 1) -> Transform:
        """Build an unfitted transform from tasks.<task>.transform / scaler params."""
        scaler = cfg.get("scaler", "minmax")
        if scaler not in ("minmax", "standard", "none"):
            raise StageError(
                f"params.yaml: scaler must be minmax, standard or none (got {scaler!r})."
            )
        if cfg.get("window_norm") and (cfg.get("log") or cfg.get("difference")):
            raise StageError(
                "params.yaml: transform.window_norm replaces log / difference; use one or "
                "the other."
            )
        return cls(
            window_lag=horizon if cfg.get("window_norm") else 0,
            log=bool(cfg.get("log", False)),
            difference=int(cfg.get("difference", 0)),
            scaler=scaler,
            feature_range=tuple(cfg.get("feature_range", (0.0, 1.0))),
            target_column=target_column,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transform:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def unscaled(self, values: np.ndarray) -> np.ndarray:
        """Log and difference (no scaling); the first `difference` rows become NaN."""
        out = np.log(values) if self.log else values.astype(np.float64)
        if self.difference:
            lagged = np.full_like(out, np.nan)
            lagged[self.difference :] = out[: -self.difference]
            out = out - lagged
        return out

    def fit(self, values: np.ndarray, rows: slice) -> None:
        """Fit the scaler on `values[rows]` (finite rows only)."""
        part = self.unscaled(values)[rows]
        part = part[np.isfinite(part).all(axis=1)]
        if self.scaler == "minmax":
            low, high = self.feature_range
            span = part.max(axis=0) - part.min(axis=0)
            scale = np.where(span > 0, span, 1.0) / (high - low)
            offset = part.min(axis=0) - low * scale
        elif self.scaler == "standard":
            scale = np.where(part.std(axis=0) > 0, part.std(axis=0), 1.0)
            offset = part.mean(axis=0)
        else:
            scale, offset = np.ones(part.shape[1]), np.zeros(part.shape[1])
        self.offset, self.scale = offset.tolist(), scale.tolist()

    def forward(self, values: np.ndarray) -> np.ndarray:
        """Original units (time, features) -> model space."""
        return (self.unscaled(values) - np.asarray(self.offset)) / np.asarray(self.scale)

    def window_inputs(self, x: np.ndarray) -> np.ndarray:
        """Per-window normalisation of inputs: each column over its last value in the window."""
        if not self.window_lag:
            return x
        last = x[:, -1:, :]
        if (last == 0).any():
            raise StageError(
                "params.yaml: transform.window_norm divides by each window's last value, "
                "but some are 0; drop that column from features or turn window_norm off."
            )
        return x / last

    def _ratio_base(self, observed: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The divisor of per-window normalisation: the window's last observed target."""
        return (
            observed[positions - self.window_lag] if self.window_lag else np.ones(positions.shape)
        )

    def _target_base(self, observed: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """What the difference is taken against: the observed target `difference` steps back."""
        if not self.difference:
            return np.zeros(positions.shape)
        ref = observed[positions - self.difference]
        return np.log(ref) if self.log else ref

    def target_to_model(
        self, predicted: np.ndarray, observed: np.ndarray, positions: np.ndarray
    ) -> np.ndarray:
        """Forecasts of the target in original units -> model space (for baselines)."""
        col = self.target_column
        w = np.log(predicted) if self.log else predicted / self._ratio_base(observed, positions)
        return (w - self._target_base(observed, positions) - self.offset[col]) / self.scale[col]

    def target_to_original(
        self, scaled: np.ndarray, observed: np.ndarray, positions: np.ndarray
    ) -> np.ndarray:
        """Model-space forecasts of the target -> original units."""
        col = self.target_column
        w = scaled * self.scale[col] + self.offset[col] + self._target_base(observed, positions)
        return np.exp(w) if self.log else w * self._ratio_base(observed, positions)

    def path_to_original(
        self, scaled: np.ndarray, observed: np.ndarray, origins: np.ndarray
    ) -> np.ndarray:
        """Model-space forecasts of steps 1..H from each origin, (n, H) -> original units.

        A differenced target is undone by summing the forecast differences from the
        observed value at the origin: what a multi-step forecaster knows there, nothing later.
        """
        col = self.target_column
        w = np.asarray(scaled, dtype=np.float64) * self.scale[col] + self.offset[col]
        self.check_path()
        if self.difference:
            base = observed[origins]
            w = np.cumsum(w, axis=1) + (np.log(base) if self.log else base)[:, None]
        return np.exp(w) if self.log else w

    def path_to_model(
        self, path: np.ndarray, observed: np.ndarray, origins: np.ndarray
    ) -> np.ndarray:
        """Original-unit forecasts of steps 1..H from each origin -> model space (the
        inverse of `path_to_original`; a hybrid's classical base)."""
        col = self.target_column
        self.check_path()
        w = np.log(path) if self.log else np.asarray(path, dtype=np.float64)
        if self.difference:
            base = observed[origins]
            first = (np.log(base) if self.log else base)[:, None]
            w = np.diff(np.concatenate([first, w], axis=1), axis=1)
        return (w - self.offset[col]) / self.scale[col]

    def check_path(self) -> None:
        """Paths of forecasts are undone for difference 0 or 1 without window_norm only
        (the schema refuses anything else for a task with a `horizon`)."""
        if self.window_lag or self.difference > 1:
            raise StageError(
                "params.yaml: a task with a horizon needs transform.difference 0 or 1 and "
                "no window_norm."
            )
