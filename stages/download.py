"""Stage `download@<dataset>`: fetch a dataset's raw files, or generate a synthetic one.

Every file is checked against the sha256 pinned in params.yaml before it replaces
anything in data/raw/<dataset>/, so a bad mirror, a changed upstream file or an
interrupted transfer can never feed a wrong series to the rest of the pipeline.

Sources are tried in order: the mirror named by $RNN_DATA_MIRROR (a local directory or an
http(s) base URL), then each canonical URL. The mirror comes first because it lets the
study run on machines without internet access (and spares the upstream host).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import requests
from tqdm import tqdm

from stages.core.config.entry import typed
from stages.core.config.schema import validated
from stages.core.config.tasks import Dataset, FileSpec
from stages.core.io import (
    PARAMS_FILE,
    RAW_DIR,
    UNAVAILABLE,
    StageError,
    atomic_path,
    load_params,
    mark_unavailable,
    run_stage,
)

MIRROR_ENV = "RNN_DATA_MIRROR"
TIMEOUT = (10, 60)  # (connect, read) seconds: fail fast on dead hosts, tolerate slow ones
CHUNK_SIZE = 1 << 16
PROGRESS_MIN_BYTES = 1_000_000  # below this a progress bar is just noise
FILE_MODE = 0o644  # mkstemp creates 0600; raw data should be readable like any checkout file


class SourceError(Exception):
    """One source failed; the message is the short reason listed in the final error."""


def mirror_from_env() -> str | None:
    """Read $RNN_DATA_MIRROR at call time (not import time), treating empty as unset."""
    return os.environ.get(MIRROR_ENV) or None


def is_url(location: str) -> bool:
    """Tell an http(s) mirror from a local directory."""
    return location.startswith(("http://", "https://"))


def mirror_source(mirror: str, name: str) -> str:
    """Where the mirror holds `name`: `<mirror>/<name>`, as a URL or a local path."""
    if is_url(mirror):
        return f"{mirror.rstrip('/')}/{quote(name)}"
    return str(Path(mirror).expanduser() / name)


def sources_for(spec: FileSpec, mirror: str | None) -> list[tuple[str, str]]:
    """List (label, location) pairs to try, mirror first, labelled so users see which is which."""
    sources = []
    if mirror:
        location = mirror_source(mirror, spec.name)
        sources.append((f"mirror {location}", location))
    for url in spec.urls or []:
        if url not in (location for _, location in sources):
            sources.append((url, url))
    return sources


def sha256_of(path: Path) -> str:
    """Hash a file in chunks so large archives do not have to fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    """MD5, for upstreams that publish only that (the IMDB archive)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def write_chunks(chunks: Iterable[bytes], out: Path, total: int | None, label: str) -> str:
    """Write chunks to `out` and return their sha256, hashing on the fly (no second read).

    A progress bar goes to stderr only for large or unknown-size transfers, so the
    usual small CSVs keep the log to one line each.
    """
    digest = hashlib.sha256()
    show = total is None or total > PROGRESS_MIN_BYTES
    with (
        open(out, "wb") as fh,
        tqdm(
            total=total,
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=not show,
            leave=False,
        ) as bar,
    ):
        for chunk in chunks:
            if chunk:
                fh.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def read_chunks(path: Path) -> Iterator[bytes]:
    """Stream a local file in chunks (the mirror copy goes through the same hashing writer)."""
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(CHUNK_SIZE), b"")


def copy_local(source: str, out: Path, label: str) -> str:
    """Copy a file from a mirror directory into `out` (a real copy: DVC caches it)."""
    path = Path(source)
    if not path.parent.is_dir():
        raise SourceError(f"mirror directory {path.parent} does not exist")
    if not path.is_file():
        raise SourceError("no such file in mirror directory")
    try:
        return write_chunks(read_chunks(path), out, path.stat().st_size, label)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc


def describe_request_error(exc: requests.RequestException) -> str:
    """Turn a requests exception into the short reason a user can act on."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".strip()
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timed out after {TIMEOUT[0]} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"read timed out after {TIMEOUT[1]} s"
    if isinstance(
        exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return "transfer interrupted"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return "invalid URL"
    text = str(exc)
    if "timed out" in text.lower():  # a stall mid-stream comes wrapped as ConnectionError
        return f"timed out (connect {TIMEOUT[0]} s, read {TIMEOUT[1]} s)"
    if "Connection refused" in text:
        return "connection refused"
    if "NameResolution" in text or "resolve" in text or "not known" in text:
        return "cannot resolve host (no network?)"
    if "Network is unreachable" in text:
        return "network unreachable"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def download_url(url: str, out: Path, label: str) -> str:
    """Stream `url` into `out` and return the sha256 of the bytes received."""
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT) as response:
            response.raise_for_status()
            length = response.headers.get("Content-Length")
            # A compressed transfer's length is not the file's: show an open-ended bar.
            encoded = response.headers.get("Content-Encoding", "identity") != "identity"
            total = int(length) if length and length.isdigit() and not encoded else None
            return write_chunks(response.iter_content(CHUNK_SIZE), out, total, label)
    except requests.RequestException as exc:
        raise SourceError(describe_request_error(exc)) from exc
    except OSError as exc:
        raise SourceError(f"cannot write {out.parent}: {exc.strerror or exc}") from exc


def fetch_source(source: str, out: Path, label: str) -> str:
    """Fetch one source (URL or local path) into `out`; return the sha256 of what arrived."""
    if is_url(source):
        return download_url(source, out, label)
    return copy_local(source, out, label)


def reachable(spec: FileSpec, where: str, mirror: str | None) -> FileSpec:
    """A file needs somewhere to come from: a URL, or the mirror. Checked before any
    network access (the schema checked its form already)."""
    if not spec.urls and not mirror:
        raise StageError(
            f"{PARAMS_FILE}: '{where}.urls' is empty and {MIRROR_ENV} is not set, so there is "
            f"nowhere to get {spec.name} from. Add a URL under '{where}.urls' in conf/ or set "
            f"{MIRROR_ENV} to a directory or base URL holding {spec.name}."
            + (f" How to get it: {spec.how}" if spec.how else "")
        )
    return spec


def failure_message(
    name: str, where: str, failures: list[tuple[str, str]], mismatches: set[str]
) -> str:
    """One line listing every source with its reason, then how to fix it."""
    tried = "; ".join(f"[{i}] {source}: {reason}" for i, (source, reason) in enumerate(failures, 1))
    message = (
        f"could not get {name} ({where}): tried {len(failures)} source(s): {tried}. "
        f"Fix: set {MIRROR_ENV} to a directory or base URL holding {name} "
        f"(e.g. export {MIRROR_ENV}=../shared/datasets), or check the network."
    )
    if len(mismatches) == 1 and all("mismatch" in reason for _, reason in failures):
        message += (
            f" Every source gave sha256 {next(iter(mismatches))}: if the file changed "
            f"upstream on purpose, check it and update '{where}.sha256' in conf/ (then "
            "python -m stages.profile <profile>)."
        )
    return message


def try_sources(
    sources: list[tuple[str, str]], tmp: Path, spec: FileSpec, where: str
) -> tuple[str, str]:
    """Fill `tmp` from the first source whose bytes pass the checksum; return (label, sha256).

    Each attempt overwrites `tmp`, so a rejected source leaves nothing behind it.
    """
    expected = spec.sha256.lower() if spec.sha256 else None
    failures: list[tuple[str, str]] = []
    mismatches: set[str] = set()
    expected_md5 = spec.md5.lower() if spec.md5 else None
    for label, location in sources:
        try:
            got = fetch_source(location, tmp, spec.name)
        except SourceError as exc:
            failures.append((label, str(exc)))
            continue
        if expected_md5 and (md5 := md5_of(tmp)) != expected_md5:
            failures.append((label, f"md5 mismatch: got {md5}, expected {expected_md5}"))
            continue
        if expected is None or got == expected:
            return label, got
        failures.append((label, f"sha256 mismatch: got {got}, expected {expected}"))
        mismatches.add(got)
    raise StageError(failure_message(spec.name, where, failures, mismatches))


def fetch_file(
    spec: FileSpec | dict[str, Any], dest: Path, mirror: str | None, where: str | None = None
) -> str:
    """Put the file described by `spec` at `dest`, verified; return where it came from.

    `mirror` is used as given (None or "" = no mirror); callers read the environment.
    The bytes land in a temp file next to `dest` and are renamed over it only once the
    checksum passes, so a failure never leaves a partial file nor clobbers a good one.
    """
    where = where or "file"
    if not isinstance(spec, FileSpec):
        spec = validated(FileSpec, spec, where)
    spec = reachable(spec, where, mirror)
    expected = spec.sha256.lower() if spec.sha256 else None
    dest = Path(dest)
    if expected and dest.is_file() and sha256_of(dest) == expected:
        return "already present, sha256 ok (skipped)"
    with atomic_path(dest) as tmp:  # also sweeps the temps of a killed earlier run
        label, got = try_sources(sources_for(spec, mirror), tmp, spec, where)
        os.chmod(tmp, FILE_MODE)
        size = tmp.stat().st_size
    if expected is None and not spec.md5:
        print(
            f"warning: {where} has no sha256; {spec.name} from {label} has sha256 {got}. "
            f"Pin it: add 'sha256: {got}' to {where} in conf/.",
            file=sys.stderr,
        )
    check = "sha256 ok" if expected else ("md5 ok" if spec.md5 else "sha256 unpinned")
    return f"from {label} ({size:,} bytes, {check})"


def generate_dataset(name: str, entry: Dataset, raw_dir: Path = RAW_DIR) -> Path:
    """Build a synthetic dataset with stages.datasets.<generate> and write it as CSV."""
    where = f"datasets.{name}"
    generator = entry.generate
    if not generator.isidentifier():
        raise StageError(
            f"{PARAMS_FILE}: '{where}.generate' must name a module in stages/datasets/, "
            f"got {generator!r}."
        )
    module_name = f"stages.datasets.{generator}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the generator itself imports something missing: show the real problem
        raise StageError(
            f"{PARAMS_FILE}: '{where}.generate' names '{generator}', but there is no "
            f"stages/datasets/{generator}.py. Fix the name in conf/ or add the module."
        ) from exc
    if not callable(getattr(module, "generate", None)):
        raise StageError(f"stages/datasets/{generator}.py has no generate(entry) function.")
    frame = module.generate(entry)
    if not isinstance(frame, pd.DataFrame):
        raise StageError(
            f"stages/datasets/{generator}.py: generate() returned {type(frame).__name__}, "
            "expected a pandas DataFrame."
        )
    dest = raw_dir / name / entry.file
    with atomic_path(dest) as tmp:
        frame.to_csv(tmp, index=False)
        os.chmod(tmp, FILE_MODE)
    return dest


def download_dataset(
    name: str, entry: Dataset | dict[str, Any], raw_dir: Path = RAW_DIR, mirror: str | None = None
) -> list[Path]:
    """Produce data/raw/<name>/ from its params entry (a `Dataset`; a mapping is checked
    against the schema first); return the files written or kept.

    `mirror=None` reads $RNN_DATA_MIRROR at call time; pass "" to ignore it.
    """
    where = f"datasets.{name}"
    if mirror is None:
        mirror = mirror_from_env()
    if not isinstance(entry, Dataset):
        entry = validated(Dataset, entry, where)
    raw_dir = Path(raw_dir)
    if entry.generate is not None:
        dest = generate_dataset(name, entry, raw_dir)
        print(f"{dest}: generated by stages.datasets.{entry.generate}")
        return [dest]
    if entry.any_of:
        return download_any_of(name, entry, raw_dir, mirror)
    written = []
    for index, spec in enumerate(entry.files):  # reject any bad item before fetching anything
        reachable(spec, f"{where}.files[{index}]", mirror)
    (raw_dir / name / UNAVAILABLE).unlink(missing_ok=True)
    for index, spec in enumerate(entry.files):
        dest = raw_dir / name / spec.name
        try:
            origin = fetch_file(spec, dest, mirror, where=f"{where}.files[{index}]")
        except StageError as exc:
            if not entry.optional:
                raise
            return skip_optional(name, raw_dir, str(exc))
        print(f"{dest}: {origin}")
        written.append(dest)
    return written


def download_any_of(name: str, entry: Dataset, raw_dir: Path, mirror: str | None) -> list[Path]:
    """`any_of: true`: the files are alternatives (e.g. the canonical archive or a repack
    of its labelled part); the first one that arrives verified is enough."""
    where = f"datasets.{name}"
    errors = []
    for index, spec in enumerate(entry.files):
        at = f"{where}.files[{index}]"
        try:
            dest = raw_dir / name / spec.name
            origin = fetch_file(spec, dest, mirror, where=at)
        except StageError as exc:
            errors.append(str(exc))
            continue
        print(f"{dest}: {origin}")
        return [dest]
    reason = f"none of the {len(errors)} alternatives arrived: " + " | ".join(errors)
    if entry.optional:
        return skip_optional(name, raw_dir, reason)
    raise StageError(reason)


def skip_optional(name: str, raw_dir: Path, reason: str) -> list[Path]:
    """An optional dataset that cannot be fetched: mark it, say so in one line, go on."""
    mark_unavailable(raw_dir / name, reason)
    print(
        f"download {name}: UNAVAILABLE, its study is skipped (no metrics are written). "
        f"To run it, make the file reachable, then `dvc repro -f download@{name}`. {reason}"
    )
    return []


def main(argv: list[str]) -> None:
    """CLI: python -m stages.download <dataset>."""
    if len(argv) != 1:
        raise StageError("usage: python -m stages.download <dataset> (a key under 'datasets').")
    name = argv[0]
    entry = typed(load_params(), "datasets", name)  # schema-checked before any download
    download_dataset(name, entry)


if __name__ == "__main__":
    run_stage(main)
