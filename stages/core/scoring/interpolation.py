"""Text hybrids: a trained network's probabilities interpolated with a baseline's.

p = (1 - w) * p_network + w * p_baseline, one weight w per trained network (per seed),
the w in 0, 0.01, ..., 1 with the lowest cross-entropy on the VALIDATION split; the test
split is then scored once with that w. This is linear interpolation of language models
(Jelinek & Mercer 1980), the way Mikolov et al. (2011) combine an RNN language model with
a Kneser-Ney n-gram; for reviews it averages P(positive) of the network and, say, NBSVM
(Mesnil et al. 2015 ensemble an RNN language model with NBSVM on IMDB).

Nothing retrains: the network is a text variant's committed weights (its predictions
file), the baseline is refitted by evaluate_text as always, so a hybrid costs seconds.
Only the probability of what actually happened is needed (of the true next character, or
of each review's label), which is why a character hybrid has bits/char but no
next-character accuracy: that needs the network's whole distribution, which is not kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WEIGHTS = np.round(np.linspace(0.0, 1.0, 101), 2)


def mix(p_network: np.ndarray, p_baseline: np.ndarray, weight: float) -> np.ndarray:
    """The interpolated probability; `weight` is the baseline's share."""
    return (1.0 - weight) * p_network + weight * p_baseline


def choose_weight(
    p_network: np.ndarray, p_baseline: np.ndarray, loss: Callable[[np.ndarray], float]
) -> float:
    """The baseline's share with the lowest `loss` (validation cross-entropy) on the grid;
    ties go to the smaller share, so a useless baseline gets weight 0."""
    losses = [loss(mix(p_network, p_baseline, w)) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(losses))])


def bits(p_true: np.ndarray) -> float:
    """Bits per character from the probability of each true next character."""
    return float(-np.mean(np.log2(np.maximum(p_true, 1e-300))))


def log_loss_for(y: np.ndarray) -> Callable[[np.ndarray], float]:
    """Binary cross-entropy against labels y, as a function of P(positive)."""
    truth = np.asarray(y, dtype=np.float64)

    def loss(p: np.ndarray) -> float:
        q = np.clip(p, 1e-7, 1 - 1e-7)
        return float(-np.mean(truth * np.log(q) + (1 - truth) * np.log(1 - q)))

    return loss
