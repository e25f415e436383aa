"""Benchmark: Jena windowing (seed 002's generator vs ours) and training step time.

    python -m benchmarks.jena_windows            # windowing only (about a minute)
    python -m benchmarks.jena_windows --train    # plus seconds per training step per variant

Runs on a random 420,551 x 14 float32 array (the real file's shape), so it needs no data.
Prints a small table; the figures quoted in the README come from this script.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from stages.core.data import windows
from stages.core.io import load_params

ROWS, FEATURES, LOOKBACK, STEP, DELAY, BATCH = 420_551, 14, 1440, 6, 144, 128


def seed_batches(data: np.ndarray, rows: np.ndarray):
    """Seed 002's generator body: one Python loop iteration per sample."""
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        samples = np.zeros((len(batch), LOOKBACK // STEP, data.shape[-1]))
        targets = np.zeros((len(batch),))
        for j, row in enumerate(batch):
            samples[j] = data[range(row - LOOKBACK, row, STEP)]
            targets[j] = data[row + DELAY][1]
        yield samples, targets


def our_batches(data: np.ndarray, rows: np.ndarray):
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        yield windows.gather_windows(data, batch, LOOKBACK, STEP), data[batch + DELAY, 1]


def rate(batches, n: int) -> tuple[float, float]:
    """(samples per second, peak MiB allocated while producing them)."""
    tracemalloc.start()
    started = time.perf_counter()
    for _ in batches:
        pass
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return n / seconds, peak


def windowing_table(data: np.ndarray) -> None:
    rows = windows.indexed_rows(200001, 300000, LOOKBACK, DELAY, len(data))
    seed_rows = rows[: 20 * BATCH]  # the seed's loop is slow: time 20 batches of it
    seed_rate, seed_peak = rate(seed_batches(data, seed_rows), len(seed_rows))
    our_rate, our_peak = rate(our_batches(data, rows), len(rows))
    print("| windowing | samples/s | peak MiB |\n| --- | --- | --- |")
    print(f"| seed generator (Python loop) | {seed_rate:,.0f} | {seed_peak:.0f} |")
    print(f"| gather_windows | {our_rate:,.0f} | {our_peak:.0f} |")
    print(
        f"speed-up: {our_rate / seed_rate:.0f}x; all windows at once would need "
        f"{len(rows) * LOOKBACK // STEP * FEATURES * 4 / 2**30:.1f} GiB for val alone"
    )


def step_table(data: np.ndarray) -> None:
    import keras

    from stages.core.models.zoo import build_model, compile_model

    params = load_params()
    rng = np.random.default_rng(0)
    x = windows.gather_windows(data, rng.integers(LOOKBACK, 200000, BATCH), LOOKBACK, STEP)
    y = data[:BATCH, 1]
    val = windows.gather_windows(data, rng.integers(LOOKBACK, 200000, 1024), LOOKBACK, STEP)
    print("| variant | s / training step (128) | s / 128 windows predicted (batches of 1024) |")
    print("| --- | --- | --- |")
    for name, variant in params["variants"].items():
        if variant["task"] != "jena":
            continue
        model = build_model(variant["model"], x.shape[1:], None, name)
        compile_model(model, variant["train"], name)
        model.train_on_batch(x, y)  # build and trace once
        started = time.perf_counter()
        for _ in range(5):
            model.train_on_batch(x, y)
        train = (time.perf_counter() - started) / 5
        model.predict_on_batch(val)  # trace once
        started = time.perf_counter()
        for _ in range(3):
            model.predict_on_batch(val)
        print(f"| {name} | {train:.3f} | {(time.perf_counter() - started) / 3 / 8:.3f} |")
        keras.backend.clear_session()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="also time training steps")
    args = parser.parse_args()
    data = np.random.default_rng(0).normal(size=(ROWS, FEATURES)).astype(np.float32)
    windowing_table(data)
    if args.train:
        step_table(data)


if __name__ == "__main__":
    main()
