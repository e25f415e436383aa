"""The pull-request report (.ci/pr_report.py), which the GitHub workflow posts with CML and
.ci/run prints: metrics diff and changed figures between two commits of a tiny repo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pipeline  # dvc init, git and .ci/pr_report.py as subprocesses

CI = Path(__file__).resolve().parents[1] / ".ci"
GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
PNG = bytes.fromhex("89504e470d0a1a0a")  # a PNG signature is enough: git compares bytes


def sh(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def commit(repo: Path, score: float, figures: dict[str, bytes]) -> None:
    """One commit: metrics/t.json, metrics/headline/t.json and the given figures."""
    (repo / "metrics" / "headline").mkdir(parents=True, exist_ok=True)
    (repo / "metrics" / "t.json").write_text(json.dumps({"models": {"m": {"rmse": score}}}))
    (repo / "metrics" / "headline" / "t.json").write_text(json.dumps({"score": score}))
    for name, data in figures.items():
        path = repo / "plots" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    sh([*GIT, "add", "-A"], repo)
    sh([*GIT, "commit", "-qm", f"score {score}"], repo)


def test_report_shows_headline_and_every_number_and_changed_figures_side_by_side(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    sh(["git", "init", "-q"], repo)
    sh([sys.executable, "-m", "dvc", "init", "-q"], repo)
    (repo / "dvc.yaml").write_text("metrics:\n  - metrics/headline/t.json\n")
    same, old = PNG + b"same", PNG + b"old"
    commit(repo, 1.0, {"t/same.png": same, "t/changed.png": old, "t/figures/gone.png": old})
    (repo / "plots" / "t" / "figures" / "gone.png").unlink()
    commit(repo, 2.0, {"t/same.png": same, "t/changed.png": PNG + b"new"})
    out = sh([sys.executable, str(CI / "pr_report.py"), "HEAD~1", "HEAD"], repo)
    assert "### Headline metrics (`dvc metrics diff --md`)" in out
    assert "| metrics/headline/t.json | score | 1.0 | 2.0 | 1.0 |" in re.sub(" +", " ", out)
    assert "- t: 2 CHANGED" in out
    assert "| CHANGED | metrics/t.json | models.m.rmse | 1.0 | 2.0 |" in out
    assert (
        "| `plots/t/changed.png` | ![plots/t/changed.png before](.pr_report/base/plots/t/"
        "changed.png) | ![plots/t/changed.png after](.pr_report/head/plots/t/changed.png) |"
    ) in out
    assert "| `plots/t/figures/gone.png` | ![" in out and "| (deleted) |" in out
    assert "same.png" not in out
    assert (repo / ".pr_report/base/plots/t/changed.png").read_bytes() == old
    assert (repo / ".pr_report/head/plots/t/changed.png").read_bytes() == PNG + b"new"
    unchanged = sh([sys.executable, str(CI / "pr_report.py"), "HEAD"], repo)  # HEAD vs HEAD
    assert "no headline metric changed" in unchanged and "no figure changed" in unchanged
