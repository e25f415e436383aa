"""End to end: the smoke profile through real DVC in a throwaway copy of the repository."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"

pytestmark = pytest.mark.skipif(
    not SHARED.exists() and not os.environ.get("RNN_DATA_MIRROR"),
    reason="needs RNN_DATA_MIRROR or ../shared/datasets (no internet here)",
)


def sh(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def smoke_repo(tmp_path_factory):
    """The working tree (tracked and untracked, not ignored) copied, committed, run in smoke."""
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file() and not name.startswith(("metrics/", "plots/", "results.md")):
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    (repo / "dvc.lock").unlink(missing_ok=True)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.setdefault("RNN_DATA_MIRROR", str(SHARED))
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    sh(["git", "init", "-q"], repo, env)
    sh([sys.executable, "-m", "stages.profile", "smoke"], repo, env)
    sh([*git, "add", "-A"], repo, env)
    sh([*git, "commit", "-qm", "smoke"], repo, env)
    log = sh([sys.executable, "-m", "dvc", "repro"], repo, env)
    return repo, env, log


def test_every_metric_is_present_and_finite(smoke_repo):
    repo, _, _ = smoke_repo
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for task in params["tasks"]:
        metrics = json.loads((repo / "metrics" / f"{task}.json").read_text())
        for png in ("forecast", "scores", "training_curves"):
            assert (repo / "plots" / task / f"{png}.png").stat().st_size > 1000
        if "unavailable" in metrics:  # only Jena may be skipped here, and with no numbers
            assert task == "jena" and set(metrics) == {"unavailable"}
            continue
        models = {k for k, v in params["variants"].items() if v["task"] == task}
        assert set(metrics["models"]) == models
        observed = params["tasks"][task].get("target_observed", True)
        assert set(metrics["baselines"]) >= ({"naive", "mean"} if observed else {"mean"})
        for group in metrics.values():
            for splits in group.values():
                assert "test" in splits
                for values in splits.values():
                    for name, value in values.items():
                        assert math.isfinite(value), (task, name)
        for splits in metrics["models"].values():
            assert splits["test"]["numpy_max_abs_diff"] <= 1e-5
            assert {"rmse", "mae", "rmse_orig", "mae_orig", "skill"} <= set(splits["test"])
    results = (repo / "results.md").read_text()
    assert "| sunspots |" in results and "| jena | _not run: raw data unavailable here_" in results


def test_text_tasks_have_metrics_figures_and_samples(smoke_repo):
    repo, _, _ = smoke_repo
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for task, cfg in params["text_tasks"].items():
        metrics = json.loads((repo / "metrics" / f"{task}.json").read_text())
        models = {k for k, v in params["text_variants"].items() if v["task"] == task}
        assert set(metrics["models"]) == models
        split = "test" if cfg["kind"] == "sentiment" else "val"
        for group in metrics.values():
            for splits in group.values():
                assert all(math.isfinite(v) for v in splits[split].values())
        figures = {p.name for p in (repo / "plots" / task / "figures").iterdir()}
        assert {"scores.png", "training_curves.png"} <= figures
    imdb = json.loads((repo / "metrics" / "imdb.json").read_text())
    assert {"majority", "tfidf_lr"} <= set(imdb["baselines"])
    assert imdb["baselines"]["tfidf_lr"]["test"]["count"] == 25_000
    assert imdb["baselines"]["tfidf_lr"]["test"]["accuracy"] > 0.85
    assert {"roc.png", "confusion.png"} <= {p.name for p in (repo / "plots/imdb/figures").iterdir()}
    samples = (repo / "plots" / "warpeace" / "figures" / "samples.md").read_text()
    assert samples.count("greedy (argmax)") == 2 and "### temperature 1\n" in samples
    results = (repo / "results.md").read_text()
    assert "IMDB movie-review sentiment" in results and "| _3-gram_ (baseline) |" in results


def test_second_repro_runs_nothing(smoke_repo):
    repo, env, _ = smoke_repo
    out = sh([sys.executable, "-m", "dvc", "repro"], repo, env)
    assert "Running stage" not in out
    assert "up to date" in sh([sys.executable, "-m", "dvc", "status"], repo, env)


def output_bytes(repo: Path, paths: list[str]) -> dict[str, bytes]:
    """Every file under the given outputs, by path."""
    files = {}
    for name in paths:
        path = repo / name
        for file in [path] if path.is_file() else sorted(path.rglob("*")):
            if file.is_file():
                files[str(file.relative_to(repo))] = file.read_bytes()
    return files


def test_prepare_and_evaluate_rerun_to_the_same_bytes(smoke_repo):
    """Equal inputs, equal bytes: a forced re-run changes nothing DVC can see, so a
    params edit that does not change a result stops the cascade there."""
    repo, env, _ = smoke_repo
    params = yaml.safe_load((repo / "params.yaml").read_text())
    stages, outs = [], []
    for task in params["tasks"]:
        stages += [f"prepare@{task}", f"evaluate@{task}"]
        outs += [f"data/prepared/{task}", f"metrics/{task}.json", f"plots/{task}/predictions.csv"]
    for task in params["text_tasks"]:
        stages += [f"prepare_text@{task}", f"evaluate_text@{task}"]
        outs += [f"data/prepared/{task}", f"metrics/{task}.json", f"plots/{task}/data"]
        outs.append(f"metrics/samples/{task}.json")
    before = output_bytes(repo, outs)
    sh([sys.executable, "-m", "dvc", "repro", "-f", "-s", *stages], repo, env)
    after = output_bytes(repo, outs)
    assert before.keys() == after.keys()
    assert [name for name in before if before[name] != after[name]] == []
    assert "up to date" in sh([sys.executable, "-m", "dvc", "status"], repo, env)


def test_a_finished_training_comes_back_from_the_run_cache(smoke_repo):
    repo, env, _ = smoke_repo
    model = repo / "models" / "dji" / "dji-gru"
    before = (model / "predictions.npz").read_bytes()
    shutil.rmtree(model)
    shutil.rmtree(repo / "metrics" / "train" / "dji" / "dji-gru")
    out = sh([sys.executable, "-m", "dvc", "repro", "train@dji-gru"], repo, env)
    assert "Stage 'train@dji-gru' is cached - skipping run, checking out outputs" in out
    assert "epoch 1/" not in out  # nothing was trained
    assert (model / "predictions.npz").read_bytes() == before
    assert "up to date" in sh([sys.executable, "-m", "dvc", "status"], repo, env)


def test_exp_run_on_one_variant_reruns_only_its_stages(smoke_repo):
    repo, env, _ = smoke_repo
    out = sh(
        [
            sys.executable,
            "-m",
            "dvc",
            "exp",
            "run",
            "-S",
            "profile=smoke",
            "-S",
            "variants.sunspots-simple_rnn.train.epochs=2",
        ],
        repo,
        env,
    )
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {"train@sunspots-simple_rnn", "evaluate@sunspots", "plots@sunspots", "report"}
