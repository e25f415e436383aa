"""The params schema (stages/core/config/schema.py): every profile composes to a valid tree, and
every kind of mistake is one line naming its full key path, before any work is done."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stages.core.config import entry
from stages.core.config.schema import check_entry, check_params
from stages.core.io import StageError
from stages.profile import PROFILES, compose

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> dict[str, Any]:
    """The default profile's params, composed once for the module."""
    out = tmp_path_factory.mktemp("params") / "params.yaml"
    compose("default", output=out)
    return yaml.safe_load(out.read_text(encoding="utf-8"))


def problems(tree: dict[str, Any], edit) -> list[str]:
    """The error lines check_params gives for a copy of `tree` changed by `edit`."""
    bad = copy.deepcopy(tree)
    edit(bad)
    with pytest.raises(StageError) as caught:
        check_params(bad)
    return str(caught.value).splitlines()[:-1]  # the last line says where to fix it


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_composes_and_validates(profile, tmp_path, tree):
    out = tmp_path / "params.yaml"
    compose(profile, output=out)  # compose validates the whole tree
    composed = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert check_params(composed).profile == profile
    assert composed["targets"] == tree["targets"]  # issue #11's goals: every profile's


@pytest.mark.parametrize(
    ("path", "typo", "meant"),
    [
        ((), "sedes", "seeds"),
        (("tasks", "sunspots"), "titel", "title"),
        (("tasks", "sunspots", "window"), "lookbak", "lookback"),
        (("tasks", "sincos", "window"), "time_step", "time_steps"),
        (("variants", "dji-gru", "model", "layers", 0), "unitz", "units"),
        (("variants", "dji-gru", "train", "early_stopping"), "patiense", "patience"),
        (("tasks", "dji", "classical", 0), "ordr", "order"),
        (("text_tasks", "imdb"), "val_fractoin", "val_fraction"),
        (("datasets", "sunspots", "files", 0), "sha265", "sha256"),
        (("targets", "imdb"), "at_leats", "at_least"),
        (("targets", "warpeace"), "beat_baselines", "beat_baseline"),
    ],
)
def test_unknown_key_says_did_you_mean(tree, path, typo, meant):
    def edit(params):
        node = params
        for part in path:
            node = node[part]
        node[typo] = 1

    where = ".".join(str(p) for p in path).replace(".0", "[0]")
    key = f"{where}.{typo}" if where else typo
    assert problems(tree, edit) == [f"params.yaml: {key}: unknown key (did you mean '{meant}'?)"]


def test_typo_in_a_conf_file_fails_composition_and_names_the_key(tmp_path):
    conf = shutil.copytree(ROOT / "conf", tmp_path / "conf")
    config = conf / "config.yaml"
    text = config.read_text(encoding="utf-8")
    good = "window: {layout: sliding, lookback: 12, horizon: 1, stride: 12, context: segment}"
    assert text.count(good) == 1
    config.write_text(text.replace(good, good.replace("lookback", "lookbak")), "utf-8")
    out = tmp_path / "params.yaml"
    with pytest.raises(StageError) as caught:
        compose("smoke", output=out, conf_dir=conf)
    lines = str(caught.value).splitlines()
    assert f"{conf}/ (profile smoke): tasks.sunspots.window.lookback: is required but " in (
        "\n".join(lines)
    )
    assert any(
        line.endswith("tasks.sunspots.window.lookbak: unknown key (did you mean 'lookback'?)")
        for line in lines
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (  # wrong type
            lambda p: p["variants"]["dji-gru"]["train"].update(batch_size="8"),
            "variants.dji-gru.train.batch_size: '8' should be a valid integer",
        ),
        (
            lambda p: p["tasks"]["sunspots"]["window"].update(lookback=-3),
            "tasks.sunspots.window.lookback: -3 must be >= 1",
        ),
        (
            lambda p: p["variants"]["dji-gru"]["train"].update(epochs=0),
            "variants.dji-gru.train.epochs: 0 must be >= 1",
        ),
        (
            lambda p: p["variants"]["dji-gru"]["model"]["layers"][0].update(units=0),
            "variants.dji-gru.model.layers[0].units: 0 must be >= 1",
        ),
        (  # fractions: in (0, 1); dropout in [0, 1)
            lambda p: p["tasks"]["sunspots"]["split"].update(test=1.5),
            "tasks.sunspots.split.test: 1.5 must be < 1.0",
        ),
        (
            lambda p: p["text_tasks"]["imdb"].update(val_fraction=0),
            "text_tasks.imdb.val_fraction: 0 must be > 0.0",
        ),
        (
            lambda p: p["variants"]["jena-gru_dropout"]["model"]["layers"][0].update(dropout=1),
            "variants.jena-gru_dropout.model.layers[0].dropout: 1 must be < 1.0",
        ),
        (
            lambda p: p["tasks"]["sunspots"]["split"].update(val=0.9),
            "tasks.sunspots.split.val: 0.9 must be <= split.test (0.8): validation comes first",
        ),
        (
            lambda p: p["variants"]["dji-gru"].update(task="djj"),
            "variants.dji-gru.task: 'djj' is not in tasks (did you mean 'dji'?)",
        ),
        (
            lambda p: p["text_variants"]["imdb-lstm"].update(task="sunspots"),
            "text_variants.imdb-lstm.task: 'sunspots' is not in text_tasks (known: imdb, warpeace)",
        ),
        (
            lambda p: p["variants"]["dji-gru"]["model"]["layers"][0].update(type="grux"),
            "variants.dji-gru.model.layers[0].type: 'grux' is unknown; use one of: "
            "simple_rnn, lstm, gru, dense, dropout, flatten, embedding, spatial_dropout, "
            "global_max_pool, global_average_pool",
        ),
        (
            lambda p: p["text_tasks"]["imdb"].update(kind="sentimental"),
            "text_tasks.imdb.kind: 'sentimental' is unknown; use one of: sentiment, charlm",
        ),
        (
            lambda p: p["tasks"]["jena"]["window"].update(layout="index"),
            "tasks.jena.window.layout: 'index' is unknown; use one of: sliding, stateful, indexed",
        ),
        (
            lambda p: p["tasks"]["dji"].update(missing={"policy": "mean"}),
            "tasks.dji.missing.policy: 'mean' should be 'fail', 'drop', 'ffill' or 'interpolate'",
        ),
        (
            lambda p: p.update(seeds=[1, 1]),
            "seeds: [1, 1] must be distinct integers",
        ),
        (
            lambda p: p["targets"]["imdb"].update(at_least="0.9"),
            "targets.imdb.at_least: '0.9' should be a valid number",
        ),
        (
            lambda p: p["targets"]["airline_logdiff"].update(at_least=10.0),
            "targets.airline_logdiff.at_least: give at most one of 'at_most' and 'at_least'",
        ),
        (  # the bound must point the way the task's headline improves
            lambda p: p["targets"].update(imdb={"at_most": 0.9}),
            "targets.imdb.at_most: accuracy is better higher; use 'at_least'",
        ),
        (
            lambda p: p["targets"].update(warpeace={"at_least": 1.9}),
            "targets.warpeace.at_least: bits_per_char is better lower; use 'at_most'",
        ),
    ],
)
def test_each_error_is_one_line_naming_the_key_path(tree, edit, line):
    assert problems(tree, edit) == [f"params.yaml: {line}"]


def test_every_error_of_a_check_is_listed(tree):
    def edit(params):
        params["tasks"]["sunspots"]["window"]["lookback"] = -3
        params["variants"]["dji-gru"]["train"]["epochs"] = 0

    assert problems(tree, edit) == [
        "params.yaml: tasks.sunspots.window.lookback: -3 must be >= 1",
        "params.yaml: variants.dji-gru.train.epochs: 0 must be >= 1",
    ]


def test_keys_other_helpers_added_are_accepted(tree):
    params = copy.deepcopy(tree)
    params["tasks"]["dji"].update(
        date=["Date", "Time"],
        date_format="%Y-%m-%d %H:%M",
        missing={"markers": [None, -999, "NA"], "policy": "interpolate", "span_gaps": True},
        categorical=["Weekday"],
        freq="B",
    )
    params["text_tasks"]["imdb"].update(
        classes={"neg": 0, "pos": 1}, root="aclImdb", test_fraction=0.2, encoding="latin-1"
    )
    params["text_tasks"]["warpeace"]["encoding"] = "utf-8"
    check_params(params)


def test_an_entry_is_checked_alone(tree):
    """A stage checks its own entry only: a broken variant elsewhere does not stop it."""
    check_entry("tasks", "sunspots", tree["tasks"]["sunspots"])
    bad = {**tree["tasks"]["sunspots"], "window": {"lookback": -3}}
    with pytest.raises(StageError, match=r"^params.yaml: tasks.sunspots.window.lookback: -3"):
        check_entry("tasks", "sunspots", bad)


def test_stage_cli_fails_before_running(tree, tmp_path, monkeypatch, capsys):
    params = copy.deepcopy(tree)
    params["tasks"]["sunspots"]["window"]["lookback"] = -3
    params["variants"]["dji-gru"]["train"]["epochs"] = 0  # not this stage's entry
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["prepare", "sunspots"])
    ran = []
    with pytest.raises(SystemExit) as stopped:
        entry.stage_cli("prepare", "tasks", lambda *args: ran.append(args))
    assert stopped.value.code == 1 and not ran
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: params.yaml: tasks.sunspots.window.lookback: -3 must be >= 1"
    assert not any("dji-gru" in line for line in err)


@pytest.mark.pipeline
def test_prepare_stage_fails_with_the_line_and_writes_nothing(tree, tmp_path):
    params = copy.deepcopy(tree)
    params["tasks"]["sunspots"]["window"]["lookback"] = -3
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "stages.prepare", "sunspots"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "error: params.yaml: tasks.sunspots.window.lookback: -3 must be >= 1" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_bad_override_leaves_params_yaml_unchanged(tmp_path):
    out = tmp_path / "params.yaml"
    out.write_text("previous: params\n", encoding="utf-8")
    with pytest.raises(StageError) as caught:
        compose("smoke", ["tasks.sunspots.window.lookback=-3"], output=out)
    assert str(caught.value).splitlines()[0] == (
        "conf/ (profile smoke): tasks.sunspots.window.lookback: -3 must be >= 1"
    )
    assert out.read_text(encoding="utf-8") == "previous: params\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # no temp left


def test_schema_does_not_import_tensorflow():
    code = (
        "import sys, stages.core.config.schema; "
        "assert not {'tensorflow', 'keras'} & set(sys.modules), 'imports TensorFlow'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_variant_without_task_fails_while_composing(tmp_path):
    """Without a task DVC would interpolate data/prepared/None: the schema's check at
    composition (stages/composition.py) stops it first, before the run-list resolver
    (stages/core/config/runs.py, which refuses it too) or anything is written."""
    with pytest.raises(StageError, match=r"variants\.dji-gru\.task: is required but missing"):
        compose("smoke", ["~variants.dji-gru.task"], output=tmp_path / "params.yaml")
