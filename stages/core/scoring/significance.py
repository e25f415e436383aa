"""Does a network really beat the strongest baseline? Paired significance tests and the
over-seeds summary (no TensorFlow here).

A lower test error on one held-out split can be luck: both the network and the baseline are
scored on the *same* targets, so the right question is whether their paired loss difference
is distinguishable from zero. Each task gets the test that fits its dependence structure:

* forecasts: Diebold & Mariano (1995), "Comparing predictive accuracy", JBES 13(3), with the
  small-sample correction of Harvey, Leybourne & Newbold (1997), "Testing the equality of
  prediction mean squared errors", IJF 13(2);
* binary classification: the exact McNemar test (McNemar 1947, Psychometrika 12(2)) on the
  discordant pairs, as recommended for comparing two classifiers on one test set by
  Dietterich (1998), "Approximate statistical tests for comparing supervised classification
  learning algorithms", Neural Computation 10(7);
* character language models: a block bootstrap of the per-character loss difference
  (Künsch 1989, Ann. Statist. 17(3); Carlstein 1986, Ann. Statist. 14(3)), since consecutive
  characters are dependent and an i.i.d. test would overstate significance.

Sign conventions: DM and bootstrap statistics are model minus base losses, so negative means
the model is better; the McNemar statistic is a signed correct-count difference, so positive
means the model is better. `verdict` turns either into "better" / "worse" / "no difference".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05

# Bootstrap index matrices are built in chunks of at most this many entries, so that tiny
# blocks (many blocks) never allocate n_boot x n_blocks integers at once.
_BOOT_CHUNK = 4_000_000


def seed_summary(values: Sequence[float]) -> dict[str, float | list[float]]:
    """Mean, sample std (ddof=1) and a Student-t 95 % interval of the mean over seeds.

    Few seeds (typically 3-5) make the normal 1.96 far too narrow, hence t with n-1 degrees
    of freedom. With a single value there is no spread to report, so only the mean."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, x.size - 1)) * std / math.sqrt(x.size)
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half]}


def _paired(*arrays) -> list[np.ndarray]:
    """The arrays as floats with every position dropped where any of them is NaN (a baseline
    such as seasonal persistence is undefined at the start), so the pairs stay aligned."""
    xs = [np.asarray(a, dtype=float).ravel() for a in arrays]
    if len({x.size for x in xs}) != 1:
        raise ValueError(f"paired arrays differ in length: {[x.size for x in xs]}")
    keep = ~np.any(np.isnan(np.vstack(xs)), axis=0)
    return [x[keep] for x in xs]


def _long_run_variance(d: np.ndarray, horizon: int) -> float:
    """gamma_0 + 2 * sum_{k=1}^{h-1} gamma_k, autocovariances divided by n (DM 1995, eq. 5):
    an h-step forecast error is MA(h-1) under optimality, so only h-1 lags matter. If the
    truncated sum is not positive (possible for h > 1) fall back to gamma_0, the usual
    remedy (Diebold & Mariano 1995, footnote; Harvey et al. 1997, sect. 2)."""
    n = d.size
    c = d - d.mean()
    gamma = [float(c[k:] @ c[: n - k]) / n for k in range(horizon)]
    v = gamma[0] + 2.0 * sum(gamma[1:])
    return v if v > 0 else gamma[0]


def diebold_mariano(actual, pred_model, pred_base, horizon: int = 1) -> tuple[float, float]:
    """Diebold-Mariano test on squared-error loss differentials d = e_model^2 - e_base^2,
    with the Harvey-Leybourne-Newbold small-sample correction and Student t(n-1) p-values
    (HLN 1997 show the raw DM test is badly oversized for small n and h > 1).

    Returns (HLN statistic, two-sided p). Negative statistic: the model has the lower loss.
    Pairs with any NaN are dropped; identical losses give (0.0, 1.0); fewer than two
    usable pairs give (nan, nan)."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    y, f_model, f_base = _paired(actual, pred_model, pred_base)
    d = (y - f_model) ** 2 - (y - f_base) ** 2
    n = d.size
    if n < 2:
        return math.nan, math.nan
    if not np.any(d):
        return 0.0, 1.0
    horizon = min(horizon, n - 1)
    mean = float(d.mean())
    v = _long_run_variance(d, horizon)
    if v <= 0:  # d constant and non-zero: the difference is certain
        return math.copysign(math.inf, mean), 0.0
    dm = mean / math.sqrt(v / n)
    hln = dm * math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    p = 2.0 * float(stats.t.sf(abs(hln), n - 1))
    return float(hln), min(p, 1.0)


def mcnemar_exact(y_true, pred_model, pred_base) -> tuple[float, float]:
    """Exact McNemar test: only the pairs where exactly one of the two classifiers is right
    carry information, and under H0 each is equally likely to favour either one, so the
    count is Binomial(b + c, 1/2) (Dietterich 1998 recommends the test for this setting).

    pred_* are 0/1 labels. Returns (model-right-base-wrong minus model-wrong-base-right,
    exact two-sided p): a positive statistic means the model is better. Unlike statsmodels'
    own statistic (min(b, c)) the sign says who wins. No discordant pairs give (0.0, 1.0)."""
    from statsmodels.stats.contingency_tables import mcnemar

    y, m, b = _paired(y_true, pred_model, pred_base)
    model_ok = m == y
    base_ok = b == y
    table = [
        [int(np.sum(model_ok & base_ok)), int(np.sum(model_ok & ~base_ok))],
        [int(np.sum(~model_ok & base_ok)), int(np.sum(~model_ok & ~base_ok))],
    ]
    wins, losses = table[0][1], table[1][0]
    if wins + losses == 0:
        return 0.0, 1.0
    p = float(mcnemar(table, exact=True).pvalue)
    return float(wins - losses), min(p, 1.0)


def _block_sums(d: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block sums and lengths of non-overlapping blocks of `block` items. The ragged
    tail is KEPT as a last, shorter block (not dropped), so every held-out character counts
    and the observed statistic equals the mean loss difference the report quotes."""
    starts = np.arange(0, d.size, block)
    sums = np.add.reduceat(d, starts)
    lengths = np.diff(np.append(starts, d.size)).astype(float)
    return sums, lengths


def block_bootstrap(
    loss_model, loss_base, block: int, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Paired non-overlapping block bootstrap (Carlstein 1986; Künsch 1989) of the mean loss
    difference d = loss_model - loss_base, e.g. per-character bits of two character LMs.

    Consecutive characters are dependent, so whole contiguous blocks are resampled with
    replacement (as many as there are blocks); each resample's mean is sum of block sums
    over sum of block lengths, which stays exact with the shorter tail block. The test
    centres the differences (d - mean(d)) to impose H0 (Hall & Wilson 1991, Biometrics
    47(2)) and counts resampled means at least as extreme as the observed one, with the +1
    correction (Davison & Hinkley 1997, ch. 4): p = (count + 1) / (n_boot + 1), so never 0.

    Returns (observed mean difference, two-sided p); negative means the model is better.
    NaN pairs are dropped. Deterministic for a given seed (numpy Generator)."""
    if block < 1 or n_boot < 1:
        raise ValueError(f"block and n_boot must be >= 1, got {block}, {n_boot}")
    m, b = _paired(loss_model, loss_base)
    d = m - b
    sums, lengths = _block_sums(d, block)
    if sums.size < 2:
        raise ValueError(f"{d.size} items make fewer than 2 blocks of {block}: nothing to resample")
    observed = float(d.mean())
    centred = sums - lengths * observed
    rng = np.random.default_rng(seed)
    k = sums.size
    rows = max(1, _BOOT_CHUNK // k)
    extreme = 0
    done = 0
    while done < n_boot:
        todo = min(rows, n_boot - done)
        idx = rng.integers(0, k, size=(todo, k))
        boot = centred[idx].sum(axis=1) / lengths[idx].sum(axis=1)
        extreme += int(np.sum(np.abs(boot) >= abs(observed)))
        done += todo
    return observed, (extreme + 1) / (n_boot + 1)


def verdict(
    statistic: float, p_value: float, lower_is_better_stat: bool = True, alpha: float = ALPHA
) -> str:
    """ "better" / "worse" when significant at alpha (p < alpha), the statistic's sign saying
    which; otherwise (or for NaN) "no difference". DM and bootstrap statistics are loss
    differences (lower_is_better_stat=True: negative = model better); the McNemar statistic
    is a correct-count difference (lower_is_better_stat=False: positive = model better)."""
    if not (p_value < alpha) or math.isnan(statistic) or statistic == 0:
        return "no difference"
    model_better = (statistic < 0) if lower_is_better_stat else (statistic > 0)
    return "better" if model_better else "worse"


def _labels(x) -> np.ndarray:
    """0/1 labels, thresholding probabilities at 0.5 (>=, as stages/core/scoring/metrics.py does);
    labels already 0/1 pass through unchanged. NaN stays NaN so the pair is dropped."""
    a = np.asarray(x, dtype=float)
    return np.where(np.isnan(a), np.nan, (a >= 0.5).astype(float))


def compare(kind: str, **arrays) -> dict:
    """One entry point per task kind, returning plain (JSON-serialisable) Python values:
    "forecast" (actual, pred_model, pred_base[, horizon]) -> Diebold-Mariano-HLN;
    "classification" (y_true, pred_model, pred_base: labels or P(positive)) -> exact McNemar;
    "charlm" (loss_model, loss_base per character, block[, n_boot, seed]) -> block bootstrap.
    """
    if kind == "forecast":
        test, lower_better = "diebold_mariano_hln", True
        stat, p = diebold_mariano(
            arrays["actual"],
            arrays["pred_model"],
            arrays["pred_base"],
            horizon=int(arrays.get("horizon", 1)),
        )
    elif kind == "classification":
        test, lower_better = "mcnemar_exact", False
        stat, p = mcnemar_exact(
            _labels(arrays["y_true"]), _labels(arrays["pred_model"]), _labels(arrays["pred_base"])
        )
    elif kind == "charlm":
        test, lower_better = "block_bootstrap", True
        stat, p = block_bootstrap(
            arrays["loss_model"],
            arrays["loss_base"],
            block=int(arrays["block"]),
            n_boot=int(arrays.get("n_boot", 2000)),
            seed=int(arrays.get("seed", 0)),
        )
    else:
        raise ValueError(f"unknown comparison kind {kind!r}")
    return {
        "test": test,
        "statistic": float(stat),
        "p_value": float(p),
        "verdict": verdict(stat, p, lower_is_better_stat=lower_better),
    }
