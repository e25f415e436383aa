"""Many experiments (#12 item 2): a queued two-value grid run by two workers side by side,
and experiments carried from one clone to another through a git remote.

The grid is airline-simple_rnn's epochs on the smoke profile: each point retrains only
that variant's two seeds and airline's evaluate / plots plus the report (seconds each),
everything else comes from the cache, so the whole grid takes about a minute or two.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.repo_copy import GIT, copy_smoke_run, dvc, sh

pytestmark = pytest.mark.pipeline  # copies of smoke_repo, dvc exp run --queue

VARIANT = "airline-simple_rnn"
GRID_KEY = f"variants.{VARIANT}.train.epochs"
GRID = (1, 3)  # the smoke profile trains 2: both points are new results
HEADLINE = "metrics/headline/airline.json"
EXPECTED_STAGES = {
    f"train@{VARIANT}-s42",
    f"train@{VARIANT}-s43",
    "evaluate@airline",
    "plots@airline",
    "report",
}
FINISHED = ("Success", "Failed")
STATES = ("Queued", "Running", *FINISHED)
NO_WORKERS = "Worker status: 0 active, 0 idle"


def queue_states(status: str) -> list[str]:
    """The Status column of `dvc queue status`, one entry per task."""
    last_words = (line.split()[-1] for line in status.splitlines() if line.strip())
    return [word for word in last_words if word in STATES]


def wait_for_queue(repo: Path, env: dict, timeout: float) -> str:
    """Poll `dvc queue status` until every task has finished; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        status = dvc(["queue", "status"], repo, env, timeout=120)
        states = queue_states(status)
        if states and all(state in FINISHED for state in states):
            return status
        assert time.monotonic() < deadline, f"queue not done after {timeout} s:\n{status}"
        time.sleep(5)


def stop_workers(repo: Path, env: dict, timeout: float = 60) -> None:
    """Ask the queue's workers to stop (they also leave by themselves 10 s after the queue
    empties) and wait until none is left, so no detached worker outlives the test."""
    dvc(["queue", "stop", "--kill"], repo, env, timeout=120, ok=None)
    deadline = time.monotonic() + timeout
    while NO_WORKERS not in dvc(["queue", "status"], repo, env, timeout=120):
        assert time.monotonic() < deadline, "queue workers still running"
        time.sleep(2)


def experiments(shown: list[dict]) -> dict[str, dict]:
    """name -> data (params, metrics) of every experiment in `dvc exp show --json`."""
    found = {}
    for baseline in shown:
        for exp_range in baseline.get("experiments") or []:
            for rev in exp_range.get("revs") or []:
                found[rev.get("name") or rev["rev"]] = rev["data"]
    return found


def grid_point(data: dict) -> int:
    """The epochs value an experiment was run with."""
    params = data["params"]["params.yaml"]["data"]
    return params["variants"][VARIANT]["train"]["epochs"]


def headline(data: dict) -> dict:
    """The airline headline metrics an experiment recorded."""
    return data["metrics"][HEADLINE]["data"]


def shown(repo: Path, env: dict) -> dict[str, dict]:
    return experiments(json.loads(dvc(["exp", "show", "--json"], repo, env, timeout=180)))


@pytest.fixture(scope="module")
def queued(smoke_repo, tmp_path_factory) -> Iterator[tuple[Path, dict, str]]:
    """A copy of the smoke run whose grid was queued and run by `dvc queue start -j 2`.
    Returns (repo, env, final queue status)."""
    source, shared_env, _ = smoke_repo
    env = dict(shared_env)
    repo = copy_smoke_run(source, tmp_path_factory.mktemp("queue") / "repo", env)
    grid = ",".join(map(str, GRID))
    dvc(["exp", "run", "--queue", "-S", "profile=smoke", "-S", f"{GRID_KEY}={grid}"], repo, env)
    try:
        dvc(["queue", "start", "-j", "2"], repo, env)
        yield repo, env, wait_for_queue(repo, env, timeout=420)
    finally:
        stop_workers(repo, env)


def test_a_queued_grid_runs_on_two_workers_and_shows_both(queued):
    repo, env, status = queued
    assert queue_states(status) == ["Success", "Success"], status
    exps = shown(repo, env)
    assert sorted(grid_point(data) for data in exps.values()) == list(GRID), exps
    for name, data in exps.items():
        assert isinstance(headline(data)["score"], float), name
        log = dvc(["queue", "logs", name], repo, env)
        ran = {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage")}
        assert ran == EXPECTED_STAGES, log  # the rest came from the cache


def test_a_search_export_reads_the_live_queue(queued, monkeypatch):
    """stages/search.py's export on this grid: dvc exp show's params matched to the grid
    points, the validation metric read from each experiment's commit (tests/test_search.py
    covers the rest offline)."""
    from stages import search

    repo, env, _ = queued
    entry = {
        "about": "epochs",
        "targets": ["evaluate@airline"],
        "grid": {GRID_KEY: list(GRID)},
        "set": {"profile": "smoke"},
        "select": {"file": "metrics/airline.json", "key": f"models.{VARIANT}.val.rmse_orig",
                   "goal": "min"},
    }  # fmt: skip
    monkeypatch.chdir(repo)  # git show <experiment>:metrics/airline.json runs here
    shown_json = json.loads(dvc(["exp", "show", "--json"], repo, env, timeout=180))
    doc = search.document("epochs", entry, shown_json, {})
    assert [r["params"][GRID_KEY] for r in doc["rows"]] == list(GRID)
    assert [r["status"] for r in doc["rows"]] == ["Success", "Success"]
    assert all(isinstance(r["metric"], float) for r in doc["rows"]) and doc["winner"] in (0, 1)


def test_exp_push_and_pull_carry_experiments_between_clones(queued, tmp_path):
    """Machine A pushes its experiments to a git remote (refs) and a DVC remote (their
    outputs); machine B, a fresh clone, pulls them, sees them, and can apply one."""
    repo, env, _ = queued
    origin, store = tmp_path / "origin.git", tmp_path / "dvc-store"
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path, env)  # clones get main
    sh([*GIT, "push", "-q", str(origin), "main"], repo, env)
    dvc(["remote", "add", "--local", "-d", "store", str(store)], repo, env)
    dvc(["exp", "push", str(origin)], repo, env)

    clone = tmp_path / "clone"
    sh(["git", "clone", "-q", str(origin), str(clone)], tmp_path, env)
    dvc(["remote", "add", "--local", "-d", "store", str(store)], clone, env)
    names = set(shown(repo, env))
    listed = dvc(["exp", "list", "--name-only", str(origin)], clone, env)
    assert set(listed.split()) == names
    dvc(["exp", "pull", str(origin)], clone, env)
    pulled = shown(clone, env)
    assert {n: headline(d) for n, d in pulled.items()} == {
        n: headline(d) for n, d in shown(repo, env).items()
    }

    name = next(n for n, d in pulled.items() if grid_point(d) == GRID[-1])
    dvc(["exp", "apply", name], clone, env)
    assert json.loads((clone / HEADLINE).read_text()) == headline(pulled[name])
    assert (clone / "models" / "airline" / VARIANT / "s42").is_dir()
    assert "up to date" in dvc(["status"], clone, env)
