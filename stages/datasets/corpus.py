"""Labelled text corpora: one document per file, its label given by its folder.

IMDB is one such corpus (aclImdb/{train,test}/{neg,pos}/*.txt); this reader is general so
that any other sentiment corpus reaches prepare_text / train_text / evaluate_text through
params only. text_tasks.<task> keys read here:

    classes         {folder: label}, labels 0 or 1 (the models have one sigmoid output)
    root            the folder inside the archive that holds the corpus ("" = the top)
    file            which archive (or folder) of data/raw/<dataset>/ to read; default: the
                    only archive there, else data/raw/<dataset>/ itself as a folder
    encoding        of the documents (default utf-8)
    test_fraction   only without train/ and test/ folders: a seeded share of each label's
                    documents held out for test (default 0.2)

Layouts: root/train/<class>/* and root/test/<class>/* (IMDB), or root/<class>/* with the
test part drawn here. Only files directly in a class folder count; hidden ones are skipped.
"""

from __future__ import annotations

import codecs
import posixpath
import tarfile
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from stages.core.io import PARAMS_FILE, StageError

ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")
SPLIT_DIRS = ("train", "test")
TEST_FRACTION = 0.2
TEST_STREAM = 1  # the test draw's own random stream, apart from the validation draw
Found = dict[tuple[str, str], list[tuple[str, bytes]]]


def is_archive(path: Path) -> bool:
    """An archive the reader can open, by its name (tar, any compression, or zip)."""
    return path.is_file() and path.name.lower().endswith(ARCHIVES)


def find_source(raw: Path, cfg: dict, where: str) -> Path:
    """The archive or folder to read: `file` if given, else the one archive in `raw`,
    else `raw` itself (a corpus put there already extracted)."""
    dataset = cfg.get("dataset")
    if cfg.get("file"):
        path = raw / str(cfg["file"])
        if not path.exists():
            raise StageError(
                f"{path}: not found ({PARAMS_FILE}: {where}.file). Fix the name or run "
                f"`dvc repro download@{dataset}`."
            )
        if path.is_file() and not is_archive(path):
            raise StageError(
                f"{path}: not an archive ({', '.join(ARCHIVES)}) nor a folder. Point "
                f"{where}.file at the corpus archive or folder."
            )
        return path
    if not raw.is_dir():
        raise StageError(
            f"{raw}: not found. Run `dvc repro download@{dataset}` or put the corpus there."
        )
    archives = sorted(p for p in raw.iterdir() if is_archive(p))
    if len(archives) > 1:
        names = ", ".join(p.name for p in archives)
        raise StageError(f"{raw}: several archives ({names}). Set {where}.file to the one to read.")
    if archives:
        return archives[0]
    if any(p.is_dir() for p in raw.iterdir()):
        return raw
    raise StageError(
        f"{raw}: no archive ({', '.join(ARCHIVES)}) and no folder of documents. Run "
        f"`dvc repro download@{dataset}`, or put the corpus there and set {where}.file."
    )


def check_classes(classes: Any, where: str) -> dict[str, int]:
    """{folder: 0 or 1} with both labels present: the heads are one sigmoid unit."""
    example = "e.g. {neg: 0, pos: 1}"
    if not isinstance(classes, dict) or not classes:
        raise StageError(
            f"{PARAMS_FILE}: {where}.classes must map each class folder to its label, "
            f"{example}; got {classes!r}."
        )
    out = {}
    for name, label in classes.items():
        folder = str(name) if isinstance(name, int) and not isinstance(name, bool) else name
        if not isinstance(folder, str) or not folder or "/" in folder or folder in (".", ".."):
            raise StageError(
                f"{PARAMS_FILE}: {where}.classes: {name!r} is not a folder name. Quote it "
                f"(YAML reads yes/no/true as booleans), {example}."
            )
        if isinstance(label, bool) or not isinstance(label, int) or label not in (0, 1):
            raise StageError(
                f"{PARAMS_FILE}: {where}.classes.{folder} is {label!r}; labels must be 0 or 1 "
                "(the models have one sigmoid output). Map every class folder to 0 or 1."
            )
        out[folder] = label
    if set(out.values()) != {0, 1}:
        raise StageError(
            f"{PARAMS_FILE}: {where}.classes needs a folder labelled 0 and one labelled 1, "
            f"{example}; got {classes!r}."
        )
    return out


def check_encoding(encoding: Any, where: str) -> str:
    """A codec Python knows, checked before any document is read."""
    try:
        codecs.lookup(str(encoding))
    except LookupError as exc:
        raise StageError(
            f"{PARAMS_FILE}: {where}.encoding {encoding!r} is not a known text encoding. "
            "Use e.g. utf-8, latin-1 or cp1252."
        ) from exc
    return str(encoding)


def members(source: Path) -> Iterator[tuple[str, Callable[[], bytes] | None]]:
    """(path inside the corpus, reader of its bytes) for every regular file, and (path,
    None) for every folder (an empty one holds no file that would name it), in the
    archive's order; paths are '/'-separated without a leading './'."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() or path.is_dir():
                read = path.read_bytes if path.is_file() else None
                yield path.relative_to(source).as_posix(), read
    elif source.name.lower().endswith(".zip"):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                read = None if info.is_dir() else partial(archive.read, info)
                yield info.filename, read
    else:
        with tarfile.open(source, "r:*") as archive:
            for member in archive:
                if member.isfile():
                    yield member.name, partial(read_member, archive, member)
                elif member.isdir():
                    yield member.name, None
            drain(archive)


def drain(archive: tarfile.TarFile) -> None:
    """Read the compressed stream to its end: tarfile takes a run of corrupt (e.g. zeroed)
    bytes for the end-of-archive marker and stops quietly, while gzip / bz2 / xz check
    their CRC only at the very end, so this turns silent loss of documents into an error."""
    while archive.fileobj.read(1 << 20):
        pass


def read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """The bytes of one regular file of a tar archive."""
    return archive.extractfile(member).read()


def gather(source: Path, root: str, classes: dict[str, int]) -> tuple[Found, dict[str, set]]:
    """The bytes of every file in root/<class>/ and root/{train,test}/<class>/, keyed by
    (split folder or "", class), and every folder's sub-folders (for the error messages).
    One pass, so a .tar.gz is decompressed once."""
    prefix = f"{root}/" if root else ""
    found: Found = defaultdict(list)
    folders: dict[str, set] = defaultdict(set)
    for name, read in members(source):
        parts = posixpath.normpath(name).lstrip("/").split("/")
        if parts == ["."]:
            continue
        for depth in range(len(parts) - (read is not None)):  # a folder names itself too
            folders["/".join(parts[:depth])].add(parts[depth])
        if read is None:
            continue
        path = "/".join(parts)
        rel = path[len(prefix) :].split("/") if path.startswith(prefix) else []
        if not rel or rel[-1].startswith("."):
            continue
        if len(rel) == 2 and rel[0] in classes:
            found[("", rel[0])].append((rel[1], read()))
        elif len(rel) == 3 and rel[0] in SPLIT_DIRS and rel[1] in classes:
            found[(rel[0], rel[1])].append((rel[2], read()))
    return found, folders


def listing(names: set) -> str:
    """Folder names for an error message, capped so a huge tree stays one line."""
    shown = sorted(names)
    more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
    return ", ".join(f"{n}/" for n in shown[:20]) + more if shown else "no folders"


def check_layout(
    source: Path, root: str, classes: dict, found: Found, folders: dict, where: str
) -> tuple[str, ...]:
    """The split folders the corpus has: ("train", "test") or ("",) for root/<class>/;
    every class must have documents in each."""
    at = f"{root}/" if root else "the top"
    if not folders.get(root):
        parent = posixpath.dirname(root)
        raise StageError(
            f"{source}: no folders under {at}; {parent + '/' if parent else 'the top'} holds "
            f"{listing(folders.get(parent, set()))}. Set {where}.root to the folder that holds "
            "the class folders (or train/ and test/); empty means the top."
        )
    has = folders[root] & set(SPLIT_DIRS)
    splits = SPLIT_DIRS if has else ("",)
    for split in splits:
        base = posixpath.join(root, split) if split else root
        if split and split not in has:
            raise StageError(
                f"{source}: {root + '/' if root else ''}{split}/ is missing beside "
                f"{next(iter(has))}/. Give the corpus both train/ and test/, or neither "
                "(then test_fraction draws the test part)."
            )
        for name in classes:
            if not found.get((split, name)) and name in folders.get(base, set()):
                raise StageError(
                    f"{source}: {base + '/' if base else ''}{name}/ holds no documents (no "
                    "file in it). Put one file per document in each class folder."
                )
            if not found.get((split, name)):
                raise StageError(
                    f"{source}: no documents in {base + '/' if base else ''}{name}/; the "
                    f"folders there are {listing(folders.get(base, set()))}. Check "
                    f"{where}.classes and {where}.root."
                )
    return splits


def decode(data: bytes, encoding: str, source: Path, path: str, where: str) -> str:
    """One document as text; an undecodable one is named with the key that fixes it."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        where_is = source / path if source.is_dir() else f"{source}: {path}"
        raise StageError(
            f"{where_is} is not {encoding} text ({exc.reason} at byte {exc.start}). "
            f"Set {where}.encoding to the corpus's encoding (e.g. latin-1 or cp1252)."
        ) from exc


def draw_test(labels: np.ndarray, fraction: float, seed: int, where: str) -> np.ndarray:
    """A seeded test share of each label's documents (stratified: the class shares of
    train and test match the corpus'), as a boolean mask."""
    if not 0 < fraction < 1:
        raise StageError(f"{PARAMS_FILE}: {where}.test_fraction must be in (0, 1), got {fraction}.")
    rng = np.random.default_rng([seed, TEST_STREAM])
    test = np.zeros(len(labels), dtype=bool)
    for label in (0, 1):
        rows = np.flatnonzero(labels == label)
        count = round(len(rows) * fraction)
        if not 0 < count < len(rows):
            raise StageError(
                f"{PARAMS_FILE}: {where}.test_fraction {fraction} of the {len(rows)} documents "
                f"labelled {label} leaves no {'test' if count == 0 else 'training'} document. "
                "Change test_fraction or add documents."
            )
        test[rng.permutation(rows)[:count]] = True
    return test


def order(row: tuple) -> tuple:
    """Training documents first, label 1 first, then by class folder and file name: IMDB's
    order since seed 002, and independent of the archive's own order."""
    return (row[0] != "train", -row[1], row[2], row[3])


def documents(
    source: Path, root: str, found: Found, splits: tuple, classes: dict, encoding: str, where: str
) -> list[tuple[str, int, str, str, str]]:
    """(split, label, class, file name, text) of every document of the layout, sorted."""
    rows = []
    for (split, name), docs in found.items():
        if split not in splits:
            continue
        folder = "/".join(filter(None, (root, split, name)))
        for file, data in docs:
            text = decode(data, encoding, source, f"{folder}/{file}", where)
            rows.append((split or "train", classes[name], name, file, text))
    return sorted(rows, key=order)


def read_corpus(raw: Path, cfg: dict, seed: int, where: str) -> dict[str, list]:
    """Texts, labels and split names ("train" / "test") of a corpus, sorted so the
    order does not depend on the archive: training first, label 1 first, then by
    class folder and file name."""
    classes = check_classes(cfg.get("classes"), where)
    encoding = check_encoding(cfg.get("encoding") or "utf-8", where)
    root = posixpath.normpath(str(cfg.get("root") or "").strip("/") or ".")
    root = "" if root == "." else root
    source = find_source(raw, cfg, where)
    try:
        found, folders = gather(source, root, classes)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise StageError(
            f"{source}: unreadable or truncated archive ({exc}). Delete it and run "
            f"`dvc repro -f download@{cfg.get('dataset')}`."
        ) from exc
    splits = check_layout(source, root, classes, found, folders, where)
    if splits != ("",) and cfg.get("test_fraction") is not None:
        raise StageError(
            f"{PARAMS_FILE}: {where}.test_fraction is set, but {source} has its own train/ "
            "and test/ folders. Remove test_fraction (or the folders)."
        )
    rows = documents(source, root, found, splits, classes, encoding, where)
    if splits == ("",):
        fraction = float(cfg.get("test_fraction") or TEST_FRACTION)
        test = draw_test(np.array([r[1] for r in rows]), fraction, seed, where)
        rows = [("test" if t else "train", *row[1:]) for row, t in zip(rows, test, strict=True)]
        rows.sort(key=order)
    return {
        "split": [r[0] for r in rows],
        "label": [r[1] for r in rows],
        "text": [r[4] for r in rows],
    }
