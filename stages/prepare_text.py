"""Stage `prepare_text@<task>`: raw text to the integer ids the text variants train on.

Writes data/prepared/<task>/: ids.npz and meta.json (plus vocab.txt for word tasks).

- kind `sentiment` (IMDB, or any corpus of one file per document in one folder per label:
  stages/datasets/corpus.py): word ids of every review, the vocabulary ranked on the
  fitted training reviews only, and a split code per review (train / val / test). The
  validation reviews are a seeded `val_fraction` of the training reviews; the test
  reviews (IMDB's 25,000, or a seeded `test_fraction` of a corpus without train/ and
  test/ folders) are only ever read for the final test metrics.
- kind `charlm` (War and Peace): character ids of the training text and of the
  held-out tail (`val_fraction`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stages.core.config.entry import stage_cli
from stages.core.io import (
    PREPARED_DIR,
    RAW_DIR,
    SPLIT_CODES,
    SPLITS,
    StageError,
    atomic_path,
    require,
    save_npz,
    write_json,
)
from stages.datasets import corpus, imdb, warpeace


def split_codes(sources: list[str], val_fraction: float, seed: int) -> np.ndarray:
    """0 train / 1 val / 2 test: a seeded `val_fraction` of the training reviews is val."""
    codes = np.array([SPLIT_CODES[s] for s in sources], dtype=np.int8)
    train = np.flatnonzero(codes == 0)
    picked = np.random.default_rng(seed).permutation(train)[: int(len(train) * val_fraction)]
    codes[picked] = SPLIT_CODES["val"]
    return codes


def prepare_sentiment(task: str, cfg: dict, raw: Path, out: Path, seed: int) -> dict[str, Any]:
    """Tokenise every review, rank words on the fitted reviews, store ids and splits."""
    reviews = corpus.read_corpus(raw, cfg, seed, f"text_tasks.{task}")
    codes = split_codes(reviews["split"], float(cfg.get("val_fraction", 0.2)), seed)
    print(f"prepare {task}: tokenising {len(codes):,} reviews")
    analyze = imdb.analyzer()
    tokens = [analyze(text) for text in reviews["text"]]
    vocab = imdb.build_vocab([t for t, code in zip(tokens, codes, strict=True) if code == 0])
    flat, offsets = imdb.encode(tokens, vocab)
    save_npz(
        out / "ids.npz",
        flat=flat,
        offsets=offsets,
        label=np.array(reviews["label"], dtype=np.int8),
        split=codes,
    )
    with atomic_path(out / "vocab.txt") as tmp:
        tmp.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    counts = {name: int((codes == code).sum()) for name, code in SPLIT_CODES.items()}
    lengths = np.diff(offsets)
    return {
        "kind": "sentiment",
        "reviews": counts,
        "vocab_words": len(vocab),
        "median_words": int(np.median(lengths)),
        "positive_share": {
            name: float(np.mean(np.array(reviews["label"])[codes == code]))
            for name, code in SPLIT_CODES.items()
        },
    }


def prepare_charlm(task: str, cfg: dict, raw: Path, out: Path) -> dict[str, Any]:
    """Character ids of the training, validation and test text (the book in order)."""
    path = raw / require(cfg, "file", f"text_tasks.{task}")
    if not path.is_file():
        raise StageError(f"{path}: not found. Run `dvc repro download@{cfg['dataset']}`.")
    parts = warpeace.split_text(
        warpeace.read_text(path, cfg.get("encoding") or "utf-8", f"text_tasks.{task}.encoding"),
        float(cfg.get("val_fraction", 0.1)),
        float(cfg.get("test_fraction", 0.1)),
    )
    alphabet = warpeace.alphabet_of(parts[0])
    ids, unknown = {}, {}
    for split, text in zip(SPLITS, parts, strict=True):
        ids[split], unknown[split] = warpeace.encode(text, alphabet)
    save_npz(out / "ids.npz", **ids)
    return {
        "kind": "charlm",
        "alphabet": alphabet,
        "chars": {split: len(part) for split, part in ids.items()},
        "chars_outside_alphabet": {s: unknown[s] for s in ("val", "test")},
    }


def prepare_text_task(
    task: str, cfg: dict, seed: int, raw_dir: Path = RAW_DIR, prepared: Path = PREPARED_DIR
) -> dict[str, Any]:
    """Dispatch on `kind` and write meta.json last (its presence means the task is ready)."""
    kind = require(cfg, "kind", f"text_tasks.{task}")
    raw = raw_dir / require(cfg, "dataset", f"text_tasks.{task}")
    out = prepared / task
    if kind == "sentiment":
        meta = prepare_sentiment(task, cfg, raw, out, seed)
    elif kind == "charlm":
        meta = prepare_charlm(task, cfg, raw, out)
    else:
        raise StageError(
            f"params.yaml: text_tasks.{task}.kind {kind!r} is unknown (sentiment or charlm)."
        )
    write_json(out / "meta.json", meta)
    print(f"prepare {task}: {meta.get('reviews') or meta.get('chars')}")
    return meta


if __name__ == "__main__":
    stage_cli(
        "prepare_text",
        "text_tasks",
        lambda task, cfg, params: prepare_text_task(task, cfg, int(params.get("seed", 0))),
    )
