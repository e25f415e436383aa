"""A numpy forward pass for the zoo's models: seed 001's hand computation, generalised.

Given `model.get_weights()` it reproduces `model.predict` for SimpleRNN, LSTM (gate order
i, f, c, o) and GRU (Keras's reset_after=True, gate order z, r, h), stacked, bidirectional,
embeddings, dense heads and stateful layers. Evaluate uses it to show that the saved numbers are
exactly what the equations say, not something Keras does behind the scenes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from stages.core.io import StageError
from stages.core.models.arch import RNN_TYPES, return_sequences

ACTIVATIONS: dict[str | None, Callable[[np.ndarray], np.ndarray]] = {
    None: lambda v: v,
    "linear": lambda v: v,
    "tanh": np.tanh,
    "relu": lambda v: np.maximum(v, 0.0),
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "hard_sigmoid": lambda v: np.clip(v + 3.0, 0.0, 6.0) / 6.0,
    "softmax": lambda v: softmax(v),
}


def softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def simple_rnn_step(x, state, w, act, _rec_act):
    """h_t = act(x_t W + h_{t-1} U + b)."""
    (h,) = state
    h = act(x @ w[0] + h @ w[1] + w[2])
    return h, (h,)


def lstm_step(x, state, w, act, rec_act):
    """Keras LSTM: gates i, f, candidate c, o in that order along the last axis."""
    h, c = state
    i, f, g, o = np.split(x @ w[0] + h @ w[1] + w[2], 4, axis=-1)
    c = rec_act(f) * c + rec_act(i) * act(g)
    h = rec_act(o) * act(c)
    return h, (h, c)


def gru_step(x, state, w, act, rec_act):
    """Keras GRU with reset_after=True: the reset gate multiplies (h U_h + b_h)."""
    (h,) = state
    xz, xr, xh = np.split(x @ w[0] + w[2][0], 3, axis=-1)
    hz, hr, hh = np.split(h @ w[1] + w[2][1], 3, axis=-1)
    z, r = rec_act(xz + hz), rec_act(xr + hr)
    h = z * h + (1.0 - z) * act(xh + r * hh)
    return h, (h,)


STEPS = {"simple_rnn": simple_rnn_step, "lstm": lstm_step, "gru": gru_step}


def zero_state(kind: str, batch: int, units: int) -> tuple[np.ndarray, ...]:
    return tuple(np.zeros((batch, units)) for _ in range(2 if kind == "lstm" else 1))


def run_rnn(spec: dict, w: list[np.ndarray], x: np.ndarray, state, backwards: bool = False):
    """Run one recurrent layer over (batch, time, features); returns (outputs, final state)."""
    step = STEPS[spec["type"]]
    act = ACTIVATIONS[spec.get("activation", "tanh")]
    rec_act = ACTIVATIONS[spec.get("recurrent_activation", "sigmoid")]
    times = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    outs = []
    for t in times:
        h, state = step(x[:, t], state, w, act, rec_act)
        outs.append(h)
    if backwards:
        outs.reverse()
    return np.stack(outs, axis=1), state


def forward(arch: dict, weights: Iterator[np.ndarray], x: np.ndarray, states: dict) -> np.ndarray:
    """One pass over a batch; `states` maps (layer, direction) -> state, updated in place."""
    seqs = return_sequences(arch)
    h = x
    for i, spec in enumerate(arch["layers"]):
        kind = spec["type"]
        if kind in RNN_TYPES:
            h = rnn_forward(spec, weights, h, states, i, seqs[i])
        elif kind == "dense":
            kernel, bias = next(weights), next(weights)
            h = ACTIVATIONS[spec.get("activation")](h @ kernel + bias)
        elif kind == "embedding":
            if spec.get("mask_zero"):
                raise StageError("the numpy reference pass has no masking (embedding mask_zero).")
            h = next(weights)[h.astype(np.int64)]
        elif kind == "global_max_pool":
            h = h.max(axis=1)
        elif kind == "global_average_pool":
            h = h.mean(axis=1)
        elif kind == "flatten":
            h = h.reshape(h.shape[0], -1)
        # dropout, spatial_dropout: identity at inference
    kernel, bias = next(weights), next(weights)
    return ACTIVATIONS[arch["head"].get("activation")](h @ kernel + bias)


def rnn_forward(spec, weights, h, states, i, return_sequences):
    """One recurrent layer, optionally bidirectional (forward and backward concatenated)."""
    directions = (False, True) if spec.get("bidirectional") else (False,)
    outs = []
    for d, backwards in enumerate(directions):
        w = [next(weights) for _ in range(3)]
        key = (i, d)
        state = states.get(key) or zero_state(spec["type"], h.shape[0], int(spec["units"]))
        seq, states[key] = run_rnn(spec, w, h, state, backwards)
        if return_sequences:
            outs.append(seq)
        else:
            outs.append(seq[:, 0] if backwards else seq[:, -1])
    return np.concatenate(outs, axis=-1)


def predict(
    arch: dict, weights: list[np.ndarray], x: np.ndarray, batch_size: int | None = None
) -> np.ndarray:
    """`model.predict(x)` in float64 numpy. Stateful models carry each row's state from one
    chunk of `batch_size` rows to the next, as Keras does; others start every row at zero."""
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    x = np.asarray(x, dtype=np.float64)
    if not arch.get("stateful"):
        return forward(arch, iter(weights), x, {})
    states: dict = {}
    chunks = [
        forward(arch, iter(weights), x[s : s + batch_size], states)
        for s in range(0, len(x), batch_size)
    ]
    return np.concatenate(chunks)
