"""Bad input is one clear error naming the file or params key, the problem and the fix
(issue #23, items 1-4, 6, 7), raised before anything is written."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

from stages.core.baselines import nbsvm
from stages.core.io import StageError
from stages.datasets import corpus
from stages.prepare import prepare_task

RISING = "\n".join(f"2000-01-{d:02d},{d}" for d in range(1, 29))


def prepare(tmp_path: Path, csv: str, **cfg) -> Path:
    """prepare@t on a one-column CSV; returns the prepared folder (which must not exist
    when the stage refused the input)."""
    (tmp_path / "raw" / "ds").mkdir(parents=True)
    (tmp_path / "raw" / "ds" / "x.csv").write_text(csv, encoding="utf-8")
    task = {
        "dataset": "ds", "file": "x.csv", "date": "date", "features": ["y"], "target": "y",
        "split": {"val": 0.7, "test": 0.85}, "window": {"lookback": 3}, **cfg,
    }  # fmt: skip
    prepare_task("t", task, tmp_path / "raw", tmp_path / "out")
    return tmp_path / "out" / "t"


def refused(tmp_path: Path, csv: str, **cfg) -> str:
    with pytest.raises(StageError) as err:
        prepare(tmp_path, csv, **cfg)
    assert not (tmp_path / "out").exists()  # nothing half-written
    return str(err.value)


def test_a_look_back_longer_than_the_series_names_the_key(tmp_path):
    message = refused(tmp_path, "date,y\n" + RISING, window={"lookback": 50})
    assert "tasks.t.window.lookback: 50" in message and "needs 51 rows" in message
    assert "the series has 28" in message and "Lower window.lookback in conf/" in message


def test_an_empty_file_is_named_with_the_fix(tmp_path):
    message = refused(tmp_path, "")
    assert "x.csv: the file is empty (0 bytes)" in message and "dvc repro -f download@ds" in message


def test_a_file_of_blank_lines_has_no_header(tmp_path):
    assert "no header and no data rows" in refused(tmp_path, "\n\n\n")


@pytest.mark.parametrize("policy", ["interpolate", "drop", "ffill"])
def test_a_target_that_is_all_missing_is_refused_whatever_the_policy(tmp_path, policy):
    csv = "date,y\n" + "\n".join(f"2000-01-{d:02d}," for d in range(1, 29))
    message = refused(tmp_path, csv, missing={"policy": policy})
    assert "column(s) ['y'] hold no value in any of the 28 rows" in message
    assert "tasks.t.target" in message and "training split is empty" not in message


def test_a_constant_target_is_refused_at_prepare(tmp_path):
    csv = "date,y\n" + "\n".join(f"2000-01-{d:02d},5" for d in range(1, 29))
    message = refused(tmp_path, csv)
    assert "tasks.t.target: 'y' is constant (5) over all 19 training rows" in message


def test_a_varying_series_still_prepares(tmp_path):
    out = prepare(tmp_path, "date,y\n" + RISING)
    assert (out / "meta.json").exists()


@pytest.mark.parametrize("archive", [False, True])
def test_empty_class_folders_are_named_as_empty(tmp_path, archive):
    (tmp_path / "c" / "pos").mkdir(parents=True)
    (tmp_path / "c" / "neg").mkdir()
    raw = tmp_path
    if archive:
        raw = tmp_path / "raw"
        raw.mkdir()
        with tarfile.open(raw / "corpus.tar.gz", "w:gz") as tar:
            tar.add(tmp_path / "c", arcname="c")
    with pytest.raises(StageError, match=r"c/neg/ holds no documents \(no file in it\)"):
        corpus.read_corpus(raw, {"root": "c", "classes": {"neg": 0, "pos": 1}}, 42, "where")


def test_the_nbsvm_log_line_names_the_baseline_not_imdb(capsys):
    docs = ["1 2 3", "1 2", "4 5 6", "4 5", "1 3", "5 6"]
    y = np.array([1, 1, 0, 0, 1, 0])
    spec = {"name": "polarity_nbsvm", "classifier": "lr"}
    nbsvm.nbsvm_probs(docs, y, {"val": docs[:2], "test": docs[2:]}, spec)
    out = capsys.readouterr().out
    assert "baseline polarity_nbsvm (NBSVM, lr)" in out and "imdb" not in out
