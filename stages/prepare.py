"""Stage `prepare@<task>`: validate the raw CSV, split by time, scale, and window.

Writes to data/prepared/<task>/:
- series.npz: original values (time, features), original target, dates, scaled values;
- train.npz / val.npz / test.npz: x (samples, steps, features), y and the series
  positions of every target (so baselines and plots use exactly the same targets);
- meta.json: fitted facts only: the transform, the split bounds, the columns. Settings
  (windows, baselines, plots) are read from params by each stage that uses them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stages.core.config.entry import stage_cli
from stages.core.data import windows
from stages.core.data.transforms import Transform
from stages.core.io import (
    PREPARED_DIR,
    RAW_DIR,
    SPLITS,
    StageError,
    mark_unavailable,
    require,
    save_npz,
    unavailable,
    write_json,
)
from stages.datasets import jena
from stages.datasets.timeseries import CsvSpec, Missing, Table, read_table


def load_task_frame(task: str, cfg: dict[str, Any], raw_dir: Path = RAW_DIR):
    """Read the task's CSV with its date and feature columns, validated and with its
    missing cells treated; returns the Table (rows and gaps), the features and the target."""
    where = f"tasks.{task}"
    path = raw_dir / require(cfg, "dataset", where) / require(cfg, "file", where)
    features = list(require(cfg, "features", where))
    target = require(cfg, "target", where)
    columns = features + ([target] if target not in features else [])
    spec = CsvSpec(
        date=date_columns(cfg, where),
        columns=columns,
        missing=Missing.parse(cfg.get("missing", "fail"), where),
        date_range=cfg.get("date_range"),
        date_format=cfg.get("date_format"),
        freq=cfg.get("freq"),
        categorical=categorical_columns(cfg, features, target, where),
        where=where,
    )
    return read_table(path, spec), features, target


def date_columns(cfg: dict, where: str) -> str | list[str] | None:
    """tasks.<task>.date: one column or a list combined into one timestamp (or null)."""
    date = cfg.get("date")
    ok = date is None or isinstance(date, str) or (
        isinstance(date, list) and date and all(isinstance(d, str) for d in date)
    )
    if not ok:
        raise StageError(
            f"params.yaml: {where}.date must be a column name or a list of column names "
            f"(e.g. [year, month, day, hour]), not {date!r}."
        )
    if date is None and cfg.get("date_format"):
        raise StageError(f"params.yaml: {where}.date_format needs {where}.date; set both.")
    return date


def categorical_columns(cfg: dict, features: list[str], target: str, where: str):
    """tasks.<task>.categorical: text feature columns to one-hot encode; never the target."""
    names = cfg.get("categorical") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise StageError(f"params.yaml: {where}.categorical must be a list of column names.")
    if target in names:
        raise StageError(
            f"params.yaml: {where}.target {target!r} is listed in {where}.categorical; the "
            "target must be numeric. Pick a numeric target or remove it from categorical."
        )
    stray = [n for n in names if n not in features]
    if stray:
        raise StageError(
            f"params.yaml: {where}.categorical lists {stray}, which are not in "
            f"{where}.features; add them to features too (or remove them from categorical)."
        )
    return tuple(names)


def encode_features(task: str, frame, features: list[str], categorical, train_stop: int):
    """The feature matrix, categorical columns one-hot on the TRAINING rows' categories.

    A category first seen in validation or test becomes all zeros (counted): encoding it
    from those rows would leak the future into the input layout. Returns (values, column
    names `<col>=<value>` for one-hot columns, {column: categories}).
    """
    if not categorical:
        return frame[features].to_numpy(np.float64), features, {}
    blocks, names, categories = [], [], {}
    for name in features:
        if name not in categorical:
            blocks.append(frame[name].to_numpy(np.float64)[:, None])
            names.append(name)
            continue
        column = frame[name].to_numpy(dtype=object)
        seen = sorted(set(column[:train_stop]))
        onehot = (column[:, None] == np.array(seen, dtype=object)[None, :]).astype(np.float64)
        unseen = onehot.sum(axis=1) == 0
        blocks.append(onehot)
        names += [f"{name}={value}" for value in seen]
        categories[name] = seen
        print(f"prepare {task}: column '{name}': {len(seen)} categories in the training rows")
        if unseen.any():
            new = sorted(set(column[unseen]))
            print(
                f"prepare {task}: column '{name}': {int(unseen.sum())} val/test row(s) hold a "
                f"category not seen in training ({', '.join(map(str, new))}): all zeros"
            )
    return np.column_stack(blocks), names, categories


def first_target(window: dict, first_valid: int) -> int:
    """The earliest row that can be a target: a full window (and differencing) before it."""
    return first_valid + int(window["lookback"]) + int(window.get("horizon", 1)) - 1


def sliding_bounds(n: int, split: dict, window: dict, first_valid: int) -> tuple[int, int]:
    """Rows where validation and test start.

    `split.of: rows` (default) takes the fractions of the series rows (seeds 000, 001);
    `split.of: targets` takes them of the windowed samples, as seed 004 splits `X, Y`.
    """
    val, test = float(split["val"]), float(split["test"])
    if split.get("of", "rows") == "targets":
        first = first_target(window, first_valid)
        v, t = windows.split_bounds(n - first, val, test)
        return first + v, first + t
    return windows.split_bounds(n, val, test)


def sliding_splits(
    series: dict[str, np.ndarray],
    bounds: tuple[int, int],
    window: dict,
    transform: Transform,
    gaps: Table | None = None,
    task: str = "<task>",
) -> dict[str, tuple[np.ndarray, ...]]:
    """Windows for each split; a split's targets all lie inside that split.

    With `gaps` (rows dropped or a `freq` gap), windows that cross one are dropped from
    every split unless span_gaps is true; either way their number is printed.
    """
    n = len(series["scaled"])
    edges = {"train": (0, bounds[0]), "val": (bounds[0], bounds[1]), "test": (bounds[1], n)}
    out, crossing = {}, {}
    for split, (start, stop) in edges.items():
        pos = windows.sliding_positions(start, stop, window, transform.difference)
        if gaps is not None:
            cross = windows.spanning_gap(pos, gaps.gap_before, window, transform.difference)
            crossing[split] = int(cross.sum())
            pos = pos if gaps.span_gaps else pos[~cross]
        x, y = windows.window_arrays(series, pos, window, transform)
        out[split] = (x, y, pos, np.ones(len(x), dtype=bool))
    if sum(crossing.values()):
        counts = ", ".join(f"{k} {v}" for k, v in crossing.items())
        done = (
            "kept (span_gaps: true)"
            if gaps.span_gaps
            else f"excluded (set tasks.{task}.missing.span_gaps: true to keep them)"
        )
        print(f"prepare {task}: {sum(crossing.values())} window(s) span a gap ({counts}): {done}")
    return out


def check_target(
    task: str, target: np.ndarray, name: str, train_stop: int, window: dict, difference: int,
    stateful: bool,
) -> None:
    """Refuse, before any windowing, a series that cannot be forecast as asked: a look-back
    longer than the series, or a target that does not vary over the training rows (the
    scaler would divide by zero and every model would be scored against a flat line).
    Both are a params choice or a bad file, so the message names the key and the fix."""
    where = f"params.yaml: tasks.{task}"
    if not stateful:
        reach = first_target(window, difference) + 1  # rows one window and its target span
        if reach > len(target):
            raise StageError(
                f"{where}.window.lookback: {window['lookback']} (with horizon "
                f"{window.get('horizon', 1)} and differencing {difference}) needs {reach} rows, "
                f"but the series has {len(target)}. Lower window.lookback in conf/ or use a "
                "longer series."
            )
    train = target[:train_stop]
    if np.nanmax(train) == np.nanmin(train):
        raise StageError(
            f"{where}.target: '{name}' is constant ({train[0]:g}) over all {train_stop} "
            "training rows: there is nothing to learn and the scaler would divide by zero. "
            "Pick a target that varies, or a date_range where it does (conf/)."
        )


def stateful_layout(window: dict) -> dict[str, tuple[int, int, int, int]]:
    """(base, batches, row_gap, warmup) per split: training as seed 003, then held-out streams.

    Each held-out stream first runs `warmup_batches` windows that are predicted but not
    scored: a stateful model needs some input before its carried state means anything,
    and scoring its zero-state guesses would measure the warm-up, not the model.
    """
    steps, size = int(window["time_steps"]), int(window["batch_size"])
    train_batches, eval_batches = int(window["train_batches"]), int(window["eval_batches"])
    warmup = int(window.get("warmup_batches", 0))
    stream = warmup + eval_batches
    val_base = (train_batches + size - 1) * steps
    test_base = val_base + size * stream * steps
    return {
        "train": (0, train_batches, steps, 0),
        "val": (val_base, stream, stream * steps, warmup),
        "test": (test_base, stream, stream * steps, warmup),
    }


def stateful_splits(scaled: np.ndarray, target: np.ndarray, window: dict, path_hint: str):
    """Seed 003's stateful batches for training, disjoint continuous streams for val/test."""
    steps, size = int(window["time_steps"]), int(window["batch_size"])
    layout = stateful_layout(window)
    base, batches, gap, _ = layout["test"]
    needed = base + (size - 1) * gap + batches * steps
    if needed > len(scaled):
        raise StageError(
            f"{path_hint}: {len(scaled)} rows, but the stateful window layout needs {needed}. "
            "Raise datasets.<name>.points or lower window.train_batches / eval_batches in conf/."
        )
    out = {}
    for split, (base, batches, gap, warmup) in layout.items():
        starts = windows.stateful_starts(base, batches, size, steps, gap)
        scored = np.arange(len(starts)) // size >= warmup  # batch index past the warm-up
        out[split] = (*windows.sequence_windows(scaled, target, starts, steps), scored)
    return out, (layout["val"][0], layout["test"][0])


def prepare_task(
    task: str, cfg: dict[str, Any], raw_dir: Path = RAW_DIR, out_dir: Path = PREPARED_DIR
) -> dict[str, int]:
    """Run the whole preparation for one task; returns the sample count per split."""
    reason = unavailable(raw_dir / require(cfg, "dataset", f"tasks.{task}"))
    if reason:
        mark_unavailable(out_dir / task, reason)
        print(f"prepare {task}: skipped, raw data unavailable")
        return {}
    layout = require(cfg, "window", f"tasks.{task}").get("layout", "sliding")
    if layout not in PREPARERS:
        raise StageError(
            f"params.yaml: tasks.{task}.window.layout {layout!r} is unknown "
            f"(known: {', '.join(PREPARERS)})."
        )
    return PREPARERS[layout](task, cfg, raw_dir, out_dir)


def prepare_series(task: str, cfg: dict, raw_dir: Path, out_dir: Path) -> dict[str, int]:
    """Sliding and stateful layouts: read the CSV, fit the scaler on the training rows,
    window every split, write the arrays and meta.json."""
    table, features, target_name = load_task_frame(task, cfg, raw_dir)
    frame = table.frame
    target = frame[target_name].to_numpy(np.float64)
    window = dict(cfg["window"])
    stateful = window.get("layout") == "stateful"
    horizon = int(window.get("horizon", 1))
    difference = Transform.from_params(cfg.get("transform", {}), 0, horizon).difference
    if stateful:
        bounds = stateful_layout(window)["val"][0], stateful_layout(window)["test"][0]
    else:
        split = require(cfg, "split", f"tasks.{task}")
        bounds = sliding_bounds(len(frame), split, window, difference)
    categorical = categorical_columns(cfg, features, target_name, f"tasks.{task}")
    values, columns, categories = encode_features(task, frame, features, categorical, bounds[0])
    transform = make_transform(task, cfg, columns, target_name, values)
    all_cols = np.column_stack([values, target]) if target_name not in features else values
    if bounds[0] < 2:
        raise StageError(
            f"params.yaml: tasks.{task}: the training split is empty; raise split.val."
        )
    check_target(task, target, target_name, bounds[0], window, difference, stateful)
    fit_all = cfg.get("transform", {}).get("fit_on") == "all"
    transform.fit(all_cols, slice(0, None) if fit_all else slice(0, bounds[0]))
    scaled_all = transform.forward(all_cols)
    scaled = scaled_all[:, : len(columns)]
    scaled_target = scaled_all[:, transform.target_column]
    gaps = table if table.gap_before.any() else None
    if stateful:
        if gaps is not None and not gaps.span_gaps:
            raise StageError(
                f"params.yaml: tasks.{task}: the stateful layout cannot leave out windows "
                "that span a gap; set missing.span_gaps: true or use policy ffill / interpolate."
            )
        splits, bounds = stateful_splits(
            scaled, scaled_target, window, f"{raw_dir}/{cfg['dataset']}"
        )
    else:
        series = {"scaled": scaled, "scaled_target": scaled_target, "target": target}
        splits = sliding_splits(series, bounds, window, transform, gaps, task)
    if len(splits["train"][0]) == 0 or len(splits["test"][0]) == 0:
        raise StageError(
            f"params.yaml: tasks.{task}: the window settings leave no training or test "
            "samples; lower window.lookback or change split."
        )
    excluded = gaps is not None and not gaps.span_gaps
    extra = {"gap_before": table.gap_before} if excluded else {}
    write_outputs(out_dir / task, frame, values, target, scaled, scaled_target, splits, extra)
    meta = {
        "task": task,
        "bounds": list(map(int, bounds)),
        "transform": transform.to_dict(),
        "features": columns,
        "target": target_name,
    }
    if categories:
        meta["categories"] = categories
    if excluded:
        meta["span_gaps"] = False  # train_stride re-windowing skips the same windows
    write_json(out_dir / task / "meta.json", meta)
    return {split: len(arrays[0]) for split, arrays in splits.items()}


def prepare_indexed(task: str, cfg: dict, raw_dir: Path, out_dir: Path) -> dict[str, int]:
    """Seed 002's protocol: standardise, then store window-end rows, never the windows.

    The windows (lookback 1440 rows sampled every `step`) are gathered batch by batch by
    the train stage; only the rows, the targets and a few reference windows are written.
    """
    where = f"tasks.{task}"
    path = raw_dir / cfg["dataset"] / require(cfg, "file", where)
    dates, values = jena.read(path)
    values = jena.clean(values, path)
    target_col = jena.COLUMNS.index(require(cfg, "target", where))
    window = dict(require(cfg, "window", where))
    lookback, step, delay = (int(window[k]) for k in ("lookback", "step", "delay"))
    fit_rows = int(cfg.get("transform", {}).get("fit_rows", 200000))
    transform = Transform(scaler="standard", target_column=target_col)
    transform.fit(values, slice(0, fit_rows))  # seed: mean / std of float_data[:200000]
    scaled = transform.forward(values).astype(np.float32)
    save_npz(
        out_dir / task / "series.npz",
        target=values[:, target_col],
        scaled=scaled,
        scaled_target=scaled[:, target_col],
        dates=dates,
    )
    counts = {}
    for split in SPLITS:
        lo, hi = require(window, split, f"{where}.window")
        rows = windows.indexed_rows(lo, hi, lookback, delay, len(scaled))
        if len(rows) == 0:
            raise StageError(f"params.yaml: {where}.window.{split} leaves no windows; widen it.")
        scored = rows[:: int(window.get("train_eval_every", 1))] if split == "train" else rows
        reference = scored[: int(window.get("reference_windows", 256))]
        save_npz(
            out_dir / task / f"{split}.npz",
            rows=rows,
            eval_rows=scored,
            positions=scored + delay,
            y=scaled[scored + delay, target_col][:, None],
            scored=np.ones(len(scored), dtype=bool),
            x=windows.gather_windows(scaled, reference, lookback, step),
        )
        counts[split] = len(rows)
    meta = {"task": task, "transform": transform.to_dict()}
    meta.update(bounds=[int(window["train"][1]), int(window["test"][0])], target=cfg["target"])
    write_json(out_dir / task / "meta.json", {**meta, "features": jena.COLUMNS})
    return counts


PREPARERS = {"sliding": prepare_series, "stateful": prepare_series, "indexed": prepare_indexed}


def make_transform(task: str, cfg: dict, features: list[str], target: str, values) -> Transform:
    """The unfitted transform; the target is its own column when it is not a feature."""
    col = features.index(target) if target in features else len(features)
    horizon = int(cfg.get("window", {}).get("horizon", 1))
    transform = Transform.from_params(cfg.get("transform", {}), col, horizon)
    if transform.log and (values <= 0).any():
        raise StageError(f"params.yaml: tasks.{task}.transform.log needs positive values.")
    if transform.window_lag and (values <= 0).any():
        raise StageError(
            f"params.yaml: tasks.{task}.transform.window_norm needs positive values "
            "(prices); the data has zeros or negatives."
        )
    if transform.difference and transform.difference < horizon:
        raise StageError(
            f"params.yaml: tasks.{task}.transform.difference ({transform.difference}) must be "
            f">= window.horizon ({horizon}): the reference value must be known when forecasting."
        )
    return transform


def write_outputs(
    out: Path, frame, values, target, scaled, scaled_target, splits, extra=None
) -> None:
    """Write series.npz (plus `extra` arrays) and one npz per split (each file atomically)."""
    save_npz(
        out / "series.npz",
        values=values,
        target=target,
        scaled=scaled,
        scaled_target=scaled_target,
        dates=frame["date"].to_numpy(dtype=str),
        **(extra or {}),
    )
    for split, (x, y, pos, scored) in splits.items():
        save_npz(out / f"{split}.npz", x=x, y=y, positions=pos, scored=scored)


def run(task: str, cfg: dict[str, Any], _params: dict) -> None:
    counts = prepare_task(task, cfg)
    if counts:
        print(f"prepare {task}: " + ", ".join(f"{k} {v} samples" for k, v in counts.items()))


if __name__ == "__main__":
    stage_cli("prepare", "tasks", run)
