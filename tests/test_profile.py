"""Profiles that stick and overrides checked at composition (#23 items 8 and 9).

`dvc exp run` composes params.yaml from conf/ itself: `python -m stages.profile <name>`
points it at conf/<name>.yaml (hydra.config_name in .dvc/config.local), and every
composition, DVC's included, is checked against the schema (stages/composition.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from stages.profile import PROFILES, compose, remember
from tests.repo_copy import ROOT, commit_working_tree, dvc, sh

TYPO = "tasks.sunspots_monthly.window.lookbak"
TYPO_LINE = f"conf/ (profile smoke): {TYPO}: unknown key (did you mean 'lookback'?)"


def test_each_profile_has_an_entry_file_composing_the_same_params(tmp_path):
    """conf/<profile>.yaml (what DVC composes after `remember`) gives params.yaml byte for
    byte as conf/config.yaml with the `profile=<name>` override (what `-S` does)."""
    from dvc.utils.hydra import compose_and_dump

    entries = {p.stem for p in (ROOT / "conf").glob("*.yaml")}
    assert entries == {"config", *PROFILES} - {"default"}  # default: conf/config.yaml
    entry, override = tmp_path / "entry.yaml", tmp_path / "override.yaml"
    conf = str(ROOT / "conf")
    compose_and_dump(entry, conf, None, "smoke", str(ROOT), [])
    compose_and_dump(override, conf, None, "config", str(ROOT), ["profile=smoke"])
    assert entry.read_bytes() == override.read_bytes()
    assert yaml.safe_load(entry.read_text(encoding="utf-8"))["profile"] == "smoke"


def test_remember_sets_and_unsets_the_local_config_name(tmp_path):
    dvc_dir = tmp_path / ".dvc"
    dvc_dir.mkdir()
    assert remember("smoke", dvc_dir)
    assert "config_name = smoke" in (dvc_dir / "config.local").read_text(encoding="utf-8")
    assert remember("default", dvc_dir)
    assert "hydra" not in (dvc_dir / "config.local").read_text(encoding="utf-8")
    assert not remember("smoke", tmp_path / "no-dvc")  # a bare copy (tests copy conf/ alone)


def test_compose_leaves_the_local_config_alone(tmp_path):
    """Only the command line remembers the profile: tests compose any profile freely."""
    local = ROOT / ".dvc" / "config.local"
    before = local.read_bytes() if local.exists() else None
    compose("paper", output=tmp_path / "params.yaml")
    assert (local.read_bytes() if local.exists() else None) == before


@pytest.fixture
def repo(tmp_path):
    """A throwaway copy of the working tree after `python -m stages.profile smoke`."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return commit_working_tree(tmp_path / "repo", env, message="smoke"), env


def queued_params(repo: Path, env: dict, *args: str) -> bytes:
    """params.yaml as `dvc exp run --queue` composes it (the queued stash commit), with the
    queue emptied again: the composition is tested, not a run."""
    dvc(["exp", "run", "--queue", *args], repo, env)
    out = sh(["git", "show", "refs/exps/celery/stash:params.yaml"], repo, env)
    dvc(["queue", "remove", "--all"], repo, env)
    return out.encode("utf-8")


@pytest.mark.pipeline
def test_a_plain_dvc_exp_run_keeps_the_profile(repo):
    """Issue #23 item 9: after `python -m stages.profile smoke` DVC recomposes the smoke
    profile, byte for byte, not the default (49 trainings); `default` switches back."""
    path, env = repo
    smoke = (path / "params.yaml").read_bytes()
    assert queued_params(path, env) == smoke
    sh([sys.executable, "-m", "stages.profile", "default"], path, env)
    default = queued_params(path, env)
    assert default == (path / "params.yaml").read_bytes() != smoke
    assert yaml.safe_load(default)["profile"] == "default"


@pytest.mark.pipeline
@pytest.mark.parametrize("override", [f"{TYPO}=10", f"+{TYPO}=10"])
def test_a_bad_override_stops_dvc_exp_run_before_anything(repo, override):
    """Issue #23 item 8: Hydra's "Could not override ... use +", and the params.yaml its
    hint used to produce, become the schema's line; nothing is composed or run."""
    path, env = repo
    before = (path / "params.yaml").read_bytes()
    out = dvc(["exp", "run", "-S", override], path, env, ok=False)
    assert out.splitlines()[0] == f"ERROR: {TYPO_LINE}", out
    assert "Running stage" not in out and "Traceback" not in out
    assert (path / "params.yaml").read_bytes() == before and not (path / "data").exists()
    assert sh(["git", "status", "--porcelain"], path, env) == ""
