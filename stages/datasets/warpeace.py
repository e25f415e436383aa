"""War and Peace as character ids (seed 004); its n-gram baseline is stages/core/baselines/ngram.py.

The seed reads the file, lower-cases it and maps its 57 distinct characters to ids.
We keep that, but hold out the text's last `val_fraction + test_fraction` (the seed had
no held-out text) and build the alphabet from the training part only: a character that
appears only in held-out text maps to the rarest training character and is counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.core.io import StageError


def read_text(path: Path, encoding: str = "utf-8", key: str = "encoding") -> str:
    """The book as the seed reads it: decoded (UTF-8 unless the task's `encoding` says
    otherwise, so any text file can be the corpus), lower-cased, CRLF kept as in the seed."""
    try:
        return path.read_text(encoding=encoding).lower()
    except LookupError as exc:
        raise StageError(
            f"params.yaml: {key} {encoding!r} is not a known text encoding. Use e.g. utf-8, "
            "latin-1 or cp1252."
        ) from exc
    except UnicodeDecodeError as exc:
        raise StageError(
            f"{path}: not {encoding} text ({exc.reason} at byte {exc.start}). Set {key} in "
            "params to the file's encoding (e.g. latin-1 or cp1252); if it was downloaded, "
            "delete it and run `dvc repro -f download@<dataset>`."
        ) from exc


def split_text(text: str, val_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Training text, validation text, test text: the book in that order (Karpathy et al.
    2015 use 80 / 10 / 10). Early stopping reads validation; the table reports test."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise StageError(
            "params.yaml: text_tasks.<task>.val_fraction and test_fraction must each be in "
            f"(0, 1) and sum to less than 1, got {val_fraction} and {test_fraction}."
        )
    val_start = int(len(text) * (1 - val_fraction - test_fraction))
    test_start = int(len(text) * (1 - test_fraction))
    return text[:val_start], text[val_start:test_start], text[test_start:]


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
