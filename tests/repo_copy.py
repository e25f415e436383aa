"""Copies of the project for tests that run it through DVC.

`commit_working_tree` turns the working tree into a fresh git repository composed for the
smoke profile: tests/conftest.py's `smoke_repo` and tests/test_faults.py's `base_repo`
start there before their `dvc repro`.

`copy_smoke_run` makes private copies of the session's smoke run (`smoke_repo`). One smoke
`dvc repro` per test session is shared by every test that needs a pipeline run; tests that
push, pull or queue experiments work on a copy so they never disturb it (nor each other),
whatever order pytest runs them in. The shared repository tags its state right after
`dvc repro` as SMOKE_RUN_TAG, so a copy starts there even after other tests ran
`dvc exp run` in the shared workspace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE_RUN_TAG = "smoke-run"
GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
# committed results: a copy makes its own (and has no dvc.lock, so DVC runs every stage)
RESULTS = ("metrics/", "plots/", "results.md")


def sh(cmd: list[str], cwd: Path, env: dict, timeout: float = 300, ok: bool | None = True) -> str:
    """Run a command to the end (never longer than `timeout`), stdout and stderr together;
    asserts success (failure if `ok` is False; nothing if None), the output in the message."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    command = " ".join(map(str, cmd))
    assert ok is None or (proc.returncode == 0) == ok, f"{command} exited {proc.returncode}:\n{out}"
    return out


def dvc(args: list[str], cwd: Path, env: dict, timeout: float = 300, ok: bool | None = True) -> str:
    """`dvc ...` from this interpreter's environment (the one the requirements went into)."""
    return sh([sys.executable, "-m", "dvc", *args], cwd, env, timeout, ok)


def working_tree_files() -> list[str]:
    """Tracked and untracked, not ignored: what a commit of the working tree would hold."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split("\0")
    return [name for name in files if name]


def commit_working_tree(dest: Path, env: dict, *overrides: str, message: str) -> Path:
    """A new git repository at `dest` holding the working tree, composed for the smoke
    profile and committed, ready for `dvc repro` to run every stage from scratch.

    The working tree's files (working_tree_files) without the committed results and
    without dvc.lock; then `python -m stages.profile smoke *overrides` writes params.yaml,
    and everything is committed with `message`."""
    for name in working_tree_files():
        src = ROOT / name
        if src.is_file() and not name.startswith(RESULTS):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "dvc.lock").unlink(missing_ok=True)
    sh(["git", "init", "-q"], dest, env)
    sh([sys.executable, "-m", "stages.profile", "smoke", *overrides], dest, env, timeout=300)
    sh([*GIT, "add", "-A"], dest, env)
    sh([*GIT, "commit", "-qm", message], dest, env)
    return dest


def copy_smoke_run(source: Path, dest: Path, env: dict) -> Path:
    """A new git repository at `dest` holding the smoke run as `dvc repro` left it.

    git clone of the tag (sources, params.yaml, dvc.lock, the uncached outputs), the DVC
    cache hard-linked (cache files are content-addressed and never rewritten, so sharing
    their inodes is safe, and it takes no space), then `dvc checkout` for the cached
    outputs. The clone's `origin` is removed: nothing pushed from a copy may reach the
    shared repository."""
    sh(["git", "clone", "-q", str(source), str(dest)], dest.parent, env)
    sh(["git", "checkout", "-q", "-B", "main", SMOKE_RUN_TAG], dest, env)
    sh(["git", "remote", "remove", "origin"], dest, env)
    shutil.copytree(source / ".dvc" / "cache", dest / ".dvc" / "cache", copy_function=os.link)
    dvc(["checkout", "-q"], dest, env)
    return dest


def tree_digest(repo: Path, folders: list[str]) -> dict[str, bytes]:
    """Every file under the given folders, by path relative to the repository."""
    files = {}
    for folder in folders:
        for path in sorted((repo / folder).rglob("*")):
            if path.is_file() and path.name != ".gitignore":
                files[str(path.relative_to(repo))] = path.read_bytes()
    return files
