"""What a variant's `model:` block and input options mean, shared by the Keras zoo, the
numpy reference pass and the data feeds, so the three never disagree (no TensorFlow here).
"""

from __future__ import annotations

import numpy as np

from stages.core.config.names import POOL_TYPES, RNN_TYPES


def return_sequences(arch: dict) -> dict[int, bool]:
    """return_sequences per recurrent layer index. Unset means: true when another recurrent
    layer or a pooling over time follows, or for the last one when the model outputs a
    sequence."""
    specs = arch["layers"]
    rnn = [i for i, s in enumerate(specs) if s.get("type") in RNN_TYPES]
    pooled = [i for i, s in enumerate(specs) if s.get("type") in POOL_TYPES]
    out: dict[int, bool] = {}
    for i in rnn:
        explicit = specs[i].get("return_sequences")
        auto = i != rnn[-1] or bool(arch.get("sequence_output")) or any(j > i for j in pooled)
        out[i] = auto if explicit is None else bool(explicit)
    return out


def model_inputs(x: np.ndarray, variant: dict) -> np.ndarray:
    """Apply the variant's input options (`reverse`: time order flipped) to a batch of windows."""
    return x[:, ::-1] if variant.get("reverse") else x


def reset_states(model) -> None:
    """Zero the state of every stateful layer (Keras 3 does not do it between calls)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()
