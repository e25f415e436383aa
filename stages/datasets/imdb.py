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
same words. The archive itself is read by stages/datasets/corpus.py (text_tasks.imdb:
root aclImdb, classes {neg: 0, pos: 1}), like any other labelled corpus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from stages.core.data.windows import OOV


def analyzer() -> Callable[[str], list[str]]:
    """The word tokeniser shared by the RNN vocabulary and the TF-IDF baseline."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        preprocessor=lambda text: text.replace("<br />", " ").lower(),
        token_pattern=r"(?u)\b\w+\b",
    ).build_analyzer()


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
