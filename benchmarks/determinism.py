"""What makes training numbers differ between machines of one kind, and what fixing it costs.

    python -m benchmarks.determinism [--variants dji-gru imdb-lstm] [--epochs 3]

Trains each variant (default profile, a few epochs) once per setting in a fresh process,
in a scratch copy of the project under /tmp, and prints the largest difference of its
test predictions from the first setting, with the training time:

- `default`: TensorFlow as installed (oneDNN picks its kernels for this CPU);
- `isa=avx512_core`: oneDNN limited to plain AVX-512 kernels (ONEDNN_MAX_CPU_ISA), as on
  a CPU without the newer AVX-512 extensions (VNNI, BF16, AMX);
- `isa=avx2`: oneDNN limited to AVX2 kernels, as on a CPU without AVX-512;
- `onednn=off`: TF_ENABLE_ONEDNN_OPTS=0 (Eigen kernels only);
- `onednn=off,isa=avx2`: both, to see whether anything ISA-dependent remains;
- `threads=1`: one intra-op thread instead of the default.

Needs RNN_DATA_MIRROR (or internet) for the raw data. Prints a table; changes nothing in
the project itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "default": {},
    "isa=avx512_core": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "isa=avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "onednn=off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn=off,isa=avx2": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "threads=1": {"TF_NUM_INTRAOP_THREADS": "1"},
}


def run(cmd: list[str], cwd: Path, env: dict) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def project(variants: list[str], epochs: int) -> tuple[Path, dict]:
    """A scratch copy with default params, the variants capped at `epochs`, data prepared."""
    root = Path(tempfile.mkdtemp(prefix="determinism-"))
    for name in ("stages", "conf", "dvc.yaml"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run([sys.executable, "-m", "stages.profile", "default"], root, env)
    params = yaml.safe_load((root / "params.yaml").read_text())
    stages = set()
    for name in variants:
        group = "variants" if name in params["variants"] else "text_variants"
        variant = params[group][name]
        variant["train"].update(epochs=epochs, early_stopping=None)
        if group == "text_variants":
            variant["train"]["steps_per_epoch"] = 40
        tasks = "tasks" if group == "variants" else "text_tasks"
        task = variant["task"]
        stages.add((params[tasks][task]["dataset"], task, tasks))
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for dataset, task, tasks in sorted(stages):
        run([sys.executable, "-m", "stages.download", dataset], root, env)
        prepare = "stages.prepare" if tasks == "tasks" else "stages.prepare_text"
        run([sys.executable, "-m", prepare, task], root, env)
    return root, params


def train(root: Path, params: dict, name: str, setting: dict) -> tuple[np.ndarray, float]:
    import json

    group = "variants" if name in params["variants"] else "text_variants"
    module = "stages.train" if group == "variants" else "stages.train_text"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **setting}
    run([sys.executable, "-m", module, name], root, env)
    out = root / "models" / params[group][name]["task"] / name
    preds = np.load(out / "predictions.npz")
    key = "test" if "test" in preds.files else "log2p"
    task = params[group][name]["task"]  # train times are logged outside the outputs
    log = next((root / "logs" / "train" / task / name).glob("*.json"))
    seconds = json.loads(log.read_text())["train_seconds"]
    return preds[key].astype(np.float64), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["dji-gru", "imdb-lstm"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args()
    root, params = project(args.variants, args.epochs)
    print(f"CPU: {os.cpu_count()} cores; scratch project {root}")
    print("| variant | setting | train s | max abs diff of test predictions vs default |")
    print("| --- | --- | --- | --- |")
    for name in args.variants:
        first = None
        for label in args.settings:
            preds, seconds = train(root, params, name, SETTINGS[label])
            first = preds if first is None else first
            diff = float(np.max(np.abs(preds - first)))
            print(f"| {name} | {label} | {seconds:.1f} | {diff:.3g} |", flush=True)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
