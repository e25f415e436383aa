"""Stage `train@<variant>`: fit one model variant and save it with its predictions.

Writes models/<task>/<variant>/: model.keras (Keras format), weights.npz (the same
weights as plain arrays, for the numpy reference check), predictions.npz (model-space
predictions for every split) and variant.json (what was trained). Per-epoch losses go
to metrics/train/<task>/<variant>/ through DVCLive, so `dvc plots show` draws them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from stages import windows
from stages.common import (
    SKIPPED,
    StageError,
    atomic_path,
    load_npz,
    load_params,
    mark_unavailable,
    require,
    run_stage,
    save_npz,
    section,
    unavailable,
    write_json,
)
from stages.prepare import PREPARED_DIR, SPLITS, window_arrays
from stages.transforms import Transform

MODELS_DIR = Path("models")
LIVE_DIR = Path("metrics/train")


def model_dir(task: str, name: str, root: Path = MODELS_DIR) -> Path:
    return root / task / name


def live_dir(task: str, name: str, root: Path = LIVE_DIR) -> Path:
    return root / task / name


def load_split_data(task: str, prepared: Path = PREPARED_DIR) -> tuple[dict, dict]:
    """The prepared splits of a task and its meta.json."""
    meta_path = prepared / task / "meta.json"
    if not meta_path.exists():
        raise StageError(f"{meta_path}: not found. Run `dvc repro prepare@{task}` first.")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return {split: load_npz(prepared / task / f"{split}.npz") for split in SPLITS}, meta


def training_windows(task: str, meta: dict, stride: int, prepared: Path = PREPARED_DIR):
    """Re-window the training split with another stride (e.g. overlapping windows).

    Only the training windows change: validation and test keep the task's windows, so
    every variant of a task is scored on exactly the same targets.
    """
    window = meta["window"]
    if window.get("layout", "sliding") != "sliding":
        raise StageError(f"params.yaml: train_stride needs a sliding window layout (task {task}).")
    series = load_npz(prepared / task / "series.npz")
    transform = Transform.from_dict(meta["transform"])
    pos = windows.target_positions(
        0,
        meta["bounds"][0],
        int(window["lookback"]),
        int(window.get("horizon", 1)),
        stride,
        window.get("context", "segment"),
        transform.difference,
    )
    x, y = window_arrays(series, pos, window, transform)
    return {"x": x, "y": y, "positions": pos}


def model_inputs(x: np.ndarray, variant: dict) -> np.ndarray:
    """Apply the variant's input options (reversed time order) to a batch of windows."""
    return x[:, ::-1] if variant.get("reverse") else x


def set_determinism(seed: int) -> None:
    """Same seed, same numbers: Python, NumPy and TF seeds plus deterministic TF ops."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def reset_states(model) -> None:
    """Zero the state of every stateful layer (Keras 3 does not do it between calls)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()


def callbacks(cfg: dict, live, has_val: bool, stateful: bool, best_path: Path, model) -> list:
    """DVCLive always; EarlyStopping / best checkpoint when params ask and a val split exists."""
    import keras
    from dvclive.keras import DVCLiveCallback

    out: list = [DVCLiveCallback(live=live)]
    if stateful:
        out.append(keras.callbacks.LambdaCallback(on_epoch_begin=lambda *_: reset_states(model)))
    wants_val = cfg.get("early_stopping") or cfg.get("restore_best")
    if wants_val and not has_val:
        print(
            "warning: no validation split, so early stopping / best-weights are off; "
            "training runs all epochs."
        )
        return out
    if cfg.get("early_stopping"):
        out.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=int(cfg["early_stopping"].get("patience", 10)),
                min_delta=float(cfg["early_stopping"].get("min_delta", 0.0)),
                verbose=1,
            )
        )
    if cfg.get("restore_best"):
        out.append(
            keras.callbacks.ModelCheckpoint(
                best_path,
                monitor="val_loss",
                save_best_only=True,
                save_weights_only=True,
            )
        )
    return out


def array_fit_args(data: dict, variant: dict, batch_size: int, stateful: bool) -> dict:
    """model.fit arguments for tasks whose windows are materialised arrays."""
    has_val = len(data["val"]["y"]) > 0 and not stateful
    return {
        "x": model_inputs(data["train"]["x"], variant),
        "y": data["train"]["y"],
        "validation_data": (model_inputs(data["val"]["x"], variant), data["val"]["y"])
        if has_val
        else None,
        "batch_size": batch_size,
        "shuffle": bool(variant["train"].get("shuffle", True)) and not stateful,
    }


def fit(model, fit_args: dict, variant: dict, stateful: bool, live, out: Path) -> dict:
    """Train; returns the per-epoch history. Restores the best validation weights if asked."""
    cfg = variant["train"]
    has_val = fit_args.get("validation_data") is not None
    best_path = out / "best.weights.h5"
    history = model.fit(
        **fit_args,
        epochs=int(require(cfg, "epochs", "variants.<name>.train")),
        callbacks=callbacks(cfg, live, has_val, stateful, best_path, model),
        verbose=2,
    )
    if best_path.exists():
        model.load_weights(best_path)
        best_path.unlink()
    return history.history


def summarise(live, history: dict) -> None:
    """Add epochs run and the best validation epoch to DVCLive's metrics.json."""
    live.summary["epochs_run"] = len(history["loss"])
    if history.get("val_loss"):
        best = int(np.argmin(history["val_loss"]))
        live.summary["best_epoch"] = best + 1
        live.summary["best_val_loss"] = float(history["val_loss"][best])
    live.make_summary()


def predict_splits(model, data: dict, variant: dict, batch_size: int) -> dict[str, np.ndarray]:
    """Model-space predictions per split; stateful models start each split from zero state."""
    preds = {}
    for split in SPLITS:
        x = model_inputs(data[split]["x"], variant)
        reset_states(model)
        preds[split] = (
            model.predict(x, batch_size=batch_size, verbose=0) if len(x) else np.zeros((0, 1))
        )
    return preds


def train_variant(
    name: str,
    variant: dict[str, Any],
    seed: int,
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    live_root: Path = LIVE_DIR,
) -> dict[str, Any]:
    """Train one variant end to end and write all of its outputs."""
    task = require(variant, "task", f"variants.{name}")
    out = model_dir(task, name, models)
    reason = unavailable(prepared / task)
    if reason:  # before importing TensorFlow: a skipped study should cost nothing
        skip_variant(out, live_dir(task, name, live_root), reason)
        print(f"train {name}: skipped, data for task {task} unavailable")
        return {"seconds": 0.0}
    from dvclive import Live

    from stages.zoo import build_model, compile_model

    data, meta = load_split_data(task, prepared)
    cfg = require(variant, "train", f"variants.{name}")
    arch = require(variant, "model", f"variants.{name}")
    stateful = bool(arch.get("stateful"))
    if meta["window"].get("layout") == "indexed":
        feeds = IndexedFeeds(
            load_npz(prepared / task / "series.npz")["scaled"], data, meta, variant, seed
        )
        batch_size, input_shape, fit_args = (
            feeds.batch_size,
            data["test"]["x"].shape[1:],
            feeds.fit_args(),
        )
    else:
        feeds = None
        fit_data = dict(data)  # predictions below always use the task's own windows
        if cfg.get("train_stride"):
            fit_data["train"] = training_windows(task, meta, int(cfg["train_stride"]), prepared)
        batch_size = int(meta["window"]["batch_size"] if stateful else cfg.get("batch_size", 32))
        input_shape = fit_data["train"]["x"].shape[1:]
        fit_args = array_fit_args(fit_data, variant, batch_size, stateful)
    set_determinism(seed)
    model = build_model(
        arch, input_shape, batch_size if stateful else None, f"variants.{name}.model"
    )
    compile_model(model, cfg, f"variants.{name}.train")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Live(str(live_dir(task, name, live_root)), dvcyaml=None, save_dvc_exp=False) as live:
        summarise(live, fit(model, fit_args, variant, stateful, live, out))
    seconds = time.perf_counter() - started
    preds = feeds.predict(model) if feeds else predict_splits(model, data, variant, batch_size)
    # wall time goes next to the model, not into metrics: metrics must be byte-identical
    # between two runs, and seconds never are
    save_outputs(
        model, out, preds, name, {**variant, "train_seconds": round(seconds, 1)}, batch_size
    )
    print(f"train {name}: {seconds:.1f} s, {model.count_params()} parameters")
    return {"seconds": seconds}


def skip_variant(out: Path, live: Path, reason: str) -> None:
    """Outputs of a variant whose data is unavailable: markers and empty curves, no numbers."""
    mark_unavailable(out, reason)
    write_json(live / "metrics.json", {"unavailable": SKIPPED})  # short: dvc metrics shows it
    for split in ("train", "eval"):
        with atomic_path(live / "plots" / "metrics" / split / "loss.tsv") as tmp:
            tmp.write_text("step\tloss\n", encoding="utf-8")


class IndexedFeeds:
    """Batches gathered on the fly from window-end rows (seed 002's generator, vectorised).

    Training draws `steps_per_epoch` batches of random training rows per epoch (with
    replacement, like the seed's np.random.randint) from a seeded generator; validation
    and prediction walk their split's rows in order. Memory stays at one batch.
    """

    def __init__(self, scaled: np.ndarray, data: dict, meta: dict, variant: dict, seed: int):
        window, cfg = meta["window"], variant["train"]
        self.scaled, self.data, self.variant, self.seed = scaled, data, variant, seed
        self.lookback, self.step, self.delay = (
            int(window[k]) for k in ("lookback", "step", "delay")
        )
        self.target = int(meta["transform"]["target_column"])
        self.batch_size = int(cfg.get("batch_size", window.get("batch_size", 128)))
        self.steps = int(cfg.get("steps_per_epoch", 500))
        # inference batches can be larger: same windows, fewer calls (about 30 % faster on CPU)
        self.eval_batch_size = int(window.get("eval_batch_size", self.batch_size))

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = windows.gather_windows(self.scaled, rows, self.lookback, self.step)
        return model_inputs(x, self.variant), self.scaled[rows + self.delay, self.target]

    def dataset(self, rows: np.ndarray, shuffle: bool):
        """A keras PyDataset over `rows`: random batches when shuffling, else in order."""
        import keras

        feeds, size = self, self.batch_size if shuffle else self.eval_batch_size

        class Windows(keras.utils.PyDataset):
            def __init__(self):
                super().__init__(workers=1, use_multiprocessing=False)
                self.epoch = 0

            def __len__(self) -> int:
                return feeds.steps if shuffle else -(-len(rows) // size)

            def __getitem__(self, i: int):
                if shuffle:
                    pick = np.random.default_rng([feeds.seed, self.epoch, i]).integers(
                        len(rows), size=size
                    )
                    return feeds.batch(rows[pick])
                return feeds.batch(rows[i * size : (i + 1) * size])

            def on_epoch_end(self) -> None:
                self.epoch += 1

        return Windows()

    def fit_args(self) -> dict:
        return {
            "x": self.dataset(self.data["train"]["rows"], shuffle=True),
            "validation_data": self.dataset(self.data["val"]["eval_rows"], shuffle=False),
        }

    def predict(self, model) -> dict[str, np.ndarray]:
        return {
            split: model.predict(
                self.dataset(self.data[split]["eval_rows"], shuffle=False), verbose=0
            )
            for split in SPLITS
        }


def save_outputs(model, out: Path, preds: dict, name: str, variant: dict, batch_size: int) -> None:
    """Keras model, plain weights, predictions and the variant's params, each atomically."""
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp.with_suffix(".keras"))
        tmp.with_suffix(".keras").replace(tmp)
    weights = {f"w{i:03d}": w for i, w in enumerate(model.get_weights())}
    save_npz(out / "weights.npz", **weights)
    save_npz(out / "predictions.npz", **preds)
    write_json(out / "variant.json", {"name": name, "batch_size": batch_size, **variant})


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise StageError("usage: python -m stages.train <variant>")
    params = load_params()
    variant = section(params, "variants", argv[0])
    train_variant(argv[0], variant, int(params.get("seed", 0)))


if __name__ == "__main__":
    run_stage(main)
