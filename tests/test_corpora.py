"""Text corpora through params (#13): any labelled corpus of one file per document, and any
text file for a character model, read by stages/datasets/corpus.py and warpeace.read_text."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from stages.core.io import StageError
from stages.datasets import corpus
from stages.prepare_text import prepare_text_task

CLASSES = {"bad": 0, "good": 1}


def documents(good: int = 30, bad: int = 20) -> dict[str, str]:
    """{path: text} of a small flat corpus: good/<i>.txt and bad/<i>.txt."""
    docs = {f"good/{i:03d}.txt": f"great lovely film number {i}" for i in range(good)}
    docs |= {f"bad/{i:03d}.txt": f"awful boring film number {i}" for i in range(bad)}
    return docs


def write_folder(top: Path, docs: dict[str, str], encoding: str = "utf-8") -> Path:
    for name, text in docs.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(text.encode(encoding))
    return top


def write_tar(path: Path, docs: dict[str, str], prefix: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in docs.items():
            data = text.encode()
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def read(raw: Path, seed: int = 0, **cfg) -> dict[str, list]:
    return corpus.read_corpus(raw, {"dataset": "x", "classes": CLASSES, **cfg}, seed, "t")


def test_flat_tar_and_folder_give_the_same_stratified_seeded_split(tmp_path):
    docs = documents(good=30, bad=20)
    from_tar = read(write_tar(tmp_path / "a" / "c.tar.gz", docs).parent)
    from_dir = read(write_folder(tmp_path / "b", docs))
    assert from_tar == from_dir
    split, label = np.array(from_tar["split"]), np.array(from_tar["label"])
    assert (split == "test").sum() == 10  # 20 % of 30 good and of 20 bad
    assert label[split == "test"].sum() == 6 and label[split == "train"].sum() == 24
    assert list(split) == sorted(split, key=lambda s: s != "train")  # training first
    assert read(tmp_path / "b") == from_dir  # same seed, same split
    other = read(tmp_path / "b", seed=1)
    assert other["split"] != from_dir["split"] or other["text"] != from_dir["text"]
    assert sorted(other["text"]) == sorted(from_dir["text"])
    half = np.array(read(tmp_path / "b", test_fraction=0.5)["split"])
    assert (half == "test").sum() == 25


def test_train_test_layout_and_root(tmp_path):
    docs = {f"{s}/{k}": v for s in ("train", "test") for k, v in documents(4, 3).items()}
    docs["train/unsup/0.txt"] = "no label"  # folders outside `classes` are ignored
    docs["README"] = "about the corpus"
    raw = tmp_path / "raw"
    write_tar(raw / "c.tgz", docs, prefix="./corpus/")
    got = read(raw, root="corpus")
    assert got["split"] == ["train"] * 7 + ["test"] * 7
    assert got["label"][:7] == [1] * 4 + [0] * 3  # label 1 first, then by file name
    assert "no label" not in got["text"]
    with pytest.raises(StageError, match="test_fraction is set"):
        read(raw, root="corpus", test_fraction=0.2)
    with pytest.raises(StageError, match=r"no folders under nope/; the top holds corpus/"):
        read(raw, root="nope")


def test_zip_with_a_root_and_file_picks_the_archive(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with zipfile.ZipFile(raw / "c.zip", "w") as archive:
        for name, text in documents(5, 5).items():
            archive.writestr(f"data/{name}", text)
    write_tar(raw / "other.tar.gz", {"x/y.txt": "z"})
    with pytest.raises(StageError, match=r"several archives \(c.zip, other.tar.gz\).*t.file"):
        read(raw)
    assert len(read(raw, file="c.zip", root="data/")["text"]) == 10


def test_latin1_corpus_needs_its_encoding(tmp_path):
    docs = {"good/1.txt": "très bien, génial", "bad/1.txt": "très mauvais", **documents(4, 4)}
    raw = write_folder(tmp_path / "raw", docs, encoding="latin-1")
    with pytest.raises(StageError, match=r"raw/bad/1.txt is not utf-8 text .*Set t.encoding"):
        read(raw)
    got = read(raw, encoding="latin-1")
    assert "très bien, génial" in got["text"]
    with pytest.raises(StageError, match="t.encoding 'klingon' is not a known"):
        read(raw, encoding="klingon")


@pytest.mark.parametrize(
    ("classes", "match"),
    [
        ({"bad": 0, "good": 2}, r"t.classes.good is 2; labels must be 0 or 1"),
        ({"bad": 0, "good": 0}, "a folder labelled 0 and one labelled 1"),
        ({"bad": 0, "good": True}, "labels must be 0 or 1"),
        (None, "t.classes must map each class folder"),
        ({False: 0, "good": 1}, "is not a folder name"),
    ],
)
def test_classes_must_be_binary_folder_labels(tmp_path, classes, match):
    raw = write_folder(tmp_path / "raw", documents(3, 3))
    with pytest.raises(StageError, match=match):
        corpus.read_corpus(raw, {"classes": classes}, 0, "t")


def test_missing_class_folder_lists_what_is_there(tmp_path):
    raw = write_folder(tmp_path / "raw", documents(3, 3))
    with pytest.raises(StageError, match=r"no documents in neg/; the folders there are bad/, go"):
        corpus.read_corpus(raw, {"classes": {"neg": 0, "good": 1}}, 0, "t")
    docs = {f"train/{k}": v for k, v in documents(3, 3).items()}
    raw2 = write_folder(tmp_path / "raw2", docs)
    with pytest.raises(StageError, match="test/ is missing beside train/"):
        read(raw2)


def test_too_few_documents_for_the_test_fraction(tmp_path):
    raw = write_folder(tmp_path / "raw", documents(2, 2))
    with pytest.raises(StageError, match="t.test_fraction 0.1 of the 2 documents labelled 0"):
        read(raw, test_fraction=0.1)
    with pytest.raises(StageError, match=r"test_fraction must be in \(0, 1\)"):
        read(raw, test_fraction=1.5)


def test_truncated_archive_and_empty_raw_folder(tmp_path):
    raw = tmp_path / "raw"
    whole = write_tar(raw / "c.tar.gz", documents(50, 50)).read_bytes()
    (raw / "c.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(StageError, match=r"unreadable or truncated archive.*download@x"):
        read(raw)
    (raw / "c.tar.gz").unlink()
    with pytest.raises(StageError, match="no archive"):
        read(raw)
    with pytest.raises(StageError, match=r"nope.tar.gz: not found .*t.file"):
        read(raw, file="nope.tar.gz")


def test_prepare_text_on_a_flat_corpus(tmp_path):
    write_tar(tmp_path / "raw" / "mine" / "c.tar.gz", documents(30, 20))
    cfg = {"kind": "sentiment", "dataset": "mine", "classes": CLASSES, "val_fraction": 0.25}
    meta = prepare_text_task("mine", cfg, 3, tmp_path / "raw", tmp_path / "prep")
    assert meta["reviews"] == {"train": 30, "val": 10, "test": 10}
    assert meta["positive_share"]["test"] == 0.6


def test_charlm_reads_any_encoding(tmp_path):
    raw = tmp_path / "raw" / "book"
    raw.mkdir(parents=True)
    (raw / "book.txt").write_bytes(("Élan vital, à la française. " * 40).encode("latin-1"))
    cfg = {"kind": "charlm", "dataset": "book", "file": "book.txt"}
    with pytest.raises(StageError, match=r"book.txt: not utf-8 text .*text_tasks.b.encoding"):
        prepare_text_task("b", cfg, 0, tmp_path / "raw", tmp_path / "prep")
    latin = {**cfg, "encoding": "latin-1"}
    meta = prepare_text_task("b", latin, 0, tmp_path / "raw", tmp_path / "prep2")
    assert "é" in meta["alphabet"] and "à" in meta["alphabet"]
