"""The character n-gram baseline of the next-character tasks (War and Peace, seed 004).

Counted on the training text by stages/evaluate_text.py, its order and discount chosen on
the validation text (`text_tasks.<task>.ngram_orders`, `ngram_discounts`).
"""

from __future__ import annotations

import numpy as np

from stages.core.io import StageError


class NGram:
    """Character n-gram model, interpolated absolute discounting (Ney, Essen & Kneser 1994).

    P(w|c) = max(N(c,w) - D, 0) / N(c) + D * T(c) / N(c) * P(w|c'), with c' the context
    minus its oldest character, T(c) the number of distinct characters seen after c, and
    the recursion ending in the uniform distribution. Unseen contexts fall back to c'.
    Counts are sorted int64 codes, so scoring is vectorised (no Python loop per character).

    The tables for context length k do not depend on the order or on D, so one model built
    at the highest order scores every lower order and any discount (`order=`, `discount=`):
    choosing both on validation text (Chen & Goodman 1999) needs the counts only once.
    """

    def __init__(self, train: np.ndarray, order: int, vocab: int, discount: float = 0.75):
        if order < 1 or vocab < 2 or float(vocab) ** order >= 2.0**63:
            raise StageError(f"n-gram order {order} over {vocab} characters: codes overflow.")
        self.order, self.vocab, self.discount = order, vocab, discount
        ids = train.astype(np.int64)
        # per context length k: context codes, N(c), T(c), first pair of c, pair codes, N(c,w)
        self.tables = []
        for k in range(order):
            pair_codes, pair_counts = np.unique(self._codes(ids, k + 1), return_counts=True)
            ctx_codes, start = np.unique(pair_codes // vocab, return_index=True)
            ctx_counts = np.add.reduceat(pair_counts, start)
            distinct = np.diff(np.append(start, len(pair_codes)))
            self.tables.append(
                (
                    ctx_codes,
                    ctx_counts.astype(np.int32),
                    distinct.astype(np.int32),
                    start.astype(np.int64),
                    pair_codes,
                    pair_counts.astype(np.int32),
                )
            )

    def _codes(self, ids: np.ndarray, length: int) -> np.ndarray:
        """Code of every `length`-character run, oldest character most significant."""
        codes = np.zeros(len(ids) - length + 1, dtype=np.int64)
        for j in range(length):
            codes = codes * self.vocab + ids[j : len(ids) - length + 1 + j]
        return codes

    def _settings(self, order: int | None, discount: float | None) -> tuple[int, float]:
        """The order and discount to score with: lower orders reuse the tables; higher
        ones were never counted. D must lie in [0, 1] so every P(.|c) sums to 1."""
        order = self.order if order is None else int(order)
        discount = self.discount if discount is None else float(discount)
        if not 1 <= order <= self.order:
            raise StageError(f"n-gram order {order}: this model was counted up to {self.order}.")
        if not 0 <= discount <= 1:
            raise StageError(f"n-gram discount must be in [0, 1], got {discount}.")
        return order, discount

    @staticmethod
    def _find(keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of each query in the sorted keys, and whether it is there."""
        at = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
        return at, keys[at] == query

    def _context_stats(self, k: int, context: np.ndarray) -> tuple[np.ndarray, ...]:
        """N(c), T(c) (0 for an unseen context) and c's first row in the pair table."""
        ctx_codes, ctx_counts, distinct, start, _, _ = self.tables[k]
        at, found = self._find(ctx_codes, context)
        return np.where(found, ctx_counts[at], 0), np.where(found, distinct[at], 0), start[at]

    def _pair_count(self, k: int, context: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        _, _, _, _, pair_codes, pair_counts = self.tables[k]
        at, found = self._find(pair_codes, context * self.vocab + nxt)
        return np.where(found, pair_counts[at], 0)

    @staticmethod
    def _mix(lower, n_c, t_c, n_cw, discount: float) -> np.ndarray:
        """One step of the recursion; works on vectors and (positions x vocab) matrices."""
        seen = n_c > 0
        safe = np.where(seen, n_c, 1).astype(float)
        mixed = np.maximum(n_cw - discount, 0) / safe + discount * t_c / safe * lower
        return np.where(seen, mixed, lower)

    def _levels(self, contexts: list[np.ndarray], nxt: np.ndarray, order: int):
        """(N(c), T(c), N(c,w)) per context length k < order, for each position."""
        for k in range(order):
            n_c, t_c, _ = self._context_stats(k, contexts[k])
            yield n_c, t_c, self._pair_count(k, contexts[k], nxt)

    def prob(
        self,
        contexts: list[np.ndarray],
        nxt: np.ndarray,
        order: int | None = None,
        discount: float | None = None,
    ) -> np.ndarray:
        """P(next | context) for each position; contexts[k] = code of the last k characters."""
        order, discount = self._settings(order, discount)
        p = np.full(len(nxt), 1.0 / self.vocab)
        for n_c, t_c, n_cw in self._levels(contexts, nxt.astype(np.int64), order):
            p = self._mix(p, n_c, t_c, n_cw, discount)
        return p

    def distribution(
        self, contexts: list[np.ndarray], order: int | None = None, discount: float | None = None
    ) -> np.ndarray:
        """P(w | context) for every w: a (positions x vocab) matrix, rows summing to 1.

        The counts after each context are contiguous in the sorted pair table, so they are
        scattered into the matrix in one step per context length (no loop over w)."""
        order, discount = self._settings(order, discount)
        n = len(contexts[0])
        p = np.full((n, self.vocab), 1.0 / self.vocab)
        for k in range(order):
            n_c, t_c, start = self._context_stats(k, contexts[k])
            rows = np.repeat(np.arange(n), t_c)
            first = np.repeat(start - (np.cumsum(t_c) - t_c), t_c)
            at = first + np.arange(len(rows))
            counts = np.zeros((n, self.vocab))
            counts[rows, self.tables[k][4][at] % self.vocab] = self.tables[k][5][at]
            p = self._mix(p, n_c[:, None], t_c[:, None], counts, discount)
        return p

    def contexts(
        self, history: np.ndarray, ids: np.ndarray, order: int | None = None
    ) -> list[np.ndarray]:
        """Context codes for every position of `ids`, reading back into `history`."""
        order, _ = self._settings(order, None)
        if order - 1 > len(history):
            raise StageError(f"{order}-gram needs {order - 1} characters of history.")
        tail = history[len(history) - (order - 1) :] if order > 1 else history[:0]
        full = np.concatenate([tail, ids]).astype(np.int64)
        pad = len(full) - len(ids)
        out = [np.zeros(len(ids), dtype=np.int64)]
        for k in range(1, order):  # prepend the k-th most recent character
            oldest = full[pad - k : pad - k + len(ids)]
            out.append(oldest * self.vocab ** (k - 1) + out[-1])
        return out

    def log2p(
        self,
        history: np.ndarray,
        ids: np.ndarray,
        order: int | None = None,
        discount: float | None = None,
    ) -> np.ndarray:
        """log2 P(character | its context) at every position of `ids` (history before it):
        the per-character losses that a block bootstrap resamples."""
        order, discount = self._settings(order, discount)
        ctx = self.contexts(history, ids, order)
        return np.log2(self.prob(ctx, ids, order, discount))

    def score(
        self,
        history: np.ndarray,
        ids: np.ndarray,
        order: int | None = None,
        discount: float | None = None,
        chunk: int = 1 << 15,
    ) -> dict[str, float]:
        """Bits per character and next-character accuracy (argmax, first of ties) on `ids`."""
        order, discount = self._settings(order, discount)
        bits = -np.mean(self.log2p(history, ids, order, discount))
        ctx = self.contexts(history, ids, order)
        hits = 0
        for lo in range(0, len(ids), chunk):  # bounded memory: chunk x vocab floats
            part = [c[lo : lo + chunk] for c in ctx]
            best = self.distribution(part, order, discount).argmax(axis=1)
            hits += int(np.sum(best == ids[lo : lo + chunk]))
        return {"bits_per_char": float(bits), "accuracy": hits / max(len(ids), 1)}


def select_ngram(
    train: np.ndarray, val: np.ndarray, vocab: int, orders: list[int], discounts: list[float]
) -> tuple[NGram, int, float, dict[str, float]]:
    """Counts once at max(orders); validation bits/char (history = train) of every order
    and discount; the lowest wins. The recursion over context lengths is shared: each
    length's lookups serve every discount, and each order is a prefix of the recursion."""
    if not orders or not discounts:
        raise StageError("params.yaml: ngram_orders and ngram_discounts must not be empty.")
    model = NGram(train, max(orders), vocab)
    for d in discounts:
        model._settings(None, d)
    ctx = model.contexts(train, val)
    p = {d: np.full(len(val), 1.0 / vocab) for d in discounts}
    table: dict[str, float] = {}
    for k, (n_c, t_c, n_cw) in enumerate(model._levels(ctx, val.astype(np.int64), model.order)):
        for d in discounts:
            p[d] = model._mix(p[d], n_c, t_c, n_cw, d)
            if k + 1 in orders:
                table[f"{k + 1}-gram d={d:g}"] = float(-np.mean(np.log2(p[d])))
    best = min(
        ((o, d) for o in sorted(set(orders)) for d in discounts),
        key=lambda od: table[f"{od[0]}-gram d={od[1]:g}"],
    )
    return model, best[0], best[1], table
