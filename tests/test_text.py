"""Text tasks: IMDB tokenisation and splits, encoding knobs, n-gram baselines."""

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from stages.core.baselines import ngram
from stages.core.data import windows
from stages.core.io import StageError
from stages.datasets import imdb, warpeace
from stages.download import download_dataset
from stages.prepare_text import SPLIT_CODES, prepare_text_task

REVIEWS = {
    ("train", "pos"): ["A great film, great acting.<br />Loved it", "great fun", "good good"],
    ("train", "neg"): ["A dull film", "dull and boring", "bad bad film"],
    ("test", "pos"): ["great zebra", "wonderful film"],
    ("test", "neg"): ["boring zebra", "awful"],
}

IMDB = {
    "kind": "sentiment",
    "dataset": "imdb",
    "root": "aclImdb",
    "classes": {"neg": 0, "pos": 1},
}


def make_archive(path: Path, top: str = "aclImdb") -> Path:
    """A tiny archive in the aclImdb layout (the unlabelled part left out, like the repack)."""
    with tarfile.open(path, "w:gz") as tar:
        for (split, label), texts in REVIEWS.items():
            for i, text in enumerate(texts):
                data = text.encode()
                info = tarfile.TarInfo(f"{top}/{split}/{label}/{i}_7.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def prepared_imdb(tmp_path):
    raw = tmp_path / "raw" / "imdb"
    raw.mkdir(parents=True)
    make_archive(raw / "aclImdb_labeled.tar.gz")
    cfg = {**IMDB, "val_fraction": 0.34}
    meta = prepare_text_task("imdb", cfg, 0, tmp_path / "raw", tmp_path / "prep")
    ids = dict(np.load(tmp_path / "prep" / "imdb" / "ids.npz"))
    vocab = (tmp_path / "prep" / "imdb" / "vocab.txt").read_text().split()
    return meta, ids, vocab


def test_splits_keep_the_test_reviews_apart(prepared_imdb):
    meta, ids, _ = prepared_imdb
    assert meta["reviews"] == {"train": 4, "val": 2, "test": 4}
    assert (ids["split"][:6] != SPLIT_CODES["test"]).all()  # sorted: training reviews first
    assert (ids["split"][6:] == SPLIT_CODES["test"]).all()


def test_vocabulary_comes_from_the_fitted_reviews_only(prepared_imdb):
    _, ids, vocab = prepared_imdb
    assert "zebra" not in vocab and "wonderful" not in vocab  # test-only words
    fitted = ids["split"] == SPLIT_CODES["train"]
    analyze = imdb.analyzer()
    texts = [t for key in sorted(REVIEWS) if key[0] == "train" for t in REVIEWS[key]]
    assert "br" not in analyze(texts[0]) and "a" in analyze(texts[0])
    fitted_words = set()
    order = [("train", "pos"), ("train", "neg")]  # read_reviews order: train, pos first
    train_texts = [t for key in order for t in sorted_texts(key)]
    for text, keep in zip(train_texts, fitted[:6], strict=True):
        if keep:
            fitted_words |= set(analyze(text))
    assert set(vocab) == fitted_words
    test_rows = np.flatnonzero(ids["split"] == SPLIT_CODES["test"])
    seqs = windows.pad_ids(ids["flat"], ids["offsets"], test_rows, 10_000, 5)
    assert (seqs == windows.OOV).any()  # zebra / wonderful / awful are out of vocabulary


def sorted_texts(key):
    """Reviews in read_reviews' order within one folder (by file name)."""
    return [REVIEWS[key][i] for i in sorted(range(len(REVIEWS[key])), key=lambda i: f"{i}_7.txt")]


def test_encoding_knobs_match_keras():
    from keras.utils import pad_sequences

    flat = np.array([5, 2, 9, 3, 7, 4, 12], dtype=np.int32)
    offsets = np.array([0, 4, 7])
    rows = np.array([0, 1])
    got = windows.pad_ids(flat, offsets, rows, vocab_size=8, maxlen=3, skip_top=1)
    # ids >= 8 -> OOV; rank 1 (id 2) skipped -> OOV; then pre-truncate / pre-pad
    expected = pad_sequences([[5, 1, 1, 3], [7, 4, 1]], maxlen=3)
    assert (got == expected).all()
    got = windows.pad_ids(flat, offsets, rows, 100, 5, reverse=True, padding="post")
    expected = pad_sequences([[3, 9, 2, 5], [12, 4, 7]], maxlen=5, padding="post")
    assert (got == expected).all()
    got = windows.pad_ids(flat, offsets, rows, 100, 2, truncating="post")
    assert (got == pad_sequences([[5, 2, 9, 3], [7, 4, 12]], maxlen=2, truncating="post")).all()
    with pytest.raises(StageError, match="padding"):
        windows.pad_ids(flat, offsets, rows, 100, 2, padding="middle")


def test_an_archive_without_reviews_is_refused(tmp_path):
    raw = tmp_path / "raw" / "imdb"
    raw.mkdir(parents=True)
    make_archive(raw / "x.tar.gz", top="other")
    with pytest.raises(StageError, match="no folders under aclImdb/; the top holds other/"):
        prepare_text_task("imdb", IMDB, 0, tmp_path / "raw")


def test_any_of_takes_the_first_alternative_that_arrives(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = make_archive(mirror / "aclImdb_labeled.tar.gz")
    import hashlib

    entry = {
        "any_of": True,
        "files": [
            {"name": "aclImdb_v1.tar.gz", "md5": "0" * 32, "urls": []},
            {"name": archive.name, "sha256": hashlib.sha256(archive.read_bytes()).hexdigest()},
        ],
    }
    written = download_dataset("imdb", entry, tmp_path / "raw", mirror=str(mirror))
    assert [p.name for p in written] == [archive.name]
    entry["files"][1]["sha256"] = "1" * 64
    with pytest.raises(StageError, match="none of the 2 alternatives"):
        download_dataset("imdb", entry, tmp_path / "raw2", mirror=str(mirror))


def test_md5_is_checked(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.tar.gz").write_bytes(b"abc")
    entry = {"files": [{"name": "a.tar.gz", "md5": "900150983cd24fb0d6963f7d28e17f72"}]}
    assert download_dataset("x", entry, tmp_path / "raw", mirror=str(mirror))
    entry["files"][0]["md5"] = "f" * 32
    with pytest.raises(StageError, match="md5 mismatch"):
        download_dataset("x", entry, tmp_path / "raw2", mirror=str(mirror))


def test_book_split_alphabet_and_chunks():
    train, val, test = warpeace.split_text("abcabcabcabcabcabcdd", 0.1, 0.1)
    assert (train, val, test) == ("abcabcabcabcabca", "bc", "dd")
    alphabet = warpeace.alphabet_of(train)
    assert alphabet == ["a", "b", "c"]  # by frequency, ties by code point
    ids, unknown = warpeace.encode(val + test, alphabet)
    assert unknown == 2 and ids.tolist() == [1, 2, 2, 2]  # 'd' -> the rarest training character
    with pytest.raises(StageError, match="sum to less than 1"):
        warpeace.split_text("abc", 0.5, 0.5)
    x, y = windows.chunks(np.arange(11), 3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert y.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_ngram_is_a_distribution_and_learns_context():
    rng = np.random.default_rng(0)
    text = np.tile(np.array([0, 1, 2, 3, 1, 2, 0]), 200)
    noise = rng.integers(0, 5, 300)
    train = np.concatenate([text, noise])
    held = np.tile(np.array([0, 1, 2, 3, 1, 2, 0]), 20)
    bits = {}
    for order in (1, 2, 3, 5):
        model = ngram.NGram(train, order, 5)
        ctx = model.contexts(train, held)
        total = sum(model.prob(ctx, np.full(len(held), w)) for w in range(5))
        assert np.allclose(total, 1.0)
        bits[order] = model.score(train, held)["bits_per_char"]
    assert bits[1] > bits[2] > bits[3] >= bits[5]
    counts = np.bincount(train, minlength=5)
    uni = ngram.NGram(train, 1, 5, discount=0.0)
    p4 = uni.prob([np.zeros(1, dtype=np.int64)], np.array([4]))[0]
    assert np.isclose(p4, counts[4] / len(train))  # no discount: the relative frequency
