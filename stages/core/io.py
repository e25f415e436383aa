"""Plumbing every stage shares: paths, params, clear errors, atomic and byte-stable writes.

Nothing here imports TensorFlow, so stages that do not train stay fast to start.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml

PARAMS_FILE = Path("params.yaml")
RAW_DIR = Path("data/raw")
PREPARED_DIR = Path("data/prepared")
MODELS_DIR = Path("models")
LIVE_DIR = Path("metrics/train")
METRICS_DIR = Path("metrics")
PLOTS_DIR = Path("plots")
# Resume points: git- and DVC-ignored, never a DVC output (see stages/core/models/fit.py).
CHECKPOINTS_DIR = Path("checkpoints")
SPLITS = ("train", "val", "test")
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}  # per-review split codes of word tasks


def model_dir(task: str, name: str, seed: int, root: Path = MODELS_DIR) -> Path:
    """One trained run: models/<task>/<variant>/s<seed>/."""
    return root / task / name / f"s{seed}"


def live_dir(task: str, name: str, seed: int, root: Path = LIVE_DIR) -> Path:
    """One run's DVCLive curves: metrics/train/<task>/<variant>/s<seed>/."""
    return root / task / name / f"s{seed}"


class StageError(Exception):
    """A problem the user can fix: the message names the file, the problem and the fix."""


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read params.yaml, failing with a clear message rather than a traceback."""
    try:
        with open(path, encoding="utf-8") as fh:
            params = yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise StageError(f"{path}: not found. Run the stage from the project root.") from exc
    except yaml.YAMLError as exc:
        raise StageError(f"{path}: not valid YAML ({exc}). Fix the syntax and re-run.") from exc
    if not isinstance(params, dict):
        raise StageError(f"{path}: expected a mapping at the top level.")
    return params


def section(params: dict[str, Any], group: str, key: str) -> dict[str, Any]:
    """Return params[group][key], or say which keys exist when it is missing."""
    entries = params.get(group) or {}
    if key not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise StageError(
            f"{PARAMS_FILE}: no entry '{key}' under '{group}' (known: {known}). "
            f"Add it to {PARAMS_FILE} or pick a known one."
        )
    return entries[key]


def require(entry: dict[str, Any], key: str, where: str) -> Any:
    """Fetch a mandatory param, naming its full path when it is missing."""
    if key not in entry or entry[key] is None:
        raise StageError(f"{PARAMS_FILE}: '{where}.{key}' is required but missing. Add it.")
    return entry[key]


def remove_stale_temps(target: Path, suffix: str = ".tmp") -> None:
    """Delete the temp files of `target` left by a writer killed too hard to clean up.

    DVC deletes a stage's outputs before re-running it, but a file output's temp lies
    beside it, outside the output (metrics/.<task>.json.*.tmp): left there, it would
    change the hash of the `metrics` folder the report stage depends on.
    """
    if target.parent.is_dir():
        for stale in target.parent.glob(f".{target.name}.*{suffix}"):
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: Path | str, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it over `target` only on success.

    An interrupted or failed write therefore never leaves a half-written file behind,
    and whatever was at `target` before stays intact; the temp of a writer killed
    earlier is swept by the next write of the same target. `suffix` is the temporary
    file's ending, for writers that pick a format by it (Hydra's dump wants .yaml).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target, suffix)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: Path | str, data: Any) -> None:
    """Write JSON atomically with stable formatting (sorted keys keep diffs small)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_npz(path: Path | str, **arrays: np.ndarray) -> None:
    """Write a compressed .npz atomically, byte-identical for equal arrays.

    np.savez_compressed stamps each member with the current time, so a re-run with the
    same result would still change the file's hash and make DVC re-run everything below
    it. Members here carry a fixed timestamp; np.load reads the file as usual.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue())


def load_npz(path: Path | str) -> dict[str, np.ndarray]:
    """Load every array of an .npz into memory, with a clear error if it is missing."""
    path = Path(path)
    if not path.exists():
        raise StageError(f"{path}: not found. Run the stage that produces it (dvc repro).")
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def read_json(path: Path | str, producer: str) -> Any:
    """A JSON file another stage wrote; if it is missing, say which stage makes it."""
    path = Path(path)
    if not path.exists():
        raise StageError(f"{path}: not found. Run `dvc repro {producer}` first.")
    return json.loads(path.read_text(encoding="utf-8"))


def load_metrics(task: str, metrics_dir: Path = METRICS_DIR) -> dict[str, Any]:
    """A task's metrics file, as the evaluate stages write it (plots and report read it)."""
    return read_json(metrics_dir / f"{task}.json", f"evaluate@{task}")


def trained_variants(
    task: str, seeds: list[int], models: Path = MODELS_DIR
) -> dict[str, dict[int, dict[str, Any]]]:
    """The runs trained for a task, {variant: {seed: variant.json}}, sorted by name and seed.

    Stages downstream of training learn a task's variants here rather than from params,
    so they need not depend on every variant's params (changing one variant must not
    re-run every task). Only `seeds` (the task's seeds in params) are read: a run of a
    seed since dropped from the list may still sit in models/ and must not count.
    """
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted((models / task).glob("*/s*/variant.json")):
        seed = int(path.parent.name[1:])
        if seed in seeds:
            found.setdefault(path.parent.parent.name, {})[seed] = json.loads(
                path.read_text("utf-8")
            )
    if not found:
        raise StageError(
            f"{models / task}: no trained variant for seeds {seeds}. Add a variant with "
            f"`task: {task}` to params and run `dvc repro`."
        )
    return {name: dict(sorted(runs.items())) for name, runs in found.items()}


UNAVAILABLE = "UNAVAILABLE.json"


def mark_unavailable(directory: Path | str, reason: str) -> None:
    """Record, in an output directory, that an optional study was skipped and why.

    A dataset marked `optional` (Jena: no offline copy exists) must not break `dvc repro`
    for everyone else: each of its stages writes this marker instead of results, so the
    pipeline completes, `dvc status` is clean, and no number is ever made up.
    """
    write_json(Path(directory) / UNAVAILABLE, {"unavailable": reason})


SKIPPED = "raw data unavailable: study skipped (data/raw/<dataset>/UNAVAILABLE.json says why)"


def unavailable(directory: Path | str) -> str | None:
    """The reason an upstream stage was skipped, or None when its outputs are real."""
    path = Path(directory) / UNAVAILABLE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["unavailable"]


def dvc_stage() -> str | None:
    """The stage DVC is running this process for (`prepare@sunspots`), None outside DVC.

    DVC (3.x, dvc/stage/run.py) sets DVC_STAGE to the stage's name and DVC_ROOT to the
    repository for every command it runs, `dvc repro` and `dvc exp run` alike.
    """
    return os.environ.get("DVC_STAGE") or None


def restore_hint() -> str:
    """What to append to a stage's error line under DVC: how to get its old outputs back.

    DVC deletes a stage's outputs before running its command, so a stage that fails (a
    wrong sha256, a bad param) leaves none: the raw file that passed its checksum yesterday,
    or data/prepared/<task>, is gone. dvc.lock still names them, and the cache holds them.
    """
    stage = dvc_stage()
    if stage is None:
        return ""
    return (
        f" (DVC deleted the outputs of {stage} before running it; `dvc checkout {stage}` "
        "restores those of its last successful run from the cache.)"
    )


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def set_parent_death_signal(signum: int) -> bool:
    """prctl(PR_SET_PDEATHSIG, signum) through libc; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent() -> None:
    """Have Linux send this process SIGTERM when its parent dies (no-op elsewhere).

    Killing only `dvc` (kill -9 of its PID, not of its process group) would otherwise leave
    the stage running as an orphan, still writing outputs, while a `dvc repro` started at
    once runs the same stage beside it. Linux sends the signal when the thread that
    started this process ends; DVC starts commands from its main thread. A parent that
    died before the prctl call sends nothing: os.getppid() has changed, so end now.
    """
    parent = os.getppid()
    if set_parent_death_signal(signal.SIGTERM) and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def run_stage(main: Callable[[list[str]], None]) -> None:
    """Run a stage's main, turning StageError into one clear line and exit code 1; under
    DVC the line also says how to restore the outputs DVC deleted (`restore_hint`). The
    stage ends with its parent (`die_with_parent`)."""
    die_with_parent()
    try:
        main(sys.argv[1:])
    except StageError as exc:
        print(f"error: {exc}{restore_hint()}", file=sys.stderr)
        sys.exit(1)
