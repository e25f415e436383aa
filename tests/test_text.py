"""Text tasks: IMDB tokenisation and splits, encoding knobs, n-gram baselines, resume."""

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages.common import StageError
from stages.datasets import imdb, warpeace
from stages.download import download_dataset
from stages.prepare_text import SPLIT_CODES, prepare_text_task

ROOT = Path(__file__).resolve().parents[1]

REVIEWS = {
    ("train", "pos"): ["A great film, great acting.<br />Loved it", "great fun", "good good"],
    ("train", "neg"): ["A dull film", "dull and boring", "bad bad film"],
    ("test", "pos"): ["great zebra", "wonderful film"],
    ("test", "neg"): ["boring zebra", "awful"],
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
    cfg = {"kind": "sentiment", "dataset": "imdb", "val_fraction": 0.34}
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
    seqs = imdb.sequences(ids["flat"], ids["offsets"], test_rows, 10_000, 5)
    assert (seqs == imdb.OOV).any()  # zebra / wonderful / awful are out of vocabulary


def sorted_texts(key):
    """Reviews in read_reviews' order within one folder (by file name)."""
    return [REVIEWS[key][i] for i in sorted(range(len(REVIEWS[key])), key=lambda i: f"{i}_7.txt")]


def test_encoding_knobs_match_keras():
    from keras.utils import pad_sequences

    flat = np.array([5, 2, 9, 3, 7, 4, 12], dtype=np.int32)
    offsets = np.array([0, 4, 7])
    rows = np.array([0, 1])
    got = imdb.sequences(flat, offsets, rows, vocab_size=8, maxlen=3, skip_top=1)
    # ids >= 8 -> OOV; rank 1 (id 2) skipped -> OOV; then pre-truncate / pre-pad
    expected = pad_sequences([[5, 1, 1, 3], [7, 4, 1]], maxlen=3)
    assert (got == expected).all()
    got = imdb.sequences(flat, offsets, rows, 100, 5, reverse=True, padding="post")
    expected = pad_sequences([[3, 9, 2, 5], [12, 4, 7]], maxlen=5, padding="post")
    assert (got == expected).all()
    got = imdb.sequences(flat, offsets, rows, 100, 2, truncating="post")
    assert (got == pad_sequences([[5, 2, 9, 3], [7, 4, 12]], maxlen=2, truncating="post")).all()
    with pytest.raises(StageError, match="padding"):
        imdb.sequences(flat, offsets, rows, 100, 2, padding="middle")


def test_an_archive_without_reviews_is_refused(tmp_path):
    raw = tmp_path / "raw" / "imdb"
    raw.mkdir(parents=True)
    make_archive(raw / "x.tar.gz", top="other")
    with pytest.raises(StageError, match="aclImdb/train"):
        prepare_text_task("imdb", {"kind": "sentiment", "dataset": "imdb"}, 0, tmp_path / "raw")


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
    train, val = warpeace.split_text("abcabcabcd", 0.2)
    assert (train, val) == ("abcabcab", "cd")
    alphabet = warpeace.alphabet_of(train)
    assert alphabet == ["a", "b", "c"]  # by frequency, ties by code point
    ids, unknown = warpeace.encode(val, alphabet)
    assert unknown == 1 and ids.tolist() == [2, 2]  # 'd' -> the rarest training character
    x, y = warpeace.chunks(np.arange(11), 3)
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
        model = warpeace.NGram(train, order, 5)
        ctx = model.contexts(train, held)
        total = sum(model.prob(ctx, np.full(len(held), w)) for w in range(5))
        assert np.allclose(total, 1.0)
        bits[order] = model.score(train, held)["bits_per_char"]
    assert bits[1] > bits[2] > bits[3] >= bits[5]
    counts = np.bincount(train, minlength=5)
    uni = warpeace.NGram(train, 1, 5, discount=0.0)
    p4 = uni.prob([np.zeros(1, dtype=np.int64)], np.array([4]))[0]
    assert np.isclose(p4, counts[4] / len(train))  # no discount: the relative frequency


def write_text_project(root: Path, epochs: int) -> dict:
    """A minimal project folder: params.yaml and a prepared book-like text."""
    rng = np.random.default_rng(1)
    words = ["the ", "prince ", "said ", "natasha ", "war ", "and ", "peace ", ".\n"]
    book = "".join(rng.choice(words, 6000))
    raw = root / "data" / "raw" / "book"
    raw.mkdir(parents=True)
    (raw / "book.txt").write_text(book)
    task = {"kind": "charlm", "dataset": "book", "file": "book.txt", "val_fraction": 0.1}
    variant = {
        "task": "book",
        "inputs": {"seq_length": 20},
        "model": {
            "layers": [{"type": "embedding", "output_dim": 4}, {"type": "simple_rnn", "units": 8}],
            "head": {"activation": "softmax"},
            "sequence_output": True,
        },
        "train": {
            "optimizer": "rmsprop",
            "loss": "sparse_categorical_crossentropy",
            "epochs": epochs,
            "batch_size": 64,
            "sample_every": 0,
        },
        "sample": {"seed_text": "the ", "length": 20, "temperatures": [0, 1.0]},
    }
    params = {"seed": 3, "text_tasks": {"book": task}, "text_variants": {"book-rnn": variant}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    prepare_text_task("book", task, 3, root / "data" / "raw", root / "data" / "prepared")
    return params


SHARED = Path(os.environ.get("RNN_DATA_MIRROR") or ROOT.parent / "shared" / "datasets")
SMOKE_CHAR = "warpeace-char_simple_rnn"


def smoke_char_project(root: Path, epochs: int) -> None:
    """The smoke profile's character variant on the real book, with more epochs to kill."""
    from stages.profile import compose

    overrides = [f"text_variants.{SMOKE_CHAR}.train.epochs={epochs}"]
    root.mkdir(parents=True)
    compose("smoke", overrides, output=root / "params.yaml")
    params = yaml.safe_load((root / "params.yaml").read_text())
    raw = root / "data" / "raw" / "warpeace"
    raw.mkdir(parents=True)
    (raw / "warpeace_input.txt").write_bytes((SHARED / "warpeace_input.txt").read_bytes())
    task = params["text_tasks"]["warpeace"]
    prepare_text_task("warpeace", task, 42, root / "data" / "raw", root / "data" / "prepared")


def run_stage(root: Path, env: dict, variant: str) -> subprocess.Popen:
    """`python -m stages.train_text <variant>` in `root`, output to train.log (a pipe
    nobody reads would fill up and stall the child)."""
    with open(root / "train.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "stages.train_text", variant],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def output(proc: subprocess.Popen, root: Path, timeout: float) -> str:
    proc.wait(timeout=timeout)
    return (root / "train.log").read_text()


def final_outputs(root: Path) -> tuple[dict, dict]:
    live = root / "metrics" / "train" / "warpeace" / SMOKE_CHAR
    preds = dict(np.load(root / "models" / "warpeace" / SMOKE_CHAR / "predictions.npz"))
    return json.loads((live / "metrics.json").read_text()), preds


@pytest.mark.skipif(
    not (SHARED / "warpeace_input.txt").exists(), reason="needs the book in RNN_DATA_MIRROR"
)
def test_smoke_char_training_killed_with_sigkill_resumes_from_its_checkpoint(tmp_path):
    epochs = 6
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    for root in (killed, whole):
        smoke_char_project(root, epochs)
    state = killed / "checkpoints" / "warpeace" / SMOKE_CHAR / "state.json"
    proc = run_stage(killed, env, SMOKE_CHAR)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 2 <= done < epochs
    assert not (killed / "models" / "warpeace" / SMOKE_CHAR / "predictions.npz").exists()
    resumed = run_stage(killed, env, SMOKE_CHAR)
    out = output(resumed, killed, timeout=900)
    assert resumed.returncode == 0, out
    assert f"resuming from checkpoints/warpeace/{SMOKE_CHAR} after epoch {done}" in out
    assert f"Epoch {done + 1}/{epochs}" in out and "Epoch 1/" not in out
    final = json.loads(state.read_text())
    assert final["epoch"] == epochs and len(final["logs"]) == epochs
    live = killed / "metrics" / "train" / "warpeace" / SMOKE_CHAR
    curve = (live / "plots" / "metrics" / "train" / "loss.tsv").read_text().splitlines()
    assert len(curve) == epochs + 1  # header + one row per epoch, before and after the kill
    uninterrupted = run_stage(whole, env, SMOKE_CHAR)
    out = output(uninterrupted, whole, timeout=900)
    assert uninterrupted.returncode == 0, out
    (summary, preds), (ref_summary, ref_preds) = final_outputs(killed), final_outputs(whole)
    assert set(summary) == set(ref_summary) and summary["epochs_run"] == epochs
    assert {k: v.shape for k, v in preds.items()} == {k: v.shape for k, v in ref_preds.items()}
    bits, ref_bits = -preds["log2p"].mean(), -ref_preds["log2p"].mean()
    assert abs(bits - ref_bits) < 0.1 * ref_bits  # same quality, not the same random draws


def test_a_checkpoint_for_other_params_is_not_resumed(tmp_path):
    params = write_text_project(tmp_path, 2)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = run_stage(tmp_path, env, "book-rnn")
    assert first.wait(timeout=600) == 0
    params["text_variants"]["book-rnn"]["train"]["learning_rate"] = 0.01
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    second = run_stage(tmp_path, env, "book-rnn")
    out = output(second, tmp_path, timeout=600)
    assert second.returncode == 0, out
    assert "checkpoint from other params or data, starting over" in out
    assert "Epoch 1/2" in out
