"""War and Peace as character ids (seed 004), and its character n-gram baselines.

The seed reads the file, lower-cases it and maps its 57 distinct characters to ids.
We keep that, but hold out the last `val_fraction` of the text for validation (the seed
had none) and build the alphabet from the training part only: a character that appears
only in the validation text maps to the rarest training character and is counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.core.io import StageError


def read_text(path: Path) -> str:
    """The book as the seed reads it: UTF-8, lower-cased (CRLF kept as in the seed)."""
    try:
        return path.read_text(encoding="utf-8").lower()
    except UnicodeDecodeError as exc:
        raise StageError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}). Delete it and run "
            "`dvc repro -f download@warpeace`."
        ) from exc


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    """Training text, then the held-out tail."""
    if not 0 < val_fraction < 1:
        raise StageError(f"params.yaml: val_fraction must be in (0, 1), got {val_fraction}.")
    cut = int(len(text) * (1 - val_fraction))
    return text[:cut], text[cut:]


def encode(text: str, alphabet: list[str]) -> tuple[np.ndarray, int]:
    """uint8 ids; characters outside the alphabet become id len(alphabet)-1 (counted)."""
    index = {ch: i for i, ch in enumerate(alphabet)}
    fallback = len(alphabet) - 1
    ids = np.fromiter((index.get(ch, fallback) for ch in text), dtype=np.uint8, count=len(text))
    unknown = sum(1 for ch in text if ch not in index)
    return ids, unknown


def alphabet_of(text: str) -> list[str]:
    """Distinct characters by falling frequency, so the fallback id is the rarest one."""
    chars, counts = np.unique(
        np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), return_counts=True
    )
    order = sorted(range(len(chars)), key=lambda i: (-counts[i], int(chars[i])))
    return [chr(int(chars[i])) for i in order]


class NGram:
    """Character n-gram model, interpolated absolute discounting (Ney, Essen & Kneser 1994).

    P(w|c) = max(N(c,w) - D, 0) / N(c) + D * T(c) / N(c) * P(w|c'), with c' the context
    minus its oldest character, T(c) the number of distinct characters seen after c, and
    the recursion ending in the uniform distribution. Unseen contexts fall back to c'.
    Counts are sorted int64 codes, so scoring is vectorised (no Python loop per character).
    """

    def __init__(self, train: np.ndarray, order: int, vocab: int, discount: float = 0.75):
        self.order, self.vocab, self.discount = order, vocab, discount
        ids = train.astype(np.int64)
        self.tables = []  # per context length k: (context codes, N(c), T(c), pair codes, N(c,w))
        for k in range(order):
            pairs = self._codes(ids, k + 1)
            pair_codes, pair_counts = np.unique(pairs, return_counts=True)
            ctx_of_pair = pair_codes // vocab
            ctx_codes, start = np.unique(ctx_of_pair, return_index=True)
            ctx_counts = np.add.reduceat(pair_counts, start)
            distinct = np.diff(np.append(start, len(pair_codes)))
            self.tables.append((ctx_codes, ctx_counts, distinct, pair_codes, pair_counts))

    def _codes(self, ids: np.ndarray, length: int) -> np.ndarray:
        """Code of every `length`-character run, oldest character most significant."""
        codes = np.zeros(len(ids) - length + 1, dtype=np.int64)
        for j in range(length):
            codes = codes * self.vocab + ids[j : len(ids) - length + 1 + j]
        return codes

    @staticmethod
    def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
        return np.where(keys[at] == query, values[at], 0)

    def prob(self, contexts: list[np.ndarray], nxt: np.ndarray) -> np.ndarray:
        """P(next | context) for each position; contexts[k] = code of the last k characters."""
        p = np.full(len(nxt), 1.0 / self.vocab)
        for k in range(self.order):
            ctx_codes, ctx_counts, distinct, pair_codes, pair_counts = self.tables[k]
            n_c = self._lookup(ctx_codes, ctx_counts, contexts[k]).astype(float)
            t_c = self._lookup(ctx_codes, distinct, contexts[k]).astype(float)
            n_cw = self._lookup(pair_codes, pair_counts, contexts[k] * self.vocab + nxt)
            seen = n_c > 0
            safe = np.where(seen, n_c, 1.0)
            mixed = np.maximum(n_cw - self.discount, 0) / safe + self.discount * t_c / safe * p
            p = np.where(seen, mixed, p)
        return p

    def contexts(self, history: np.ndarray, ids: np.ndarray) -> list[np.ndarray]:
        """Context codes for every position of `ids`, reading back into `history`."""
        full = np.concatenate([history[-(self.order - 1) :] if self.order > 1 else [], ids])
        full = full.astype(np.int64)
        pad = len(full) - len(ids)
        out = [np.zeros(len(ids), dtype=np.int64)]
        for k in range(1, self.order):
            codes = np.zeros(len(ids), dtype=np.int64)
            for j in range(k):
                codes = codes * self.vocab + full[pad - k + j : pad - k + j + len(ids)]
            out.append(codes)
        return out

    def score(self, history: np.ndarray, ids: np.ndarray) -> dict[str, float]:
        """Bits per character and next-character accuracy (argmax) on `ids`."""
        if self.order - 1 > len(history):
            raise StageError(f"{self.order}-gram needs {self.order - 1} characters of history.")
        ctx = self.contexts(history, ids)
        p_true = self.prob(ctx, ids.astype(np.int64))
        best_p = np.zeros(len(ids))
        best_w = np.zeros(len(ids), dtype=np.int64)
        for w in range(self.vocab):
            pw = self.prob(ctx, np.full(len(ids), w, dtype=np.int64))
            better = pw > best_p
            best_p, best_w = np.where(better, pw, best_p), np.where(better, w, best_w)
        return {
            "bits_per_char": float(-np.mean(np.log2(p_true))),
            "accuracy": float(np.mean(best_w == ids)),
        }
