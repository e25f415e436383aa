"""End to end: the smoke profile through real DVC in a throwaway copy of the repository
(the session's `smoke_repo`, tests/conftest.py)."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.data import MIRROR

SHARED = MIRROR

pytestmark = [
    pytest.mark.pipeline,  # smoke_repo: the smoke profile's dvc repro
    pytest.mark.skipif(
        not SHARED.is_dir() and not os.environ.get("RNN_DATA_MIRROR"),
        reason="needs RNN_DATA_MIRROR or ../shared/datasets (no internet here)",
    ),
]


def sh(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def numbers(tree) -> list[float]:
    """Every number in a metrics entry, however deeply nested (seeds, CIs, tests)."""
    if isinstance(tree, dict):
        return [x for value in tree.values() for x in numbers(value)]
    if isinstance(tree, list):
        return [x for value in tree for x in numbers(value)]
    return [tree] if isinstance(tree, int | float) and not isinstance(tree, bool) else []


def check_seeds(entry: dict, seeds: list[int]) -> None:
    """A model's split: each seed's own numbers, and std / CI exactly when seeds > 1."""
    assert sorted(map(int, entry["seeds"])) == seeds
    spread = {k for k in entry if k.endswith(("_std", "_ci95"))}
    assert bool(spread) == (len(seeds) > 1)
    for key in spread:
        if key.endswith("_ci95"):
            low, high = entry[key]
            assert low <= entry[key.removesuffix("_ci95")] <= high
    versus = entry["vs_best_baseline"]
    assert versus["verdict"] in {"better", "worse", "no difference"}
    assert 0 <= versus["p_value"] <= 1


def enabled(variant: dict) -> bool:
    """Trained in this profile: smoke switches some variants off (`enabled: false`)."""
    return variant.get("enabled", True) is not False


def test_every_metric_is_present_and_finite(smoke_repo):
    from stages.core.config.runs import task_seeds

    repo, _, _ = smoke_repo
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for task, cfg in params["tasks"].items():
        metrics = json.loads((repo / "metrics" / f"{task}.json").read_text())
        for png in ("forecast", "scores", "training_curves"):
            assert (repo / "plots" / task / f"{png}.png").stat().st_size > 1000
        if "unavailable" in metrics:  # only Jena may be skipped here, and with no numbers
            assert task == "jena" and set(metrics) == {"unavailable"}
            continue
        models = {k for k, v in params["variants"].items() if v["task"] == task and enabled(v)}
        assert set(metrics["models"]) == models
        observed = cfg.get("target_observed", True)
        classical = {spec["name"] for spec in cfg.get("classical") or []}
        assert (
            set(metrics["baselines"]) >= ({"naive", "mean"} if observed else {"mean"}) | classical
        )
        assert all(math.isfinite(x) for x in numbers(metrics)), task
        for splits in metrics["models"].values():
            assert splits["test"]["numpy_max_abs_diff"] <= 1e-5
            assert {"rmse", "mae", "rmse_orig", "mae_orig", "skill"} <= set(splits["test"])
            check_seeds(splits["test"], task_seeds(params["seeds"], cfg))
        headline = json.loads((repo / "metrics" / "headline" / f"{task}.json").read_text())
        assert set(headline) == {"net", "score", "baseline", "base_score", "verdict", "p_value"}
    results = (repo / "results.md").read_text()
    assert "| sunspots |" in results and "| jena | _not run: raw data unavailable here_" in results
    assert "In words:" in results and "- **sunspots**: " in results


def test_text_tasks_have_metrics_figures_and_samples(smoke_repo):
    repo, _, _ = smoke_repo
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for task in params["text_tasks"]:
        metrics = json.loads((repo / "metrics" / f"{task}.json").read_text())
        models = {k for k, v in params["text_variants"].items() if v["task"] == task and enabled(v)}
        hybrids = {f"{h['variant']}+{h['baseline']}" for h in params["text_tasks"][task]["hybrids"]}
        assert hybrids and set(metrics["models"]) == models | hybrids
        assert all(math.isfinite(x) for x in numbers(metrics)), task
        for splits in metrics["models"].values():
            check_seeds(splits["test"], params["seeds"][:1])
        for name in hybrids:  # interpolated on validation, scored on test, marked hybrid
            test = metrics["models"][name]["test"]
            assert test["hybrid"] == name.rsplit("+", 1)[1]
            assert 0 <= test["baseline_weight"] <= 1
            assert test["baseline_weight"] == metrics["models"][name]["val"]["baseline_weight"]
            # weight 0 is the network alone: the chosen one cannot do worse on validation
            loss = "bits_per_char" if "bits_per_char" in test else "log_loss"
            network = metrics["models"][name.rsplit("+", 1)[0]]["val"][loss]
            assert metrics["models"][name]["val"][loss] <= network + 1e-9
        figures = {p.name for p in (repo / "plots" / task / "figures").iterdir()}
        assert {"scores.png", "training_curves.png"} <= figures
    imdb = json.loads((repo / "metrics" / "imdb.json").read_text())
    assert {"majority", "tfidf_lr", "nbsvm"} <= set(imdb["baselines"])  # smoke: unigrams
    assert imdb["baselines"]["tfidf_lr"]["test"]["count"] == 25_000
    assert imdb["baselines"]["tfidf_lr"]["test"]["accuracy"] > 0.85
    assert imdb["baselines"]["nbsvm"]["test"]["accuracy"] > 0.87  # Wang & Manning: 0.883
    assert {"roc.png", "confusion.png"} <= {p.name for p in (repo / "plots/imdb/figures").iterdir()}
    book = json.loads((repo / "metrics" / "warpeace.json").read_text())
    assert {"unigram", "ngram"} == set(book["baselines"])
    assert book["baselines"]["ngram"]["val"]["fitted"]["order"] in (1, 2, 3)  # smoke's orders
    samples = (repo / "plots" / "warpeace" / "figures" / "samples.md").read_text()
    chars = [v for v in params["text_variants"].values() if v["task"] == "warpeace" and enabled(v)]
    assert samples.count("greedy (argmax)") == len(chars) and "### temperature 1\n" in samples
    results = (repo / "results.md").read_text()
    assert "IMDB movie-review sentiment" in results and "| _ngram_ (baseline) |" in results
    assert "| warpeace-char_simple_rnn+ngram (hybrid: ngram) |" in results


def test_metrics_show_reads_in_120_columns(smoke_repo):
    """`dvc metrics show` lists the headline files only: one narrow row per task, within a
    132-column terminal (a text hybrid's name, `<variant>+<baseline>`, is the widest cell:
    the default profile's `bigru_maxpool+nbsvm_bigrams` makes 131)."""
    repo, env, _ = smoke_repo
    out = sh([sys.executable, "-m", "dvc", "metrics", "show"], repo, env)
    lines = out.strip().splitlines()
    assert max(map(len, lines)) <= 132, out
    assert any("metrics/headline/sunspots.json" in line for line in lines)
    assert not any("metrics/train" in line for line in lines)


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
    model = repo / "models" / "dji" / "dji-gru" / "s42"
    before = (model / "predictions.npz").read_bytes()
    shutil.rmtree(model)
    shutil.rmtree(repo / "metrics" / "train" / "dji" / "dji-gru" / "s42")
    out = sh([sys.executable, "-m", "dvc", "repro", "train@dji-gru-s42"], repo, env)
    assert "Stage 'train@dji-gru-s42' is cached - skipping run, checking out outputs" in out
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
    assert ran == {
        "train@sunspots-simple_rnn-s42",  # smoke trains sunspots with one seed
        "evaluate@sunspots",
        "plots@sunspots",
        "report",
    }


def test_exp_run_adding_a_seed_trains_only_that_seed(smoke_repo):
    """The run list is recomputed from `seeds` at composition: one more seed is one more
    training per task that trains every seed (in smoke, airline only: the others have
    `seeds: 1`), and nothing already trained runs again."""
    repo, env, _ = smoke_repo
    cmd = [sys.executable, "-m", "dvc", "exp", "run", "-S", "profile=smoke"]
    out = sh([*cmd, "-S", "seeds=[42,43,44]"], repo, env)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    trained = {name for name in ran if name.startswith("train")}
    assert trained == {"train@airline-simple_rnn-s44"}
    metrics = json.loads((repo / "metrics" / "airline.json").read_text())
    assert sorted(metrics["models"]["airline-simple_rnn"]["test"]["seeds"]) == ["42", "43", "44"]


def test_backtest_contract_files(smoke_repo):
    """metrics/backtest/<task>.json for every task with a horizon (#22's contract): horizon,
    origins, step, and per model (baselines included, named as in metrics/<task>.json)
    rmse_by_horizon with H numbers, coverage_80, coverage_95 and mase; airline_logdiff
    has 48 targets at step 1 and 37 at step 12, sarima_log re-estimated at every origin."""
    repo = smoke_repo[0]
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    assert set(params["backtests"]) >= {"airline_logdiff", "sunspots_monthly", "dji_logret"}
    for task in params["backtests"]:
        data = json.loads((repo / "metrics" / "backtest" / f"{task}.json").read_text())
        if "unavailable" in data:
            continue
        task_metrics = json.loads((repo / "metrics" / f"{task}.json").read_text())
        names = set(task_metrics["models"]) | set(task_metrics["baselines"])
        assert data["horizon"] == params["tasks"][task]["horizon"]
        assert data["step"] == params["tasks"][task]["backtest"].get("step", 1)
        assert set(data["models"]) <= names | {"ridge_ar", "gradient_boosting"}
        assert set(task_metrics["models"]) <= set(data["models"])
        for entry in data["models"].values():
            assert len(entry["rmse_by_horizon"]) == data["horizon"]
            assert all(math.isfinite(x) for x in entry["rmse_by_horizon"])
            assert 0 <= entry["coverage_80"] <= 1 and 0 <= entry["coverage_95"] <= 1
            assert entry["mase"] > 0
        assert (repo / "plots" / task / "backtest_fan.png").stat().st_size > 1000
    airline = json.loads((repo / "metrics" / "backtest" / "airline_logdiff.json").read_text())
    assert airline["origins"] == 48 and airline["refit"] == 1
    counts = airline["models"]["sarima_log"]["count_by_horizon"]
    assert counts[0] == 48 and counts[-1] == 37
    assert airline["models"]["sarima_log"]["intervals"] == "model"
