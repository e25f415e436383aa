"""How far the committed numbers move with the CPU and with the seed (issue #23, item 13a).

    python -m benchmarks.cpu_spread seeds                      # from metrics/*.json, no training
    python -m benchmarks.cpu_spread cpu REPO [--isa AVX2] [--threads N] [RUN ...]

`seeds`: for every task, each network's headline number (test RMSE, accuracy, bits/char)
over its seeds: mean, standard deviation and max - min, relative to the mean.

`cpu`: REPO is a scratch copy of the project in which `dvc repro` has run (so data/prepared
and models/ are there); it is changed. Each RUN (default: seed 42 of every task's best
network) is retrained with oneDNN capped at `--isa` (ONEDNN_MAX_CPU_ISA; AVX2 is what a
machine without AVX-512 runs) and/or `--threads` intra-op threads, then its task is
evaluated again; the table gives the relative difference of that seed's test headline from
the committed one, which is what .ci/tolerances.yaml must allow between two machines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = {"forecast": "rmse_orig", "sentiment": "accuracy", "charlm": "bits_per_char"}


def task_kinds(params: dict) -> dict[str, str]:
    kinds = dict.fromkeys(params.get("tasks") or {}, "forecast")
    return kinds | {t: c["kind"] for t, c in (params.get("text_tasks") or {}).items()}


def per_seed(metrics: dict, name: str, metric: str) -> dict[str, float]:
    """{seed: test headline} of one model (a one-seed model has its own number only)."""
    test = metrics["models"][name]["test"]
    seeds = test.get("seeds") or {}
    return {s: v[metric] for s, v in seeds.items() if metric in v} or {"42": test[metric]}


def seeds_table(root: Path) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    print("| task | model | metric | seeds | mean | std / mean | (max - min) / mean |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for task, kind in task_kinds(params).items():
        path = root / "metrics" / f"{task}.json"
        metrics = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        metric = HEADLINE[kind]
        for name in metrics.get("models", {}):
            values = list(per_seed(metrics, name, metric).values())
            mean = statistics.fmean(values)
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            spread = (max(values) - min(values)) / abs(mean)
            print(
                f"| {task} | {name} | {metric} | {len(values)} | {mean:.5g} | "
                f"{std / abs(mean):.2e} | {spread:.2e} |"
            )


def best_runs(root: Path) -> list[str]:
    """Seed 42 of each task's best network by its headline file (hybrids: the network)."""
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    runs = {**(params.get("runs") or {}), **(params.get("text_runs") or {})}
    out = []
    for task in task_kinds(params):
        path = root / "metrics" / "headline" / f"{task}.json"
        net = json.loads(path.read_text(encoding="utf-8")).get("net") if path.exists() else None
        if not net or net == "not run":
            continue
        run = f"{task}-{net.split('+')[0]}-s42"
        if run in runs:
            out.append(run)
    return out


def retrain(root: Path, run: str, env: dict[str, str]) -> tuple[str, str, float]:
    """Retrain one run and re-evaluate its task in `root`; (task, variant, seconds)."""
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    text = run in (params.get("text_runs") or {})
    entry = (params["text_runs"] if text else params["runs"])[run]
    start = time.perf_counter()
    for module, key in (("train_text" if text else "train", run),
                        ("evaluate_text" if text else "evaluate", entry["task"])):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", f"stages.{module}", key], cwd=root, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode:
            sys.exit(f"{module} {key} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return entry["task"], entry["variant"], time.perf_counter() - start


def cpu_table(root: Path, runs: list[str], isa: str | None, threads: int | None) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    kinds = task_kinds(params)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    if threads:
        env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    setting = ", ".join(filter(None, [isa and f"isa {isa}", threads and f"{threads} threads"]))
    print(f"| run | metric | committed | {setting or 'as installed'} | relative | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in runs or best_runs(root):
        task = run.rsplit("-s", 1)[0].split("-", 1)[0]
        metric = HEADLINE[kinds[task]]
        before = json.loads((root / "metrics" / f"{task}.json").read_text(encoding="utf-8"))
        variant = run.rsplit("-s", 1)[0]
        old = per_seed(before, variant, metric)["42"]
        task, variant, seconds = retrain(root, run, env)
        after = json.loads((root / "metrics" / f"{task}.json").read_text(encoding="utf-8"))
        new = per_seed(after, variant, metric)["42"]
        rel = abs(new - old) / abs(old)
        print(f"| {run} | {metric} | {old:.7g} | {new:.7g} | {rel:.1e} | {seconds:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("seeds")
    cpu = sub.add_parser("cpu")
    cpu.add_argument("repo", type=Path)
    cpu.add_argument("runs", nargs="*")
    cpu.add_argument("--isa", default=None)
    cpu.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.what == "seeds":
        seeds_table(ROOT)
    else:
        cpu_table(args.repo.resolve(), args.runs, args.isa, args.threads)


if __name__ == "__main__":
    main()
