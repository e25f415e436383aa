"""Fixtures shared across test modules.

`smoke_repo` is the one smoke-profile `dvc repro` of a test session: tests that need a
pipeline run use it (tests/test_pipeline.py reads and mutates it in place) or a private
copy of it (tests/repo_copy.py: remote and queue tests), rather than each running their own.
Every test that uses it is marked `pipeline` (pyproject.toml; tests/test_markers.py checks).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.data import MIRROR
from tests.repo_copy import GIT, SMOKE_RUN_TAG, commit_working_tree, sh


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory):
    """The working tree (tracked and untracked, not ignored) copied, committed, run in smoke.

    Returns (repo, env, log of `dvc repro`). After the run, dvc.lock and the uncached
    outputs are committed and tagged SMOKE_RUN_TAG, so copies (tests/repo_copy.py) start
    from the fresh run even after tests here ran `dvc exp run` in the workspace."""
    if not MIRROR.is_dir() and not os.environ.get("RNN_DATA_MIRROR"):
        pytest.skip("needs RNN_DATA_MIRROR or ../shared/datasets (no internet here)")
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.setdefault("RNN_DATA_MIRROR", str(MIRROR))
    commit_working_tree(repo, env, message="smoke")
    log = sh([sys.executable, "-m", "dvc", "repro"], repo, env, timeout=1500)
    sh([*GIT, "add", "-A"], repo, env)
    sh([*GIT, "commit", "-qm", "smoke run: dvc.lock and the uncached outputs"], repo, env)
    sh(["git", "tag", SMOKE_RUN_TAG], repo, env)
    return repo, env, log
