"""Hybrid variants: a recurrent network trained on the residuals of a classical model.

`variants.<name>.hybrid: <classical name>` names one entry of the task's `classical:` list
(stages/core/baselines/classical.py). That model's parameters are estimated on the TRAINING rows
only; with them fixed, a Kalman filter (or the ETS recursions) runs over the whole series
and gives the one-step forecast at every target position of every split, each from the
rows before it (nothing from validation or test can move a parameter). The network learns,
in the task's model space, target - classical forecast from its usual input window; its
forecast is classical + network. Training stage and evaluation call `base_in_model_space`
with the same inputs, so they add back exactly what was subtracted, and the evaluation
scores the combined forecast in original units on the baselines' own targets.

Why residuals: the airline model and ARIMA already capture the linear seasonal and
autoregressive structure; a small network then only has to learn what is left (the
nonlinear part), which a few dozen training windows can support.
"""

from __future__ import annotations

import numpy as np

from stages.core.baselines import classical
from stages.core.config.runs import NAIVE_BASE
from stages.core.data.transforms import Transform
from stages.core.io import StageError


def classical_spec(specs: list | None, name: str, where: str) -> dict | str:
    """The task's `classical:` entry called `name` ("naive" for persistence), or an error
    naming the params key."""
    from stages.core.config.runs import classical_entry, classical_names

    if name == NAIVE_BASE:
        return NAIVE_BASE
    spec = classical_entry(specs, name)
    if spec is not None:
        return spec
    raise StageError(
        f"params.yaml: {where}.hybrid is {name!r}, which is not in the task's `classical:` "
        f"list (known: {classical_names(specs)})."
    )


def classical_forecasts(
    observed: np.ndarray, positions: np.ndarray, fit_stop: int, spec: dict, where: str
) -> np.ndarray:
    """One-step forecasts in original units at sorted `positions` (any split), parameters
    estimated on observed[:fit_stop] only (the same fitting code as the baselines)."""
    model = classical.parse(spec, f"{where}.hybrid")
    observed = np.asarray(observed, dtype=np.float64)
    return classical.forecast(observed, positions, fit_stop, model, where)[0]


def base_in_model_space(
    transform: Transform,
    observed: np.ndarray,
    positions: dict[str, np.ndarray],
    fit_stop: int,
    spec: dict | str,
    where: str,
) -> dict[str, np.ndarray]:
    """{split: classical forecast in the task's model space} at each split's positions
    (flat). The network's target is y - this; its forecast is this + network output.
    `spec` "naive": persistence, the last observed value (no fit)."""
    parts = {k: np.asarray(v, dtype=np.int64).reshape(-1) for k, v in positions.items()}
    if spec == NAIVE_BASE:
        return {
            split: transform.target_to_model(observed[pos - 1], observed, pos) if len(pos) else
            pos.astype(np.float64)
            for split, pos in parts.items()
        }  # fmt: skip
    everything = np.unique(np.concatenate([p for p in parts.values() if len(p)]))
    first_valid = transform.difference  # a difference needs the value `difference` back
    if everything[0] < 1 + first_valid:
        raise StageError(f"params.yaml: {where}.hybrid: a target has no history before it.")
    orig = classical_forecasts(observed, everything, fit_stop, spec, where)
    lookup = dict(zip(everything.tolist(), orig, strict=True))
    out = {}
    for split, pos in parts.items():
        fc = np.array([lookup[p] for p in pos.tolist()], dtype=np.float64)
        out[split] = transform.target_to_model(fc, observed, pos) if len(pos) else fc
    return out


def train_positions(task: str, window: dict, variant: dict, meta: dict, data: dict, prepared):
    """Target positions of the training windows the fit uses (train_stride re-windows)."""
    from stages.core.data import windows
    from stages.core.io import load_npz

    stride = variant["train"].get("train_stride")
    if not stride:
        return data["train"]["positions"].reshape(-1)
    difference = int(meta["transform"]["difference"])
    pos = windows.sliding_positions(0, meta["bounds"][0], window, difference, int(stride))
    if meta.get("span_gaps") is False:  # the same windows layouts.restrided leaves out
        gaps = load_npz(prepared / task / "series.npz")["gap_before"]
        pos = pos[~windows.spanning_gap(pos, gaps, window, difference)]
    return pos


def residual_feeds(
    feeds, task: str, window: dict, spec: dict | None, variant: dict, where: str, prepared
):
    """Turn a sliding layout's feeds into residual feeds: training and validation targets
    become target - classical forecast (model space). Predictions stay the network's own
    output; evaluation adds the classical forecast back (`base_in_model_space`). `spec`:
    the classical entry that composition copied into the run (stages/core/config/runs.py)."""
    from stages.core.io import load_npz
    from stages.core.models.layouts import load_splits

    if window.get("layout", "sliding") != "sliding" or int(window.get("horizon", 1)) != 1:
        raise StageError(f"params.yaml: {where}.hybrid needs a sliding layout with horizon 1.")
    if variant.get("hybrid") == NAIVE_BASE:
        spec = NAIVE_BASE
    elif spec is None:  # runs.<run> composed before the variant became a hybrid
        raise StageError(
            f"params.yaml: {where}.hybrid is set but runs lack its classical entry; "
            "recompose params.yaml (python -m stages.profile <profile>) and re-run."
        )
    data, meta = load_splits(task, prepared)
    observed = load_npz(prepared / task / "series.npz")["target"]
    outputs = feeds.train[1].shape[-1]
    if outputs > 1:  # a direct H-step hybrid: the base's H-step paths from each origin
        return residual_paths(feeds, observed, meta, spec, outputs, where)
    positions = {
        "train": train_positions(task, window, variant, meta, data, prepared),
        "val": data["val"]["positions"].reshape(-1),
    }
    base = base_in_model_space(
        Transform.from_dict(meta["transform"]), observed, positions, int(meta["bounds"][0]),
        spec, where,
    )  # fmt: skip
    x, y = feeds.train
    feeds.train = (x, y - base["train"].reshape(y.shape).astype(y.dtype))
    if feeds.validation is not None:
        xv, yv = feeds.validation
        feeds.validation = (xv, yv - base["val"].reshape(yv.shape).astype(yv.dtype))
    return feeds


def base_paths(
    transform: Transform, observed: np.ndarray, origins: np.ndarray, fit_stop: int,
    spec: dict, horizon: int, where: str,
) -> np.ndarray:  # fmt: skip
    """(n, H) model-space forecasts of the classical base from each origin, parameters
    estimated on observed[:fit_stop] (persistence for "naive"): what a direct H-step
    hybrid's network adds to."""
    observed = np.asarray(observed, dtype=np.float64)
    if spec == NAIVE_BASE:
        path = np.repeat(observed[origins][:, None], horizon, axis=1)
        return transform.path_to_model(path, observed, origins)
    model = classical.parse(spec, f"{where}.hybrid")
    path = classical.paths(observed, origins, fit_stop, model, horizon, f"{where}.hybrid")
    return transform.path_to_model(path, observed, origins)


def residual_paths(feeds, observed, meta: dict, spec: dict, outputs: int, where: str):
    """Direct H-step residual feeds: each window's H targets minus the base's H-step
    forecast from the window's origin (the row before its first target)."""
    transform = Transform.from_dict(meta["transform"])
    fit_stop = int(meta["bounds"][0])
    for split in ("train", "val"):
        pair = feeds.train if split == "train" else feeds.validation
        if pair is None or not len(pair[1]):
            continue
        origins = feeds.positions[split] - 1
        base = base_paths(transform, observed, origins, fit_stop, spec, outputs, where)
        pair = (pair[0], (pair[1] - base).astype(pair[1].dtype))
        if split == "train":
            feeds.train = pair
        else:
            feeds.validation = pair
    return feeds
