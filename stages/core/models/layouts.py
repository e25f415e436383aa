"""Data layouts behind one interface: what a fit reads, and what a trained model predicts.

A stage picks its layout once (`forecast_feeds` by `tasks.<task>.window.layout`, or
`sentiment_feeds` / `charlm_feeds` for text) and hands the result to stages/core/models/fit.py.
Every layout offers the same few members:

    input_shape, batch_size, stateful   what the model is built for
    epoch(k)                            model.fit's data arguments for epoch k
    validation                          held-out data for early stopping, or None
    predict(model)                      {split: array} saved as predictions.npz

| layout    | tasks              | windows                                                  |
| --------- | ------------------ | -------------------------------------------------------- |
| sliding   | sunspots, airline, dji | materialised (samples, lookback, features) arrays     |
| stateful  | sincos             | seed 003's batches; states carried, reset every epoch    |
| indexed   | jena               | window-end rows only; each batch gathered on the fly     |
| sentiment | imdb               | padded word ids per review (pad_ids)                     |
| charlm    | warpeace           | non-overlapping character sequences (chunks)             |
| streams   | warpeace, stateful | batch_size contiguous streams, state carried (TBPTT)     |

Adding a layout: write a class with those members (ArrayFeeds covers anything that fits
in memory as arrays) and a builder, and register the builder in FORECAST_LAYOUTS (or call
it from the text stage); prepare writes the arrays the builder reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stages.core.data import windows
from stages.core.data.transforms import Transform
from stages.core.io import (
    PREPARED_DIR,
    SPLIT_CODES,
    SPLITS,
    StageError,
    load_npz,
    require,
)
from stages.core.models.arch import model_inputs, reset_states

DEFAULT_BATCH, DEFAULT_EVAL_BATCH = 32, 256


class ArrayFeeds:
    """Arrays in memory: training pairs, optional validation pairs, inputs to predict."""

    stateful = False

    def __init__(
        self,
        train: tuple[np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray] | None,
        predict_x: dict[str, np.ndarray],
        cfg: dict,
        batch_size: int | None = None,
    ):
        self.train, self.validation, self.predict_x = train, validation, predict_x
        self.input_shape = train[0].shape[1:]
        self.batch_size = int(batch_size or cfg.get("batch_size", DEFAULT_BATCH))
        self.eval_batch_size = int(cfg.get("eval_batch_size", DEFAULT_EVAL_BATCH))
        self.shuffle = bool(cfg.get("shuffle", True))
        self.steps = cfg.get("steps_per_epoch")

    def epoch(self, epoch: int) -> dict:
        x, y = self.train
        return {
            "x": x,
            "y": y,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "steps_per_epoch": self.steps,
        }

    def predict(self, model) -> dict[str, np.ndarray]:
        return {
            split: model.predict(x, batch_size=self.eval_batch_size, verbose=0)
            if len(x)
            else np.zeros((0, 1), dtype=np.float32)
            for split, x in self.predict_x.items()
        }


class StatefulFeeds(ArrayFeeds):
    """Seed 003: fixed batches in order, no validation, states reset before every epoch and
    before each held-out split (each split's streams start from zero state)."""

    stateful = True

    def __init__(self, train, predict_x, cfg: dict, batch_size: int):
        super().__init__(train, None, predict_x, {**cfg, "shuffle": False}, batch_size)

    def predict(self, model) -> dict[str, np.ndarray]:
        out = {}
        for split, x in self.predict_x.items():
            reset_states(model)
            out[split] = model.predict(x, batch_size=self.batch_size, verbose=0)
        return out


class CharFeeds(ArrayFeeds):
    """Character sequences (seed 004's independent windows) for training and for early
    stopping; predictions are log2 P(true next char) and argmax hits per held-out split
    (`val_log2p`, `test_correct`, ...), scored as continuous streams (`score_streams`).

    Why streams: a window read from a zero state predicts its first characters with
    almost no context, which penalises the network against the n-gram (that always sees
    its order's worth of history). Reading each held-out split as `eval_streams` (default
    train.batch_size) contiguous streams with the state carried, by a stateful twin with
    the same weights, scores every character from all the text before it in its stream.
    """

    def __init__(self, train, validation, held_out: dict, arch: dict, streams: int, cfg: dict):
        super().__init__(train, validation, {}, cfg)
        self.held_out, self.arch, self.streams = held_out, arch, streams

    def predict(self, model) -> dict[str, np.ndarray]:
        twin = model
        if not self.arch.get("stateful"):
            from stages.core.models.zoo import build_model  # here: only character models need Keras

            twin = build_model({**self.arch, "stateful": True}, self.input_shape, self.streams)
            twin.set_weights(model.get_weights())
        return score_streams(twin, self.held_out, self.streams)


def score_streams(model, held_out: dict, streams: int) -> dict[str, np.ndarray]:
    """log2 P(next char) and argmax hits for windows.streams rows, back in text order;
    the state is reset before each split, then carried from batch to batch."""
    out = {}
    for split, (x, y) in held_out.items():
        reset_states(model)
        probs = model.predict(x, batch_size=streams, verbose=0)
        p = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
        log2p = np.log2(np.maximum(p, 1e-12))
        out[f"{split}_log2p"] = windows.stream_order(log2p, streams).astype(np.float32)
        out[f"{split}_correct"] = windows.stream_order(probs.argmax(-1) == y, streams)
    return out


class StreamFeeds(CharFeeds):
    """Truncated backpropagation through the book (`model.stateful: true`): the training
    text as batch_size contiguous streams (windows.streams) whose states carry from one
    batch to the next, reset before every epoch; no shuffling. Validation during fit reads
    the validation text as streams too, from a zero state (a callback resets it).
    """

    stateful = True

    def __init__(self, ids: dict, length: int, arch: dict, cfg: dict):
        size = int(cfg.get("batch_size") or DEFAULT_BATCH)
        parts = {split: windows.streams(ids[split], size, length) for split in SPLITS}
        held_out = {s: parts[s] for s in ("val", "test")}
        super().__init__(parts["train"], parts["val"], held_out, arch, size, cfg)
        self.shuffle, self.batch_size = False, size

    def epoch(self, epoch: int) -> dict:
        import keras

        class ResetBeforeValidation(keras.callbacks.Callback):
            def on_test_begin(self, logs=None):
                reset_states(self.model)

        return {**super().epoch(epoch), "callbacks": [ResetBeforeValidation()]}


class IndexedFeeds:
    """Batches gathered on the fly from window-end rows (seed 002's generator, vectorised).

    Training draws `steps_per_epoch` batches of random training rows per epoch (with
    replacement, like the seed's np.random.randint) from a generator seeded by (seed,
    epoch, batch); validation and prediction walk their split's rows in order. Memory
    stays at one batch.
    """

    stateful = False

    def __init__(self, scaled: np.ndarray, data: dict, window: dict, target: int, variant, seed):
        cfg = variant["train"]
        self.scaled, self.data, self.variant, self.seed = scaled, data, variant, seed
        self.lookback, self.step, self.delay = (
            int(window[k]) for k in ("lookback", "step", "delay")
        )
        self.target = target
        self.batch_size = int(cfg.get("batch_size", window.get("batch_size", 128)))
        self.steps = int(cfg.get("steps_per_epoch", 500))
        # inference batches can be larger: same windows, fewer calls (about 30 % faster on CPU)
        self.eval_batch_size = int(cfg.get("eval_batch_size", self.batch_size))
        self.input_shape = data["test"]["x"].shape[1:]
        self.validation = self.dataset(data["val"]["eval_rows"], shuffle=False)

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = windows.gather_windows(self.scaled, rows, self.lookback, self.step)
        return model_inputs(x, self.variant), self.scaled[rows + self.delay, self.target]

    def dataset(self, rows: np.ndarray, shuffle: bool, epoch: int = 0):
        """A keras PyDataset over `rows`: random batches when shuffling, else in order."""
        import keras

        feeds, size = self, self.batch_size if shuffle else self.eval_batch_size

        class Windows(keras.utils.PyDataset):
            def __init__(self):
                super().__init__(workers=1, use_multiprocessing=False)

            def __len__(self) -> int:
                return feeds.steps if shuffle else -(-len(rows) // size)

            def __getitem__(self, i: int):
                if shuffle:
                    rng = np.random.default_rng([feeds.seed, epoch, i])
                    return feeds.batch(rows[rng.integers(len(rows), size=size)])
                return feeds.batch(rows[i * size : (i + 1) * size])

        return Windows()

    def epoch(self, epoch: int) -> dict:
        return {"x": self.dataset(self.data["train"]["rows"], shuffle=True, epoch=epoch)}

    def predict(self, model) -> dict[str, np.ndarray]:
        return {
            split: model.predict(
                self.dataset(self.data[split]["eval_rows"], shuffle=False), verbose=0
            )
            for split in SPLITS
        }


def load_splits(task: str, prepared: Path = PREPARED_DIR) -> tuple[dict, dict]:
    """The prepared splits of a forecasting task and its meta.json (fitted facts)."""
    meta_path = prepared / task / "meta.json"
    if not meta_path.exists():
        raise StageError(f"{meta_path}: not found. Run `dvc repro prepare@{task}` first.")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return {split: load_npz(prepared / task / f"{split}.npz") for split in SPLITS}, meta


def restrided(task: str, meta: dict, window: dict, stride: int, prepared: Path) -> tuple:
    """The training split re-windowed with another stride (e.g. overlapping windows):
    (x, y, target positions).

    Only the training windows change: validation and test keep the task's windows, so
    every variant of a task is scored on exactly the same targets.
    """
    if window.get("layout", "sliding") != "sliding":
        raise StageError(f"params.yaml: train_stride needs a sliding window layout (task {task}).")
    transform = Transform.from_dict(meta["transform"])
    pos = windows.sliding_positions(0, meta["bounds"][0], window, transform.difference, stride)
    series = load_npz(prepared / task / "series.npz")
    if meta.get("span_gaps") is False:  # prepare left out windows that cross a gap: so here
        cross = windows.spanning_gap(pos, series["gap_before"], window, transform.difference)
        pos = pos[~cross]
    return (*windows.window_arrays(series, pos, window, transform), pos)


def multi_step(
    x: np.ndarray, pos: np.ndarray, stop: int, outputs: int, series: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direct multi-step pairs: the windows whose `outputs` targets p..p+H-1 all lie before
    `stop` (their split's end) and cross no gap, with those H model-space targets as y."""
    ahead = np.arange(outputs)
    keep = pos + outputs - 1 < stop
    if "gap_before" in series:
        marks = np.cumsum(series["gap_before"])
        keep &= marks[np.minimum(pos + outputs - 1, len(marks) - 1)] == marks[pos]
    pos = pos[keep]
    y = series["scaled_target"][pos[:, None] + ahead].astype(np.float32)
    return x[keep], y, pos


def sliding_feeds(task, window, variant, seed, data, meta, prepared, outputs=1) -> ArrayFeeds:
    """Materialised windows; with `outputs` H > 1, each training and validation window
    targets the next H values (a direct multi-step network) and keeps its positions
    (`positions`) for a hybrid's base."""
    cfg = variant["train"]
    x, y, pos = data["train"]["x"], data["train"]["y"], data["train"]["positions"]
    if cfg.get("train_stride"):
        x, y, pos = restrided(task, meta, window, int(cfg["train_stride"]), prepared)
    val = data["val"]
    xv, yv, pos_v = val["x"], val["y"], val["positions"]
    if outputs > 1:
        series = load_npz(prepared / task / "series.npz")
        x, y, pos = multi_step(x, pos, int(meta["bounds"][0]), outputs, series)
        xv, yv, pos_v = multi_step(xv, pos_v, int(meta["bounds"][1]), outputs, series)
    validation = (model_inputs(xv, variant), yv) if len(yv) else None
    predict_x = {split: model_inputs(data[split]["x"], variant) for split in SPLITS}
    feeds = ArrayFeeds((model_inputs(x, variant), y), validation, predict_x, cfg)
    feeds.positions = {"train": pos, "val": pos_v}
    return feeds


def stateful_feeds(task, window, variant, seed, data, meta, prepared) -> StatefulFeeds:
    train = (model_inputs(data["train"]["x"], variant), data["train"]["y"])
    predict_x = {split: model_inputs(data[split]["x"], variant) for split in SPLITS}
    return StatefulFeeds(train, predict_x, variant["train"], int(window["batch_size"]))


def indexed_feeds(task, window, variant, seed, data, meta, prepared) -> IndexedFeeds:
    scaled = load_npz(prepared / task / "series.npz")["scaled"]
    target = int(meta["transform"]["target_column"])
    return IndexedFeeds(scaled, data, window, target, variant, seed)


FORECAST_LAYOUTS = {"sliding": sliding_feeds, "stateful": stateful_feeds, "indexed": indexed_feeds}


def forecast_feeds(
    task: str, window: dict, variant: dict, seed: int, prepared=PREPARED_DIR, outputs: int = 1
):
    """The feeds of a forecasting variant, by the task's window layout; `outputs` > 1: a
    direct H-step network (sliding layout only)."""
    layout = window.get("layout", "sliding")
    if layout not in FORECAST_LAYOUTS:
        raise StageError(
            f"params.yaml: tasks.{task}.window.layout {layout!r} is unknown "
            f"(known: {', '.join(FORECAST_LAYOUTS)})."
        )
    data, meta = load_splits(task, prepared)
    if outputs > 1:
        if layout != "sliding":
            raise StageError(f"params.yaml: tasks.{task}.horizon needs the sliding layout.")
        return sliding_feeds(task, window, variant, seed, data, meta, prepared, outputs)
    return FORECAST_LAYOUTS[layout](task, window, variant, seed, data, meta, prepared)


def sentiment_feeds(ids: dict, variant: dict, where: str) -> ArrayFeeds:
    """Padded id matrices and labels per split, with the variant's encoding knobs."""
    knobs = variant.get("inputs", {})
    arrays = {}
    for split, code in SPLIT_CODES.items():
        rows = np.flatnonzero(ids["split"] == code)
        x = windows.pad_ids(
            ids["flat"],
            ids["offsets"],
            rows,
            vocab_size=int(require(knobs, "vocab_size", f"{where}.inputs")),
            maxlen=int(require(knobs, "maxlen", f"{where}.inputs")),
            skip_top=int(knobs.get("skip_top", 0)),
            reverse=bool(knobs.get("reverse", False)),
            padding=knobs.get("padding", "pre"),
            truncating=knobs.get("truncating", "pre"),
        )
        arrays[split] = (x, ids["label"][rows].astype(np.float32))
    predict_x = {split: arrays[split][0] for split in ("val", "test")}
    return ArrayFeeds(arrays["train"], arrays["val"], predict_x, variant["train"])


def charlm_feeds(ids: dict, variant: dict, where: str, arch: dict | None = None) -> CharFeeds:
    """Seed 004's non-overlapping sequences of the training and validation text; with
    `model.stateful: true`, contiguous streams through each split (StreamFeeds). Held-out
    text is scored as `train.eval_streams` streams (default batch_size) either way.
    `arch` is the model block with its data sizes filled in (train_text.complete_arch)."""
    length = int(require(variant.get("inputs", {}), "seq_length", f"{where}.inputs"))
    arch = arch if arch is not None else variant.get("model", {})
    cfg = variant["train"]
    if arch.get("stateful"):
        return StreamFeeds(ids, length, arch, cfg)
    streams = int(cfg.get("eval_streams") or cfg.get("batch_size") or DEFAULT_BATCH)
    train, val = (windows.chunks(ids[split], length) for split in ("train", "val"))
    held_out = {s: windows.streams(ids[s], streams, length) for s in ("val", "test")}
    return CharFeeds(train, val, held_out, arch, streams, cfg)
