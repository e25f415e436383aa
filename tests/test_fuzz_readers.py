"""Property-based tests of the readers (issue #23): any CSV or corpus a user might point a
task at ends either in valid prepared data or in the project's error (StageError, printed
as one `error:` line), never in another exception. Hypothesis draws the files: random
columns, NA markers, dates out of order or duplicated, empty, one row, constant, bytes that
are not UTF-8. The example count is bounded so the fast loop stays fast."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date as day
from datetime import timedelta
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stages.core.io import StageError
from stages.datasets import corpus
from stages.prepare import prepare_task

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # CI: bounded; FUZZ_EXAMPLES=1000 to hunt
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
date_min, date_max = day(1900, 1, 1), day(2100, 1, 1)
NA = ["", "NA", "nan", "-999", "?", "null"]
cell = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: f"{v:g}"),
    st.integers(-5, 5).map(str),
    st.sampled_from(NA),
    st.text(alphabet="abc,;\"' \t", max_size=4),
)
date = st.one_of(
    st.dates().map(str),
    st.sampled_from(["2001-13-01", "yesterday", "", "2001-01-01 25:00"]),
)


@st.composite
def clean_csv(draw) -> bytes:
    """A file that should prepare: unique daily dates in order, numbers, a few NA cells."""
    n = draw(st.integers(20, 60))
    start = draw(st.dates(min_value=date_min, max_value=date_max))
    ys = draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=n, max_size=n))
    holes = set(draw(st.lists(st.integers(1, n - 2), max_size=2)))
    cells = ["" if i in holes else f"{y:g}" for i, y in enumerate(ys)]
    rows = [f"{start + timedelta(days=i)},{c}" for i, c in enumerate(cells)]
    return "\n".join(["date,y", *rows]).encode("utf-8")


@st.composite
def messy_csv(draw) -> bytes:
    """A small CSV (or not quite one): drawn columns, rows of drawn cells, dates sorted or
    shuffled or repeated, sometimes broken bytes."""
    columns = draw(st.sampled_from([["date", "y"], ["date", "y", "x"], ["y"], ["date", "z"]]))
    n = draw(st.integers(0, 30))
    dates = sorted(draw(st.lists(date, min_size=n, max_size=n)))
    if draw(st.booleans()):
        dates = draw(st.permutations(dates))
    if draw(st.booleans()):  # a constant or a rising series, not only noise
        ys = ["5"] * n if draw(st.booleans()) else [str(i) for i in range(n)]
    else:
        ys = draw(st.lists(cell, min_size=n, max_size=n))
    rows = []
    for i in range(n):
        values = {"date": dates[i], "y": ys[i], "x": draw(cell), "z": draw(cell)}
        rows.append(",".join(values[c] for c in columns))
    text = "\n".join([",".join(columns), *rows]) if draw(st.booleans()) or n else ""
    data = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        data += b"\xff\xfe\x80 not utf-8"
    return data


csv_files = st.one_of(clean_csv(), messy_csv())


@st.composite
def task_configs(draw) -> dict:
    return {
        "dataset": "ds",
        "file": "x.csv",
        "date": draw(st.sampled_from(["date", None])),
        "features": ["y"],
        "target": "y",
        "missing": draw(st.sampled_from(["fail", "drop", {"policy": "interpolate"},
                                         {"policy": "ffill"}])),  # fmt: skip
        "split": {"val": 0.6, "test": 0.8},
        "window": {"lookback": draw(st.integers(1, 6)), "horizon": draw(st.integers(1, 2))},
        "transform": {"difference": draw(st.integers(0, 1)), "log": draw(st.booleans())},
    }


@SETTINGS
@given(data=csv_files, cfg=task_configs())
def test_any_csv_prepares_or_is_one_clear_error(data, cfg):
    root = Path(tempfile.mkdtemp())
    try:
        (root / "raw" / "ds").mkdir(parents=True)
        (root / "raw" / "ds" / "x.csv").write_bytes(data)
        try:
            counts = prepare_task("t", cfg, root / "raw", root / "out")
        except StageError as exc:
            assert str(exc).strip() and "\n" not in str(exc), "one line, as run_stage prints it"
            assert not (root / "out" / "t" / "meta.json").exists()
            event("refused")  # --hypothesis-show-statistics: both outcomes are drawn
            return
        event("prepared")
        meta = json.loads((root / "out" / "t" / "meta.json").read_text(encoding="utf-8"))
        assert counts["train"] > 0 and counts["test"] > 0 and meta["target"] == "y"
        for split in ("train", "val", "test"):
            with np.load(root / "out" / "t" / f"{split}.npz") as arrays:
                assert np.isfinite(arrays["x"]).all() and np.isfinite(arrays["y"]).all()
    finally:
        shutil.rmtree(root, ignore_errors=True)


document = st.one_of(
    st.text(max_size=40).map(lambda t: t.encode("utf-8")),
    st.binary(max_size=40),  # often not UTF-8
)


@st.composite
def corpora(draw) -> dict[str, list[bytes]]:
    """{relative folder: documents}: class folders at the top or under train/ and test/,
    some empty, some misnamed; half the time a well-formed pos/neg corpus."""
    splits = draw(st.sampled_from([[""], ["train", "test"], ["train"]]))
    if draw(st.booleans()):
        text = st.text(min_size=1, max_size=40).map(lambda t: t.encode("utf-8"))
        return {
            f"{split}/{name}".strip("/"): draw(st.lists(text, min_size=2, max_size=4))
            for split in splits
            for name in ("pos", "neg")
        }
    names = draw(st.lists(st.sampled_from(["pos", "neg", "Pos", "other"]), max_size=3,
                          unique=True))  # fmt: skip
    return {
        f"{split}/{name}".strip("/"): draw(st.lists(document, max_size=4))
        for split in splits
        for name in names
    }


@SETTINGS
@given(tree=corpora(), test_fraction=st.sampled_from([None, 0.5]))
def test_any_corpus_reads_or_is_one_clear_error(tree, test_fraction):
    root = Path(tempfile.mkdtemp())
    try:
        for folder, docs in tree.items():
            (root / "c" / folder).mkdir(parents=True, exist_ok=True)
            for i, doc in enumerate(docs):
                (root / "c" / folder / f"{i}.txt").write_bytes(doc)
        cfg = {"root": "c", "classes": {"neg": 0, "pos": 1}, "test_fraction": test_fraction}
        try:
            out = corpus.read_corpus(root, cfg, 42, "text_tasks.t")
        except StageError as exc:
            assert str(exc).strip() and "\n" not in str(exc)
            event("refused")
            return
        event("read")
        assert set(out) == {"split", "label", "text"}
        assert len(out["split"]) == len(out["label"]) == len(out["text"]) > 0
        assert set(out["label"]) <= {0, 1} and set(out["split"]) <= {"train", "test"}
    finally:
        shutil.rmtree(root, ignore_errors=True)
