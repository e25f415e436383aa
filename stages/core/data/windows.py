"""Vectorised windowing: turn a (time, features) array into (samples, steps, features) windows,
and ragged id lists into the fixed-length sequences the text models read.

The forecasting layouts of the seeds:
- `sliding_windows`: one target per window, `horizon` steps after the window ends, one window
  every `stride` steps. Seed 001's `get_XY` is lookback = stride = 12 inside each split
  ("segment" context); seed 000's `create_dataset` is lookback 1, stride 1.
- `stateful_windows`: seed 003's stateful batches, where row r of every batch continues the
  stream that row r of the previous batch ended, so an LSTM can carry its state across batches.

- `indexed_rows` / `gather_windows`: seed 002's generator, windows gathered per batch.
Text: `pad_ids` (imdb.load_data + pad_sequences) and `chunks` (seed 004's char sequences).

No Python loop per sample: windows are gathered by index arithmetic on strided views.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stages.core.data.transforms import Transform
from stages.core.io import StageError


def split_bounds(n: int, val: float, test: float) -> tuple[int, int]:
    """Row where validation starts and row where test starts, as the seeds compute them.

    Seeds use `int(n * fraction)`, so the boundaries are cumulative fractions (not sizes):
    sunspots 0.8 gives row 2256 of 2820; airline 0.67 gives row 96 of 144.
    """
    if not 0.0 < val <= test < 1.0:
        raise StageError(
            f"params.yaml: split needs 0 < val <= test < 1 (got val={val}, test={test}); "
            "they are the fractions of the series where validation and test start."
        )
    return int(n * val), int(n * test)


def target_positions(
    start: int, stop: int, lookback: int, horizon: int, stride: int, context: str, first_valid: int
) -> np.ndarray:
    """Positions of the targets inside [start, stop).

    "segment" windows never reach before `start` (the seeds split first and then window
    each part); "history" windows may read inputs from before the split, as a forecaster
    would, so every point of a validation or test split can be a target.
    """
    reach = lookback + horizon - 1
    if context == "segment":
        first = max(start, first_valid) + reach
    elif context == "history":
        first = max(start, first_valid + reach)
    else:
        raise StageError(
            f"params.yaml: window.context must be 'segment' or 'history', not {context!r}."
        )
    return np.arange(first, stop, stride, dtype=np.int64)


def sliding_windows(
    values: np.ndarray, target: np.ndarray, targets: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gather X (samples, lookback, features) and y (samples, 1) for the given target positions."""
    view = sliding_window_view(values, lookback, axis=0)  # (n - lookback + 1, features, lookback)
    x = view[targets - horizon - lookback + 1].transpose(0, 2, 1)
    return x.astype(np.float32), target[targets, None].astype(np.float32)


def stateful_starts(
    base: int, batches: int, batch_size: int, time_steps: int, row_gap: int
) -> np.ndarray:
    """Start of each window in stateful batch order: row j*batch_size + r starts at
    base + r*row_gap + j*time_steps, so row r of batch j+1 continues row r of batch j.

    With row_gap == time_steps this is seed 003's `get_batch` (each step moves the whole
    batch 20 points on); with row_gap == batches*time_steps the rows are disjoint streams,
    which is what held-out evaluation needs.
    """
    j, r = np.divmod(np.arange(batches * batch_size, dtype=np.int64), batch_size)
    return base + r * row_gap + j * time_steps


def sequence_windows(
    values: np.ndarray, target: np.ndarray, starts: np.ndarray, time_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many-to-many windows: X (samples, steps, features), y (samples, steps, 1), positions."""
    positions = starts[:, None] + np.arange(time_steps)
    x = values[positions]
    y = target[positions][..., None]
    return x.astype(np.float32), y.astype(np.float32), positions


def indexed_rows(min_index: int, max_index: int | None, lookback: int, delay: int, n: int):
    """Window-end rows of seed 002's generator for one split: [min + lookback, max).

    Row r reads inputs data[r - lookback : r : step] and targets data[r + delay]; the
    seed's max_index=None means len(data) - delay - 1. Only these integers are stored:
    the windows themselves are gathered batch by batch (see gather_windows).
    """
    stop = n - delay - 1 if max_index is None else int(max_index)
    return np.arange(int(min_index) + lookback, stop, dtype=np.int64)


def gather_windows(data: np.ndarray, rows: np.ndarray, lookback: int, step: int) -> np.ndarray:
    """Inputs for a batch of window-end rows, by one fancy-index gather (no Python loop).

    Memory is one batch, (len(rows), lookback // step, features), never every window:
    420,551 rows x 240 steps x 14 features would be 5.6 GB as float32.
    """
    offsets = np.arange(-lookback, 0, step, dtype=np.int64)
    return data[rows[:, None] + offsets]


def horizon(window: dict) -> int:
    """Rows from the last input to the target; naive persistence reads the target that far back.

    Indexed windows end at row r - step (their last input) and target row r + delay.
    """
    if window.get("layout") == "indexed":
        return int(window["delay"]) + int(window["step"])
    return int(window.get("horizon", 1))


def window_arrays(
    series: dict[str, np.ndarray], pos: np.ndarray, window: dict, transform: Transform
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs and targets of sliding windows for the given target positions.

    `series` holds `scaled`, `scaled_target` and `target` (original units), as series.npz.
    """
    lookback, ahead = int(window["lookback"]), int(window.get("horizon", 1))
    x, y = sliding_windows(series["scaled"], series["scaled_target"], pos, lookback, ahead)
    if transform.window_lag:
        x = transform.window_inputs(x.astype(np.float64)).astype(np.float32)
        y = transform.target_to_model(series["target"][pos], series["target"], pos)
        y = y[:, None].astype(np.float32)
    return x, y


def sliding_positions(start: int, stop: int, window: dict, first_valid: int, stride=None):
    """Target positions of a sliding layout inside [start, stop), from the window params."""
    return target_positions(
        start,
        stop,
        int(window["lookback"]),
        int(window.get("horizon", 1)),
        int(stride or window.get("stride", 1)),
        window.get("context", "segment"),
        first_valid,
    )


def spanning_gap(pos: np.ndarray, gap_before: np.ndarray, window: dict, first_valid: int):
    """Which targets' windows cross a gap (rows dropped, or a `freq` gap): a window reads
    rows pos - lookback - horizon + 1 - first_valid .. pos (differencing reaches first_valid
    further back), and crosses a gap when a row after its first one has `gap_before`."""
    if not gap_before.any():
        return np.zeros(len(pos), dtype=bool)
    reach = int(window["lookback"]) + int(window.get("horizon", 1)) - 1 + int(first_valid)
    marks = np.cumsum(gap_before)
    return marks[pos] - marks[pos - reach] > 0


PAD, OOV = 0, 1  # word ids: 0 padding, 1 out of vocabulary, rank r -> r + 1


def pad_ids(
    flat: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    vocab_size: int,
    maxlen: int,
    skip_top: int = 0,
    reverse: bool = False,
    padding: str = "pre",
    truncating: str = "pre",
) -> np.ndarray:
    """A (len(rows), maxlen) int32 matrix, as imdb.load_data + pad_sequences would give."""
    for name, value in (("padding", padding), ("truncating", truncating)):
        if value not in ("pre", "post"):
            raise StageError(f"params.yaml: inputs.{name} must be 'pre' or 'post', got {value!r}.")
    out = np.zeros((len(rows), maxlen), dtype=np.int32)
    for i, row in enumerate(rows):
        ids = flat[offsets[row] : offsets[row + 1]].copy()
        ids[(ids >= vocab_size) | ((ids >= 2) & (ids < skip_top + 2))] = OOV
        if reverse:
            ids = ids[::-1]
        ids = ids[-maxlen:] if truncating == "pre" else ids[:maxlen]
        if len(ids):
            if padding == "pre":
                out[i, maxlen - len(ids) :] = ids
            else:
                out[i, : len(ids)] = ids
    return out


def streams(ids: np.ndarray, n_streams: int, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """The text as `n_streams` contiguous streams read side by side (truncated BPTT).

    Stream j is the j-th of n_streams equal contiguous parts of the text (the tail that
    does not fill a whole sequence in every stream is left out). Rows come batch by batch:
    row j of batch k is stream j's k-th sequence, so a stateful model with batch size
    n_streams carries each stream's state from one batch to the next. Targets are the
    inputs shifted by one. `stream_order` puts per-row outputs back in text order.
    """
    per = (len(ids) - 1) // n_streams // seq_length * seq_length
    if per == 0:
        raise StageError(
            f"{len(ids)} characters cannot fill {n_streams} streams of {seq_length}: lower "
            "train.batch_size or inputs.seq_length."
        )
    shape = (n_streams, per // seq_length, seq_length)
    x = ids[: n_streams * per].reshape(shape).transpose(1, 0, 2).reshape(-1, seq_length)
    y = ids[1 : n_streams * per + 1].reshape(shape).transpose(1, 0, 2).reshape(-1, seq_length)
    return x.astype(np.int32), y.astype(np.int32)


def stream_order(rows: np.ndarray, n_streams: int) -> np.ndarray:
    """Per-row outputs of `streams` (batch-major) back in text order, flattened."""
    steps = len(rows) // n_streams
    rest = rows.shape[1:]
    return (
        rows.reshape(steps, n_streams, *rest)
        .transpose(1, 0, *range(2, rows.ndim + 1))
        .reshape(-1, *rest[1:])
    )


def chunks(ids: np.ndarray, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed 004's samples: consecutive, non-overlapping sequences; target = input shifted by one."""
    n = (len(ids) - 1) // seq_length
    x = ids[: n * seq_length].reshape(n, seq_length)
    y = ids[1 : n * seq_length + 1].reshape(n, seq_length)
    return x.astype(np.int32), y.astype(np.int32)
