"""A trained network as a forecaster (stages/core/baselines/forecasters.py's interface).

Networks are trained once, on the rows before validation, with early stopping on
validation (stages/train.py); a backtest then forecasts from every origin with the weights
fixed, as darts' `historical_forecasts(retrain=False)` does. Forecasts come from the numpy
forward pass (stages/core/scoring/reference.py, checked against Keras in evaluate), so the
backtest imports no TensorFlow, and an origin's window is cut from rows <= origin only.

- direct (the default): the network has H outputs, steps 1..H from one window;
- recursive (`backtest.recursive: true`): a one-output network of a univariate task is fed
  its own forecast H times;
- a hybrid adds its network's output to its ARIMA base's forecasts from the same origin
  (stages/core/models/hybrid.py), the base's parameters estimated on the training rows.

The forecast of a variant is the mean of its seeds' forecasts (the seed ensemble, as in
evaluate); `per_seed` keeps each seed's paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.core.baselines.forecasters import Forecast, History
from stages.core.io import StageError, load_npz, model_dir
from stages.core.models.arch import model_inputs
from stages.core.scoring import reference


class Network:
    """One variant over its seeds: `runs` is {seed: variant.json} (io.trained_variants)."""

    def __init__(self, task: str, name: str, runs: dict[int, dict], models: Path, base=None):
        self.name, self.runs, self.base = name, runs, base
        self.weights = {
            seed: [w[k] for k in sorted(w)]
            for seed, w in (
                (seed, load_npz(model_dir(task, name, seed, models) / "weights.npz"))
                for seed in runs
            )
        }
        self.per_seed: list[np.ndarray] = []

    def fit(self, history: History, stop: int) -> None:
        """Weights stay as trained (retrain=False)."""

    def predict(self, history, origins, horizon, levels) -> Forecast:
        base = None if self.base is None else self.base(history, origins, horizon)
        self.per_seed = [
            self.seed_paths(history, record, self.weights[seed], origins, horizon, base)
            for seed, record in self.runs.items()
        ]
        return Forecast(np.mean(self.per_seed, axis=0))

    def seed_paths(self, history, record, weights, origins, horizon, base) -> np.ndarray:
        """One seed's (n, H) forecasts in original units."""
        outputs = int(record["model"]["head"]["units"])
        x = history.windows(origins)
        if outputs == horizon:
            path = self.forward(record, weights, x)
        elif outputs == 1:
            path = self.recursive(record, weights, x, history, horizon)
        else:
            raise StageError(
                f"models/{record['task']}/{self.name}: the network has {outputs} outputs but "
                f"tasks.{record['task']}.horizon is {horizon}; re-run `dvc repro`."
            )
        if base is not None:
            path = path + base
        return history.transform.path_to_original(path, history.observed, origins)

    @staticmethod
    def forward(record: dict, weights, x: np.ndarray) -> np.ndarray:
        arch = record["model"]
        out = reference.predict(arch, weights, model_inputs(x, record), record["batch_size"])
        return out.reshape(len(x), -1)

    def recursive(self, record, weights, x, history: History, horizon: int) -> np.ndarray:
        """Feed each one-step forecast back as the newest input (univariate tasks: the one
        input column is the target in model space)."""
        if x.shape[-1] != 1:
            raise StageError(
                f"tasks.{record['task']}.backtest.recursive needs a univariate task (one "
                "feature, the target); use direct forecasts (recursive: false)."
            )
        if record.get("hybrid"):
            raise StageError(
                f"variants.{self.name}: a hybrid forecasts directly; set "
                f"tasks.{record['task']}.backtest.recursive: false."
            )
        steps = []
        for _ in range(horizon):
            step = self.forward(record, weights, x)[:, :1]
            steps.append(step)
            x = np.concatenate([x[:, 1:], step[:, None, :]], axis=1)
        return np.concatenate(steps, axis=1)
