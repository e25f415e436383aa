"""IMDB Large Movie Review Dataset: raw review text to word ids (seeds 002 and 004).

The seeds used `keras.datasets.imdb`, whose word ranks were counted over all 50,000
reviews, test set included. Here the ranks come from the training reviews that are
actually fitted (the validation slice and the test set never contribute), and every
knob of `imdb.load_data` / `pad_sequences` is a per-variant param applied to the ids:

    ids: 0 = padding, 1 = out of vocabulary, rank r (1 = most frequent word) -> r + 1
    vocab_size V keeps ids < V (Keras `num_words`); skip_top N maps the N most frequent
    words to 1 (Keras `skip_top`); maxlen / padding / truncating as `pad_sequences`
    (both "pre" by default, as in Keras); reverse flips each review first (seed 002).

Tokeniser: scikit-learn's CountVectorizer analyzer (lower-case, `<br />` removed, words
of letters and digits), which is also what the TF-IDF baseline uses, so both see the
same words.
"""

from __future__ import annotations

import re
import tarfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stages.core.io import StageError
from stages.core.windows import OOV

MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/[^/]+\.txt$")


def analyzer() -> Callable[[str], list[str]]:
    """The word tokeniser shared by the RNN vocabulary and the TF-IDF baseline."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        preprocessor=lambda text: text.replace("<br />", " ").lower(),
        token_pattern=r"(?u)\b\w+\b",
    ).build_analyzer()


def find_archive(raw: Path) -> Path:
    """The one archive download@imdb left: the canonical one or the labelled repack."""
    found = sorted(raw.glob("*.tar.gz"))
    if not found:
        raise StageError(
            f"{raw}: no *.tar.gz archive of the IMDB reviews. Run `dvc repro download@imdb`."
        )
    return found[0]


def read_reviews(archive: Path) -> dict[str, list]:
    """Texts, labels (1 = positive) and split names, in archive-independent sorted order."""
    rows = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                match = MEMBER.search(member.name) if member.isfile() else None
                if match:
                    text = tar.extractfile(member).read().decode("utf-8")
                    rows.append((match[1], Path(member.name).name, int(match[2] == "pos"), text))
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise StageError(
            f"{archive}: unreadable or truncated archive ({exc}). Delete it and run "
            "`dvc repro -f download@imdb`."
        ) from exc
    counts = Counter(split for split, *_ in rows)
    if counts["train"] == 0 or counts["test"] == 0:
        raise StageError(
            f"{archive}: expected aclImdb/train/{{pos,neg}}/*.txt and aclImdb/test/...; found "
            f"{counts['train']} training and {counts['test']} test reviews. Is it the IMDB "
            "archive? Delete it and run `dvc repro -f download@imdb`."
        )
    rows.sort(key=lambda row: (row[0] != "train", -row[2], row[1]))
    return {
        "split": [r[0] for r in rows],
        "label": [r[2] for r in rows],
        "text": [r[3] for r in rows],
    }


def build_vocab(token_lists: list[list[str]]) -> list[str]:
    """Words by falling frequency (ties alphabetical, so the ranks are reproducible)."""
    counts = Counter(word for tokens in token_lists for word in tokens)
    return sorted(counts, key=lambda word: (-counts[word], word))


def encode(token_lists: list[list[str]], vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged ids as (flat ids, offsets); words outside the vocabulary become OOV."""
    index = {word: rank + 2 for rank, word in enumerate(vocab)}
    flat = np.fromiter(
        (index.get(word, OOV) for tokens in token_lists for word in tokens), dtype=np.int32
    )
    offsets = np.cumsum([0, *map(len, token_lists)], dtype=np.int64)
    return flat, offsets


def as_documents(flat: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> list[str]:
    """Reviews as space-separated ids, for the TF-IDF baseline (same words as the RNNs)."""
    return [" ".join(map(str, flat[offsets[r] : offsets[r + 1]])) for r in rows]
