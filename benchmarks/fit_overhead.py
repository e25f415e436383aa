"""Per-epoch seconds of the small forecasting models, before and after the fit-overhead cuts.

    python -m benchmarks.fit_overhead [--variants sunspots_monthly-gru dji-gru] [--epochs 12]
                                      [--rounds 2]

Trains each variant (default-profile params, data prepared by `dvc repro prepare@<task>`)
for a few epochs through stages/core/models/fit.py once per setting, the settings interleaved
round by round so that a busy machine slows them alike, and prints the median wall and
CPU seconds per epoch (the first epoch, which traces the graphs, left out) with the
largest difference of any logged per-epoch number from `before` (0: byte-equal curves):

- `before`: validation arrays handed to model.fit every epoch (`cache_validation: false`);
- `cached_val`: the validation pipeline built once (`train.cache_validation`, the default).

CPU seconds are the better comparison on a shared machine: wall time waits for the CPU.

Changes nothing in the project: DVCLive and checkpoints write to a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from stages.core.io import load_params

SETTINGS = {
    "before": {"cache_validation": False},
    "cached_val": {"cache_validation": True},
}


class Clock:
    """A stand-in for DVCLive that stamps each epoch's end, and keeps the logged values."""

    def __init__(self, live):
        self.live, self.values = live, []
        self.stamps, self.cpu = [time.perf_counter()], [time.process_time()]

    def log_metric(self, name: str, value: float) -> None:
        self.values.append(value)
        self.live.log_metric(name, value)

    def next_step(self) -> None:
        self.live.next_step()
        self.stamps.append(time.perf_counter())
        self.cpu.append(time.process_time())


def run_once(name: str, params: dict, setting: dict, epochs: int, scratch: Path) -> tuple:
    """(wall seconds per epoch after the first, CPU seconds likewise, logged values)."""
    from dvclive import Live

    from stages.core.models.checkpoint import Checkpoint, set_determinism
    from stages.core.models.fit import build_compiled, fit
    from stages.core.models.layouts import forecast_feeds

    variant = params["variants"][name]
    cfg = {**variant["train"], **setting, "epochs": epochs, "checkpoint_every": 1e9}
    cfg.pop("early_stopping", None)
    variant = {**variant, "train": cfg}
    window = params["tasks"][variant["task"]]["window"]
    feeds = forecast_feeds(variant["task"], window, variant, 42)
    set_determinism(42)
    model = build_compiled(variant["model"], feeds, cfg, name)
    folder = Path(tempfile.mkdtemp(dir=scratch))
    with Live(str(folder / "live"), dvcyaml=None, save_dvc_exp=False) as live:
        clock = Clock(live)
        fit(model, feeds, cfg, name, 42, clock, Checkpoint(folder / "ckpt", "bench"))
    return steps(clock.stamps), steps(clock.cpu), clock.values


def steps(stamps: list[float]) -> list[float]:
    """Seconds of each epoch after the first (the first traces the graphs)."""
    return [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["sunspots_monthly-gru", "dji-gru"])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    params = load_params()
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.variants:
            times: dict[str, list[float]] = {k: [] for k in SETTINGS}
            cpu: dict[str, list[float]] = {k: [] for k in SETTINGS}
            values: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                for label, setting in SETTINGS.items():
                    wall, used, logged = run_once(name, params, setting, args.epochs, Path(scratch))
                    times[label] += wall
                    cpu[label] += used
                    values[label] = logged
            base = statistics.median(times["before"])
            base_cpu = statistics.median(cpu["before"])
            print(f"{name}: {args.epochs} epochs x {args.rounds} rounds")
            for label in SETTINGS:
                diff = max(abs(a - b) for a, b in zip(values[label], values["before"], strict=True))
                median, used = statistics.median(times[label]), statistics.median(cpu[label])
                print(
                    f"  {label:16s} wall {median:6.3f} s/epoch ({median / base:4.2f} x before)"
                    f"  CPU {used:6.3f} s/epoch ({used / base_cpu:4.2f} x)"
                    f"  max |logged - before| {diff:.3g}"
                )


if __name__ == "__main__":
    main()
