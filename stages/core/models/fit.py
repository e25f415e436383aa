"""The one fit function: every variant, forecasting and text, trains through `fit`.

What it guarantees:
- **Determinism.** The weights are initialised from the run's seed, and before every
  epoch the global seeds and every layer's dropout seed state are reset to a value
  derived from (seed, epoch). Epoch k therefore shuffles and drops out the same way
  whether it runs straight after epoch k-1 or in a process that resumed from a
  checkpoint of epoch k-1: a resumed run ends with the same bytes as an uninterrupted one.
- **One set of defaults.** `train.epochs` (required), `early_stopping: {patience: 10,
  min_delta: 0}` on the validation loss (off when unset), `restore_best: false` (as
  Keras' EarlyStopping): when true, the weights of the epoch with the lowest validation
  loss are restored at the end.
- **Resume after kill -9.** After an epoch, once `train.checkpoint_every` seconds
  (default 30; 0 = every epoch) have passed since the last one, the whole model
  (optimizer state included), the best weights so far and state.json (epoch,
  early-stopping counters, per-epoch logs) go to checkpoints/<task>/<variant>/s<seed>/,
  a git- and DVC-ignored folder
  that is *not* a DVC output (so finished stages stay in DVC's run-cache). The folder is
  stamped with a fingerprint of the variant's params, the seed, the prepared data and
  the training code; a folder with another fingerprint is discarded. The caller deletes
  it once the stage's outputs are written.
- **Curves.** Per-epoch logs go to DVCLive (`train/loss`, `eval/loss`, ...); a resumed
  run replays the finished epochs first, so the curves are whole.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from stages.core.io import (
    CHECKPOINTS_DIR,
    LIVE_DIR,
    MODELS_DIR,
    StageError,
    live_dir,
    model_dir,
    require,
    save_npz,
    write_json,
)
from stages.core.models.arch import reset_states
from stages.core.models.checkpoint import (
    LOGS_DIR,
    Checkpoint,
    fingerprint,
    reseed,
    restore_checkpoint,
    save_keras,
    set_determinism,
    times_log,
)


def stopping(cfg: dict) -> tuple[int | None, float]:
    """(patience, min_delta) from train.early_stopping, or (None, 0) when it is off."""
    spec = cfg.get("early_stopping")
    if not spec:
        return None, 0.0
    return int(spec.get("patience", 10)), float(spec.get("min_delta", 0.0))


def fit(
    model,
    feeds,
    cfg: dict,
    where: str,
    seed: int,
    live,
    checkpoint: Checkpoint,
    on_epoch: Callable[[Any, int], None] | None = None,
    strategy=None,
) -> tuple[Any, dict]:
    """Train `model` on `feeds` for train.epochs (or until early stopping), resuming from
    `checkpoint` when it holds this run; returns the model (best weights restored when
    train.restore_best) and a summary for DVCLive.

    `feeds` is a layout from stages/core/models/layouts.py: `epoch(k)` gives model.fit's data
    arguments for epoch k, `validation` the held-out data (or None), `stateful` whether
    layer states are reset before each epoch. `on_epoch(model, epoch)` runs after each
    epoch (e.g. printing a text sample). `strategy` (train.distribute, None for none) is the
    tf.distribute strategy the model was built under. A resumed run loads the checkpoint's
    weights and optimizer state into `model` as built (see `restore_checkpoint`).
    """
    from dvclive.utils import standardize_metric_name

    epochs = int(require(cfg, "epochs", where))
    has_val = feeds.validation is not None
    patience, min_delta = stopping(cfg)
    restore_best = bool(cfg.get("restore_best", False))
    if (patience or restore_best) and not has_val:
        print(f"warning: {where}: no validation split; early stopping / restore_best are off.")
        patience, restore_best = None, False
    every = float(cfg.get("checkpoint_every", 30))
    state, best_weights = checkpoint.load(), None
    if state:
        restore_checkpoint(model, checkpoint.folder / state["last"], strategy)
        best_weights = checkpoint.best_weights(state)
        print(f"resuming from {checkpoint.folder} after epoch {state['epoch']}")
    else:
        state = {"fingerprint": checkpoint.stamp, "epoch": 0, "best": None, "best_epoch": 0}
        state.update(wait=0, stopped=False, logs=[])
    for logs in state["logs"]:  # replay the finished epochs, so the curves are whole
        log_epoch(live, logs, standardize_metric_name)
    checkpoint.folder.mkdir(parents=True, exist_ok=True)
    validation = validation_data(feeds, bool(cfg.get("cache_validation", True)) and not strategy)
    saved_at = time.monotonic()
    while state["epoch"] < epochs and not state["stopped"]:
        epoch = state["epoch"]
        started = time.perf_counter()
        reseed(model, seed, epoch)
        if feeds.stateful:
            reset_states(model)
        data = feeds.epoch(epoch)  # stream layouts bring their own callbacks (state resets)
        data["callbacks"] = [*data.get("callbacks", []), nan_stop()]
        history = model.fit(**data, validation_data=validation, verbose=0)
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        check_finite(logs, epoch + 1, where)
        if update(state, logs, has_val, patience, min_delta) and restore_best:
            best_weights = model.get_weights()
        log_epoch(live, logs, standardize_metric_name)
        shown = ", ".join(f"{k} {v:.5g}" for k, v in logs.items())
        print(f"epoch {epoch + 1}/{epochs}: {shown} ({time.perf_counter() - started:.1f} s)")
        if state["stopped"]:
            print(
                f"early stopping: {patience} epochs without improvement "
                f"(best: epoch {state['best_epoch']})"
            )
        if on_epoch:
            on_epoch(model, epoch)
        finished = state["stopped"] or state["epoch"] >= epochs
        if not finished and time.monotonic() - saved_at >= every:
            checkpoint.save(model, state, best_weights)
            saved_at = time.monotonic()
    if restore_best and best_weights is not None:
        model.set_weights(best_weights)
    summary = {"epochs_run": state["epoch"]}
    if has_val:
        summary.update(best_epoch=state["best_epoch"], best_val_loss=state["best"])
    return model, summary


def validation_data(feeds, cache: bool = True):
    """The validation pairs as a tf.data pipeline built once for the whole run.

    model.fit given arrays builds (and traces) a new input pipeline on every call, and
    fit is called once per epoch (every epoch is reseeded); a ready dataset is only
    iterated. Same batches as model.fit would make (its batch size, in order, float32),
    so the validation loss is the same to the bit. Under a tf.distribute strategy the
    arrays are passed as before (the strategy shards what it is given).
    """
    val = feeds.validation
    if not cache or not isinstance(val, tuple):
        return val
    import tensorflow as tf

    arrays = tuple(np.asarray(a, dtype=np.float32) if a.dtype.kind == "f" else a for a in val)
    return tf.data.Dataset.from_tensor_slices(arrays).batch(feeds.batch_size)


def build_compiled(arch: dict, feeds, cfg: dict, where: str, strategy=None):
    """The variant's model, built and compiled; inside the strategy's scope when there is one
    (its variables are mirrored on every replica), and without any scope for strategy none."""
    from stages.core.models.zoo import build_model, compile_model

    if strategy is None:
        batch = feeds.batch_size if arch.get("stateful") else None
        model = build_model(arch, feeds.input_shape, batch, f"{where}.model")
        compile_model(model, cfg, f"{where}.train")
        return model
    from stages.core.models.distribute import multi_worker_fixes

    with strategy.scope():
        model = build_model(arch, feeds.input_shape, None, f"{where}.model")
        compile_model(model, cfg, f"{where}.train")
    return multi_worker_fixes(model, strategy)


def nan_stop():
    """Keras' TerminateOnNaN: a diverged epoch ends at its first NaN batch, not its last."""
    import keras

    return keras.callbacks.TerminateOnNaN()


def check_finite(logs: dict, epoch: int, where: str) -> None:
    """One clear error when training diverged (a NaN or infinite loss): nothing is saved,
    and the message names the knobs that usually fix it."""
    bad = [k for k in ("loss", "val_loss") if k in logs and not np.isfinite(logs[k])]
    if bad:
        raise StageError(
            f"params.yaml: {where}: training diverged in epoch {epoch} ({bad[0]} is "
            f"{logs[bad[0]]}). Lower learning_rate, set clipnorm, or use a bounded "
            "activation (tanh) in recurrent layers whose state is carried (stateful)."
        )


def update(state: dict, logs: dict, has_val: bool, patience: int | None, min_delta: float) -> bool:
    """Advance the early-stopping state by one epoch; True when the epoch is the best so far.

    As Keras does it: the best epoch (kept and restored) has the lowest validation loss
    (training loss without validation), strictly lower than every earlier one
    (ModelCheckpoint); early stopping counts epochs that do not beat its own reference by
    more than min_delta, the reference moving only on such an improvement (EarlyStopping).
    """
    value = logs["val_loss" if has_val else "loss"]
    state["epoch"] += 1
    state["logs"] = [*state["logs"], logs]
    reference = state.get("stop_ref")
    if reference is None or value < reference - min_delta:
        state["stop_ref"], state["wait"] = value, 0
    else:
        state["wait"] += 1
    improved = state["best"] is None or value < state["best"]
    if improved:
        state["best"], state["best_epoch"] = value, state["epoch"]
    if patience and state["wait"] >= patience:
        state["stopped"] = True
    return improved


def log_epoch(live, logs: dict, name: Callable[[str, str], str]) -> None:
    """One epoch into DVCLive, named as dvclive.keras names them (train/loss, eval/loss)."""
    for key, value in logs.items():
        live.log_metric(name(key, "dvclive.keras"), value)
    live.next_step()


def train_variant(
    name: str,
    variant: dict,
    where: str,
    feeds,
    seed: int,
    data_dir: Path,
    arch: dict | None = None,
    on_epoch: Callable[[Any, int], None] | None = None,
    extras: Callable[[Any], dict] | None = None,
    models: Path = MODELS_DIR,
    live_root: Path = LIVE_DIR,
    checkpoints: Path = CHECKPOINTS_DIR,
    logs: Path = LOGS_DIR,
) -> dict[str, Any]:
    """Build, fit, predict and save one variant: what every train stage does.

    `arch` defaults to the variant's `model:` block (text stages fill in data sizes);
    `extras(model)` returns further JSON-ready outputs to store beside the model (e.g.
    generated text samples). The resume point is removed once the outputs are written.
    """
    from dvclive import Live

    from stages.core.models.distribute import check, is_multi_worker, make_strategy, output_dirs

    task = require(variant, "task", where)
    cfg = require(variant, "train", where)
    check_epochs(cfg, f"{where}.train")
    arch = arch or require(variant, "model", where)
    check(cfg, arch, f"{where}.train")
    strategy = make_strategy(cfg, f"{where}.train")  # None for none; multi_worker: first
    (models, live_root, checkpoints, logs), scratch = output_dirs(
        strategy, (models, live_root, checkpoints, logs)
    )
    set_determinism(seed)
    model = build_compiled(arch, feeds, cfg, where, strategy)
    checkpoint = Checkpoint(
        checkpoints / task / name / f"s{seed}", fingerprint(variant, seed, data_dir)
    )
    if scratch is not None or (strategy is not None and is_multi_worker(strategy)):
        checkpoint.clear()  # workers must all start at epoch 0: no resume across workers
    started = time.perf_counter()
    with Live(str(live_dir(task, name, seed, live_root)), dvcyaml=None, save_dvc_exp=False) as live:
        model, summary = fit(
            model, feeds, cfg, f"{where}.train", seed, live, checkpoint, on_epoch, strategy
        )
        live.summary.update(summary)
    seconds = time.perf_counter() - started
    out = model_dir(task, name, seed, models)
    if extras:
        for filename, data in extras(model).items():
            write_json(out / filename, data)
    record = {"name": name, "seed": seed, **variant, "batch_size": feeds.batch_size}
    save_outputs(model, out, feeds.predict(model), record)
    # wall time goes to a git- and DVC-ignored log, never into an output: equal inputs
    # must give byte-equal outputs, and seconds never repeat
    write_json(times_log(task, name, seed, logs), {"train_seconds": round(seconds, 1)})
    checkpoint.clear()
    if scratch:  # a multi-worker non-chief: its copy of the outputs is not kept
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"train {name} seed {seed}: {seconds:.1f} s, {model.count_params():,} parameters")
    return {"seconds": seconds}


def save_outputs(model, out: Path, preds: dict[str, np.ndarray], record: dict) -> None:
    """The model (Keras format), its weights as plain arrays (for the numpy reference
    check), its predictions and what was trained (variant.json), each atomically."""
    save_keras(model, out / "model.keras")
    save_npz(out / "weights.npz", **{f"w{i:03d}": w for i, w in enumerate(model.get_weights())})
    save_npz(out / "predictions.npz", **preds)
    write_json(out / "variant.json", record)


def check_epochs(cfg: dict, where: str) -> None:
    """A clear error for a non-positive epoch count, before any work is done."""
    if int(require(cfg, "epochs", where)) < 1:
        raise StageError(f"params.yaml: {where}.epochs must be at least 1.")
