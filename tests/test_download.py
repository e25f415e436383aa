"""The download stage against a real local HTTP server and the verified shared datasets.

No mocks of requests: a ThreadingHTTPServer on 127.0.0.1 serves real files, so status
codes, refused connections and streaming behave as they would against the real hosts.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from stages import download
from stages.core.io import StageError
from tests.data import MIRROR

REPO = Path(__file__).resolve().parents[1]
SHARED = MIRROR
SUNSPOTS = "monthly-sunspots.csv"
SUNSPOTS_SHA = "c4ec8cc57d9f6fb6ecdb3e1f37f25b6f4badd5124c55931052b0cd2fc3bc71f3"
AIRLINE = "airline-passengers.csv"
AIRLINE_SHA = "8cb51be753a718d9be5d76d7e238cc224792754676adc21faa59e954b0201621"
LARGE = "imdb_word_index.json"  # 1.6 MB: above the progress-bar threshold

pytestmark = pytest.mark.skipif(
    not (SHARED / SUNSPOTS).is_file() or not (SHARED / AIRLINE).is_file(),
    reason=f"verified datasets not found in {SHARED} (set RNN_DATA_MIRROR)",
)


class Server:
    """A running local server: its base URL, the folder it serves and the paths requested."""

    def __init__(self, url: str, root: Path, requested: list[str]) -> None:
        self.url = url
        self.root = root
        self.requested = requested


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the caller's mirror or proxy settings from leaking into the tests."""
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Serve tmp/www (the shared files, plus a copy under other/) over real HTTP."""
    root = tmp_path / "www"
    (root / "other").mkdir(parents=True)
    for name in (SUNSPOTS, AIRLINE, LARGE):
        if (SHARED / name).is_file():
            (root / name).symlink_to(SHARED / name)
    (root / "other" / SUNSPOTS).symlink_to(SHARED / SUNSPOTS)
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

        def log_message(self, *args: object) -> None:
            """Keep the test output clean."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", root, requested)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spec(urls: list[str], name: str = SUNSPOTS, sha: str | None = SUNSPOTS_SHA) -> dict:
    """A `files` item as params.yaml spells it."""
    item: dict = {"name": name, "urls": urls}
    if sha is not None:
        item["sha256"] = sha
    return item


def leftovers(folder: Path) -> list[str]:
    """Temp files the atomic writer might have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_http_success(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dest = tmp_path / "raw" / SUNSPOTS
    origin = download.fetch_file(spec([f"{server.url}/{SUNSPOTS}"]), dest, None)
    assert dest.read_bytes() == (SHARED / SUNSPOTS).read_bytes()
    assert download.sha256_of(dest) == SUNSPOTS_SHA
    assert server.url in origin and "sha256 ok" in origin
    assert leftovers(dest.parent) == []
    assert capsys.readouterr().err == ""  # small file: no progress bar, no warning


def test_checksum_mismatch_keeps_existing_file(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "raw" / SUNSPOTS
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"Month,Sunspots\n1749-01,58.0\n")  # an earlier file, not to be clobbered
    before = dest.read_bytes()
    url = f"{server.url}/{AIRLINE}"  # real bytes, wrong file
    with pytest.raises(StageError) as err:
        download.fetch_file(spec([url]), dest, None)
    message = str(err.value)
    assert f"{url}: sha256 mismatch: got {AIRLINE_SHA}, expected {SUNSPOTS_SHA}" in message
    assert "update 'file.sha256' in conf/" in message  # not the generated params.yaml
    assert dest.read_bytes() == before
    assert leftovers(dest.parent) == []


def test_checksum_mismatch_leaves_no_file(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "raw" / SUNSPOTS
    with pytest.raises(StageError, match="sha256 mismatch"):
        download.fetch_file(spec([f"{server.url}/{AIRLINE}"]), dest, None)
    assert list(dest.parent.iterdir()) == []


def test_http_404_is_reported(server: Server, tmp_path: Path) -> None:
    url = f"{server.url}/missing.csv"
    with pytest.raises(StageError) as err:
        download.fetch_file(spec([url]), tmp_path / SUNSPOTS, None)
    assert f"{url}: HTTP 404" in str(err.value)
    assert not (tmp_path / SUNSPOTS).exists()


def test_connection_refused_is_reported(closed_port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}/{SUNSPOTS}"
    with pytest.raises(StageError) as err:
        download.fetch_file(spec([url]), tmp_path / SUNSPOTS, None)
    assert f"{url}: connection refused" in str(err.value)


def test_falls_through_to_next_url(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / SUNSPOTS
    good = f"{server.url}/{SUNSPOTS}"
    origin = download.fetch_file(spec([f"{server.url}/missing.csv", good]), dest, None)
    assert origin.startswith(f"from {good} ")
    assert download.sha256_of(dest) == SUNSPOTS_SHA


def test_mirror_directory_works_offline(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv(download.MIRROR_ENV, os.path.relpath(SHARED, REPO))  # a relative path
    entry = {"files": [spec([f"http://127.0.0.1:{closed_port}/{SUNSPOTS}"])]}
    [dest] = download.download_dataset("sunspots", entry, raw_dir=tmp_path / "raw")
    assert dest == tmp_path / "raw" / "sunspots" / SUNSPOTS
    assert dest.read_bytes() == (SHARED / SUNSPOTS).read_bytes()
    assert not dest.is_symlink()


def test_mirror_url_is_tried_first(server: Server, tmp_path: Path) -> None:
    canonical = f"{server.url}/other/{SUNSPOTS}"
    origin = download.fetch_file(spec([canonical]), tmp_path / SUNSPOTS, server.url + "/")
    assert origin.startswith(f"from mirror {server.url}/{SUNSPOTS} ")
    assert server.requested == [f"/{SUNSPOTS}"]  # the canonical URL was never needed


def test_bad_mirror_falls_through_to_url(server: Server, tmp_path: Path) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    good = f"{server.url}/{SUNSPOTS}"
    origin = download.fetch_file(spec([good]), tmp_path / SUNSPOTS, str(empty))
    assert origin.startswith(f"from {good} ")


def test_existing_good_file_is_skipped(closed_port: int, tmp_path: Path) -> None:
    dest = tmp_path / SUNSPOTS
    dest.write_bytes((SHARED / SUNSPOTS).read_bytes())
    origin = download.fetch_file(spec([f"http://127.0.0.1:{closed_port}/x"]), dest, None)
    assert "skipped" in origin


def test_missing_sha256_warns_with_hash(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    item = spec([f"{server.url}/{AIRLINE}"], name=AIRLINE, sha=None)
    origin = download.fetch_file(item, tmp_path / AIRLINE, None, where="datasets.airline.files[0]")
    assert "unpinned" in origin
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert f"sha256: {AIRLINE_SHA}" in err and "datasets.airline.files[0]" in err
    assert "in conf/" in err  # params.yaml is generated: the pin goes where the user edits


def test_large_file_shows_progress(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if not (SHARED / LARGE).is_file():
        pytest.skip(f"{LARGE} not in {SHARED}")
    item = spec([f"{server.url}/{LARGE}"], name=LARGE, sha=None)
    download.fetch_file(item, tmp_path / LARGE, None)
    err = capsys.readouterr().err
    assert "%|" in err  # tqdm's bar, on stderr
    assert (tmp_path / LARGE).stat().st_size == (SHARED / LARGE).stat().st_size


def test_all_sources_failing_lists_each_and_the_fix(
    server: Server, closed_port: int, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    missing = f"{server.url}/missing.csv"
    refused = f"http://127.0.0.1:{closed_port}/{SUNSPOTS}"
    with pytest.raises(StageError) as err:
        download.fetch_file(spec([missing, refused]), tmp_path / "raw" / SUNSPOTS, str(empty))
    message = str(err.value)
    assert f"mirror {empty / SUNSPOTS}: no such file in mirror directory" in message
    assert f"{missing}: HTTP 404" in message
    assert f"{refused}: connection refused" in message
    assert "tried 3 source(s)" in message
    assert f"export {download.MIRROR_ENV}=../shared/datasets" in message
    assert "\n" not in message  # run_stage prints it as one `error:` line


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({}, "datasets.demo"),
        ({"files": [{"urls": ["http://127.0.0.1/x"]}]}, "datasets.demo.files[0].name"),
        ({"files": [{"name": SUNSPOTS}]}, "datasets.demo.files[0].urls"),
        ({"files": [{"name": SUNSPOTS, "urls": []}]}, "datasets.demo.files[0].urls"),
        ({"generate": "fake"}, "datasets.demo.file"),
    ],
)
def test_invalid_entries_name_the_key(entry: dict, key: str, tmp_path: Path) -> None:
    with pytest.raises(StageError) as err:
        download.download_dataset("demo", entry, raw_dir=tmp_path, mirror="")
    assert "params.yaml" in str(err.value) and key in str(err.value)


def test_a_file_without_urls_says_how_to_get_it(tmp_path: Path) -> None:
    entry = {"files": [{"name": "DJI.csv", "urls": [], "how": "download it from Yahoo"}]}
    with pytest.raises(StageError, match=r"nowhere to get DJI\.csv.*How to get it: download it"):
        download.download_dataset("dji", entry, raw_dir=tmp_path, mirror="")


def test_generate_writes_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("stages.datasets.fake")
    seen: list[dict] = []

    def generate(entry) -> pd.DataFrame:
        seen.append(entry)
        return pd.DataFrame({"x": range(entry.points), "y": [0.5] * entry.points})

    fake.generate = generate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stages.datasets.fake", fake)
    entry = {"generate": "fake", "file": "fake.csv", "points": 4}
    [dest] = download.download_dataset("demo", entry, raw_dir=tmp_path)
    assert dest == tmp_path / "demo" / "fake.csv"
    assert [e.model_dump(exclude_defaults=True) for e in seen] == [entry]
    assert dest.read_text().splitlines() == ["x,y", "0,0.5", "1,0.5", "2,0.5", "3,0.5"]
    assert leftovers(dest.parent) == []


def test_generate_unknown_module(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="no stages/datasets/nosuchgen.py"):
        download.download_dataset("demo", {"generate": "nosuchgen", "file": "x.csv"}, tmp_path)


def run_cli(cwd: Path, *args: str, mirror: str | None) -> subprocess.CompletedProcess:
    """Run the stage as DVC does, from a project root holding params.yaml."""
    env = {k: v for k, v in os.environ.items() if k != download.MIRROR_ENV}
    env["PYTHONPATH"] = str(REPO)
    if mirror is not None:
        env[download.MIRROR_ENV] = mirror
    return subprocess.run(
        [sys.executable, "-m", "stages.download", *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.pipeline
def test_cli_end_to_end(tmp_path: Path, closed_port: int) -> None:
    (tmp_path / "params.yaml").write_text(
        "datasets:\n"
        "  sunspots:\n"
        "    files:\n"
        f"      - name: {SUNSPOTS}\n"
        f"        sha256: {SUNSPOTS_SHA}\n"
        "        urls:\n"
        f"          - http://127.0.0.1:{closed_port}/{SUNSPOTS}\n",
        encoding="utf-8",
    )
    ok = run_cli(tmp_path, "sunspots", mirror=str(SHARED))
    assert ok.returncode == 0, ok.stderr
    dest = tmp_path / "data" / "raw" / "sunspots" / SUNSPOTS
    assert dest.read_bytes() == (SHARED / SUNSPOTS).read_bytes()
    assert "from mirror" in ok.stdout

    bad = run_cli(tmp_path, "nosuch", mirror=str(SHARED))
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "known: sunspots" in lines[0]
    assert "Traceback" not in bad.stderr
