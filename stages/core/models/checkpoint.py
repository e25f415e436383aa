"""Resume points and byte-stable saves: what lets a killed training resume to the same bytes.

- Every epoch is reseeded from (run seed, epoch), so where a resume starts never changes
  the result (`reseed`, `epoch_seed`, `set_determinism`).
- A checkpoint folder is stamped with a fingerprint of the variant's params, the seed,
  the prepared data and the training code (`fingerprint`); another stamp starts over.
- model.keras is written byte-stable (`stable_keras`): equal weights, equal bytes.

stages/core/models/fit.py drives these; nothing here runs a training.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

from stages.core.io import ZIP_EPOCH, atomic_path, load_npz, save_npz, write_json

SEED_STATE = "seed_generator_state"
# wall-clock training times, one JSON per run; git-ignored and no DVC output
LOGS_DIR = Path("logs/train")


def times_log(task: str, name: str, seed: int, logs: Path = LOGS_DIR) -> Path:
    """Where the training time of one (variant, seed) run is logged."""
    return logs / task / name / f"s{seed}.json"


def epoch_seed(seed: int, epoch: int) -> int:
    """A 31-bit seed for one epoch, derived from the run's seed (no two epochs share one)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0] >> 1)


def set_determinism(seed: int) -> None:
    """Same seed, same numbers: Python, NumPy and TF seeds plus deterministic TF ops."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def reseed(model, seed: int, epoch: int) -> None:
    """Global seeds and every dropout seed state from (seed, epoch), before each epoch."""
    import keras

    value = epoch_seed(seed, epoch)
    keras.utils.set_random_seed(value)
    for variable in model.variables:
        if variable.path.endswith(SEED_STATE):
            variable.assign(np.array([value, 0], dtype=variable.dtype))


def code_hash() -> str:
    """Hash of every project module loaded in this process: the training code."""
    digest = hashlib.sha256()
    for name in sorted(sys.modules):
        path = getattr(sys.modules[name], "__file__", None)
        if name.split(".")[0] == "stages" and path:
            digest.update(name.encode() + Path(path).read_bytes())
    return digest.hexdigest()


def folder_hash(folder: Path) -> str:
    """Hash of every file under `folder` (names and bytes): the prepared data."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def fingerprint(variant: dict, seed: int, data_dir: Path) -> str:
    """What a checkpoint was trained from: resuming anything else would mix two runs."""
    blob = json.dumps({"variant": variant, "seed": seed}, sort_keys=True)
    parts = (blob, folder_hash(data_dir), code_hash())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def save_keras(model, path: Path) -> None:
    """Save atomically; Keras picks the format from the suffix, so the temp keeps it.

    The file is rewritten byte-stable (`stable_keras`): equal weights, equal bytes, so a
    re-run with equal inputs leaves DVC's hash of the output unchanged.
    """
    with atomic_path(path) as tmp:
        staged = tmp.with_suffix(".keras")
        model.save(staged)
        stable_keras(staged, tmp)
        staged.unlink()


def stable_keras(source: Path, target: Path) -> None:
    """Copy a .keras zip without what changes from save to save of the same model.

    Keras stamps metadata.json with the save date, numbers shared objects in config.json
    by their memory address (id()) and dates the weights member with the clock. Here the
    date is dropped, the addresses become 0, 1, 2, ... in order of first appearance (which
    keeps the sharing: load_model only matches equal ids) and every member is dated 1980.
    """
    with zipfile.ZipFile(source) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    if "metadata.json" in members:
        meta = json.loads(members["metadata.json"])
        meta.pop("date_saved", None)
        members["metadata.json"] = json.dumps(meta).encode()
    if "config.json" in members:
        ids: dict[str, int] = {}
        members["config.json"] = re.sub(
            rb'"shared_object_id": (\d+)',
            lambda m: b'"shared_object_id": %d' % ids.setdefault(m.group(1), len(ids)),
            members["config.json"],
        )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


class Checkpoint:
    """The resume point of one run: `state.json` names the files that belong to it.

    A save writes `last-<epoch>.keras` (and `best-<epoch>.npz`, the best weights so far)
    before the state that points at them, then removes the older files: a kill at any
    moment leaves a state whose files are complete. Saving takes about 0.3 s, as long as
    a whole epoch of the small forecasting models, so it happens on a wall-clock interval
    rather than every epoch; the best weights are kept in memory in between. Which epoch
    a resume starts from never changes the result: every epoch is reseeded.
    """

    def __init__(self, folder: Path, stamp: str):
        self.folder, self.stamp = Path(folder), stamp

    def load(self) -> dict | None:
        """The saved state when it belongs to this run, else None (and the folder is cleared)."""
        path = self.folder / "state.json"
        if path.exists():
            state = json.loads(path.read_text("utf-8"))
            if state.get("fingerprint") == self.stamp and (self.folder / state["last"]).exists():
                return state
            print(f"{self.folder}: checkpoint from other params, data or code; starting over")
        self.clear()
        return None

    def save(self, model, state: dict, best_weights: list | None) -> None:
        epoch = state["epoch"]
        if best_weights is not None:
            state["best_file"] = f"best-{state['best_epoch']}.npz"
            save_npz(
                self.folder / state["best_file"],
                **{f"w{i:03d}": w for i, w in enumerate(best_weights)},
            )
        state["last"] = f"last-{epoch}.keras"
        save_keras(model, self.folder / state["last"])
        write_json(self.folder / "state.json", state)
        keep = {state["last"], state.get("best_file"), "state.json"}
        for path in self.folder.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)

    def best_weights(self, state: dict) -> list | None:
        """The best weights saved with the state, or None."""
        if not state.get("best_file"):
            return None
        saved = load_npz(self.folder / state["best_file"])
        return [saved[k] for k in sorted(saved)]

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def restore_checkpoint(model, path: Path, strategy=None) -> None:
    """Load a checkpoint's weights and optimizer state into `model`, built afresh.

    Not keras.models.load_model: a loaded model's layers each get a dtype policy object of
    their own where a built one's share one, so the loaded model's config.json lacks the
    `shared_object_id` tags and its model.keras would differ from an uninterrupted run's
    (same weights, other bytes, another DVC hash). Building the optimizer's variables first
    is what load_model does too (compile_from_config); under a strategy, in its scope.
    """
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
