"""Stage `train_text@<variant>`: fit one text variant (IMDB sentiment or War and Peace chars).

Writes models/<task>/<variant>/: model.keras, predictions.npz and variant.json, plus
samples.txt for character models. Per-epoch curves go to metrics/train/<task>/<variant>/
through DVCLive, as for the forecasting variants.

Training survives being killed. After every epoch checkpoints/<task>/<variant>/ gets the
whole model (optimizer state included), the best weights so far and state.json (epoch,
early-stopping counters, per-epoch logs). dvc.yaml declares that folder `persist: true`,
so the next `dvc repro` finds it and continues from the last finished epoch instead of
starting over; a checkpoint written for other params or data is ignored and replaced.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from stages.common import (
    StageError,
    atomic_path,
    load_npz,
    load_params,
    require,
    run_stage,
    save_npz,
    section,
    write_json,
)
from stages.datasets import imdb, warpeace
from stages.prepare_text import PREPARED_DIR, SPLIT_CODES
from stages.train import LIVE_DIR, MODELS_DIR, live_dir, model_dir, set_determinism

CHECKPOINTS_DIR = Path("checkpoints")


def load_task(task: str, prepared: Path = PREPARED_DIR) -> tuple[dict, dict]:
    meta_path = prepared / task / "meta.json"
    if not meta_path.exists():
        raise StageError(f"{meta_path}: not found. Run `dvc repro prepare_text@{task}` first.")
    return load_npz(prepared / task / "ids.npz"), json.loads(meta_path.read_text("utf-8"))


def vocab_size(meta: dict, variant: dict) -> int:
    """Embedding rows: the variant's word vocabulary, or the book's alphabet."""
    if meta["kind"] == "sentiment":
        return int(require(variant.get("inputs", {}), "vocab_size", "inputs"))
    return len(meta["alphabet"])


def sentiment_arrays(ids: dict, variant: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Padded id matrices and labels per split, with the variant's encoding knobs."""
    knobs = variant.get("inputs", {})
    out = {}
    for split, code in SPLIT_CODES.items():
        rows = np.flatnonzero(ids["split"] == code)
        x = imdb.sequences(
            ids["flat"],
            ids["offsets"],
            rows,
            vocab_size=int(require(knobs, "vocab_size", "inputs")),
            maxlen=int(require(knobs, "maxlen", "inputs")),
            skip_top=int(knobs.get("skip_top", 0)),
            reverse=bool(knobs.get("reverse", False)),
            padding=knobs.get("padding", "pre"),
            truncating=knobs.get("truncating", "pre"),
        )
        out[split] = (x, ids["label"][rows].astype(np.float32))
    return out


def charlm_arrays(ids: dict, variant: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Seed 004's non-overlapping sequences of the training text and of the held-out tail."""
    length = int(require(variant.get("inputs", {}), "seq_length", "inputs"))
    return {split: warpeace.chunks(ids[split], length) for split in ("train", "val")}


def complete_arch(arch: dict, vocab: int, meta: dict) -> dict:
    """Fill the sizes that come from the data: embedding rows and the softmax width."""
    arch = json.loads(json.dumps(arch))
    for spec in arch.get("layers", []):
        if spec.get("type") == "embedding" and not spec.get("input_dim"):
            spec["input_dim"] = vocab
    if meta["kind"] == "charlm" and not arch.setdefault("head", {}).get("units"):
        arch["head"]["units"] = vocab
    return arch


def fingerprint(variant: dict, meta: dict, seed: int) -> str:
    """What a checkpoint was trained on: resuming anything else would mix two runs."""
    blob = json.dumps({"variant": variant, "meta": meta, "seed": seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def read_state(ckpt: Path, stamp: str) -> dict | None:
    """The checkpoint's state when it belongs to this run, else None (and it is removed)."""
    state_path = ckpt / "state.json"
    if state_path.exists():
        state = json.loads(state_path.read_text("utf-8"))
        if state.get("fingerprint") == stamp and (ckpt / "last.keras").exists():
            return state
        print(f"{ckpt}: checkpoint from other params or data, starting over")
    shutil.rmtree(ckpt, ignore_errors=True)
    return None


def save_keras(model, path: Path, weights_only: bool = False) -> None:
    """Save atomically; Keras picks the format from the suffix, so the temp keeps it."""
    suffix = ".weights.h5" if weights_only else ".keras"
    with atomic_path(path) as tmp:
        staged = tmp.with_suffix(suffix)
        model.save_weights(staged) if weights_only else model.save(staged)
        staged.replace(tmp)


def make_checkpoint_callback(ckpt: Path, stamp: str, state: dict | None, cfg: dict, sampler):
    """ModelCheckpoint + EarlyStopping in one resumable callback (their state is on disk)."""
    import keras

    patience = int((cfg.get("early_stopping") or {}).get("patience", 0)) or None
    every = int(cfg.get("sample_every", 0))

    class Checkpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.state = state or {
                "fingerprint": stamp,
                "epoch": 0,
                "best": None,
                "best_epoch": 0,
                "wait": 0,
                "stopped": False,
                "logs": [],
            }

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            st = self.state
            st["epoch"], st["logs"] = epoch + 1, [*st["logs"], logs]
            value = logs.get("val_loss", logs.get("loss"))
            if st["best"] is None or value < st["best"]:
                st["best"], st["best_epoch"], st["wait"] = value, epoch + 1, 0
                save_keras(self.model, ckpt / "best.weights.h5", weights_only=True)
            else:
                st["wait"] += 1
            if patience and st["wait"] >= patience:
                st["stopped"] = True
                self.model.stop_training = True
            if every and sampler and (epoch + 1) % every == 0:
                text = sampler(self.model, 0.5, 200)
                print(f"epoch {epoch + 1} sample (temperature 0.5): {text!r}")
                with open(ckpt / "samples.txt", "a", encoding="utf-8") as fh:
                    fh.write(f"--- epoch {epoch + 1}, temperature 0.5\n{text}\n")
            save_keras(self.model, ckpt / "last.keras")  # model first, then the state
            write_json(ckpt / "state.json", st)

    return Checkpoint()


def fit_resumable(model, arrays: dict, variant: dict, stamp: str, ckpt: Path, live, sampler):
    """Train (or continue) to the configured epochs; returns the model with its best weights."""
    import keras
    from dvclive.keras import DVCLiveCallback

    cfg = variant["train"]
    state = read_state(ckpt, stamp)
    ckpt.mkdir(parents=True, exist_ok=True)
    checkpoint = make_checkpoint_callback(ckpt, stamp, state, cfg, sampler)
    live_cb = DVCLiveCallback(live=live)
    if state:
        model = keras.models.load_model(ckpt / "last.keras")
        print(f"resuming from {ckpt} after epoch {state['epoch']} (best {state['best_epoch']})")
        for epoch, logs in enumerate(state["logs"]):  # replay the curves already trained
            live_cb.on_epoch_end(epoch, logs)
    epochs = int(require(cfg, "epochs", "train"))
    done = state["epoch"] if state else 0
    if done < epochs and not (state and state["stopped"]):
        x, y = arrays["train"]
        model.fit(
            x,
            y,
            batch_size=int(cfg.get("batch_size", 32)),
            epochs=epochs,
            initial_epoch=done,
            steps_per_epoch=cfg.get("steps_per_epoch"),
            validation_data=arrays["val"],
            callbacks=[checkpoint, live_cb],
            verbose=2,
        )
    if cfg.get("restore_best", True):
        model.load_weights(ckpt / "best.weights.h5")
    st = checkpoint.state
    live.summary.update(
        {"epochs_run": st["epoch"], "best_epoch": st["best_epoch"], "best_val_loss": st["best"]}
    )
    live.make_summary()
    return model


def char_sampler(alphabet: list[str], seq_length: int, seed_text: str, seed: int):
    """Text from a fixed seed string; temperature 0 is the seed's greedy argmax."""
    index = {ch: i for i, ch in enumerate(alphabet)}
    unknown = [ch for ch in seed_text if ch not in index]
    if unknown:
        raise StageError(
            f"params.yaml: sample.seed_text has characters outside the book: {unknown}. "
            "Use characters of the training text."
        )

    graphs: dict = {}  # (model, context length) -> traced call; weights are read live

    def predict_next(model, context: list[int]) -> np.ndarray:
        """P(next char | context). One graph per context length: eager calls are ~30x
        slower, and one graph for all lengths (a (1, None) signature) gave wrong
        probabilities with TF 2.21 / Keras 3.15 (off by up to 0.96 from model.predict)."""
        import tensorflow as tf

        key = (id(model), len(context))
        if key not in graphs:
            spec = [tf.TensorSpec([1, len(context)], tf.int32)]
            call = tf.autograph.experimental.do_not_convert(lambda x: model(x, training=False))
            graphs[key] = tf.function(call, input_signature=spec)
        out = graphs[key](np.array([context], dtype=np.int32))
        return out.numpy()[0, -1].astype(np.float64)

    def sample(model, temperature: float, length: int) -> str:
        rng = np.random.default_rng(seed)
        ids = [index[ch] for ch in seed_text]
        for _ in range(length):
            probs = predict_next(model, ids[-seq_length:])
            if temperature <= 0:
                nxt = int(np.argmax(probs))
            else:
                logits = np.log(np.maximum(probs, 1e-12)) / temperature
                p = np.exp(logits - logits.max())
                nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
        return "".join(alphabet[i] for i in ids)

    return sample


def charlm_predictions(model, x: np.ndarray, y: np.ndarray, batch: int) -> dict[str, np.ndarray]:
    """log2 P(true next char) and whether the argmax was right, per validation position."""
    log2p, correct = [], []
    for start in range(0, len(x), batch):
        probs = model.predict(x[start : start + batch], verbose=0)
        truth = y[start : start + batch]
        p = np.take_along_axis(probs, truth[..., None], axis=-1)[..., 0]
        log2p.append(np.log2(np.maximum(p, 1e-12)).ravel())
        correct.append((probs.argmax(-1) == truth).ravel())
    return {"log2p": np.concatenate(log2p).astype(np.float32), "correct": np.concatenate(correct)}


def write_samples(path: Path, sampler, sample_cfg: dict, name: str) -> None:
    """Generated text at each temperature, as markdown (the README links it)."""
    length = int(sample_cfg.get("length", 500))
    parts = [f"## {name}\n"]
    for temperature in sample_cfg.get("temperatures", [0, 0.2, 0.5, 1.0]):
        label = "greedy (argmax)" if float(temperature) <= 0 else f"temperature {temperature}"
        parts.append(f"### {label}\n\n```text\n{sampler(float(temperature), length)}\n```\n")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")


def train_text_variant(
    name: str,
    variant: dict[str, Any],
    seed: int,
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    live_root: Path = LIVE_DIR,
    checkpoints: Path = CHECKPOINTS_DIR,
) -> dict[str, Any]:
    """Train one text variant end to end and write all of its outputs."""
    from dvclive import Live

    from stages.zoo import build_model, compile_model

    task = require(variant, "task", f"text_variants.{name}")
    ids, meta = load_task(task, prepared)
    vocab = vocab_size(meta, variant)
    charlm = meta["kind"] == "charlm"
    arrays = charlm_arrays(ids, variant) if charlm else sentiment_arrays(ids, variant)
    arch = complete_arch(require(variant, "model", f"text_variants.{name}"), vocab, meta)
    set_determinism(seed)
    model = build_model(arch, (None,), where=f"text_variants.{name}.model")
    compile_model(model, require(variant, "train", name), f"text_variants.{name}.train")
    sampler, sample_cfg = None, variant.get("sample", {})
    if charlm:
        seq_length = int(variant["inputs"]["seq_length"])
        seed_text = sample_cfg.get("seed_text", "the ")
        sampler = char_sampler(meta["alphabet"], seq_length, seed_text, seed)
    out = model_dir(task, name, models)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Live(str(live_dir(task, name, live_root)), dvcyaml=None, save_dvc_exp=False) as live:
        ckpt, stamp = checkpoints / task / name, fingerprint(variant, meta, seed)
        model = fit_resumable(model, arrays, variant, stamp, ckpt, live, sampler)
    seconds = time.perf_counter() - started
    batch = int(variant["train"].get("eval_batch_size", 256))
    if charlm:
        preds = charlm_predictions(model, *arrays["val"], batch)
        write_samples(out / "samples.md", lambda t, n: sampler(model, t, n), sample_cfg, name)
    else:
        preds = {
            split: model.predict(arrays[split][0], batch_size=batch, verbose=0)[:, 0]
            for split in ("val", "test")
        }
    save_keras(model, out / "model.keras")
    save_npz(out / "predictions.npz", **preds)
    write_json(out / "variant.json", {"name": name, **variant, "train_seconds": round(seconds, 1)})
    print(f"train_text {name}: {seconds:.1f} s, {model.count_params():,} parameters")
    return {"seconds": seconds}


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise StageError("usage: python -m stages.train_text <text variant>")
    params = load_params()
    variant = section(params, "text_variants", argv[0])
    train_text_variant(argv[0], variant, int(params.get("seed", 0)))


if __name__ == "__main__":
    run_stage(main)
