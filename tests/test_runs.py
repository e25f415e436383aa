"""The run list: one training per (variant, seed), computed when params.yaml is composed."""

import pytest
import yaml

from stages.core.config.runs import runs, task_seeds
from stages.core.io import StageError
from stages.profile import compose

VARIANTS = {"a-gru": {"task": "a"}, "b-lstm": {"task": "b"}}


def test_each_variant_trains_its_tasks_seeds():
    out = runs(VARIANTS, {"a": {}, "b": {"seeds": 1}}, [7, 8, 9])
    assert list(out) == ["a-gru-s7", "a-gru-s8", "a-gru-s9", "b-lstm-s7"]
    assert out["a-gru-s8"] == {"variant": "a-gru", "task": "a", "seed": 8}


def test_a_disabled_variant_has_no_runs():
    variants = {**VARIANTS, "b-lstm": {"task": "b", "enabled": False}}
    assert list(runs(variants, {}, [7])) == ["a-gru-s7"]


def test_the_smoke_profile_switches_variants_off(tmp_path):
    """`enabled: false` in conf/profile/smoke.yaml: defined (schema-checked), not trained."""
    out = tmp_path / "params.yaml"
    compose("smoke", output=out)
    params = yaml.safe_load(out.read_text())
    assert params["variants"]["jena-lstm"]["enabled"] is False
    assert not [k for k in params["runs"] if k.startswith("jena-lstm-")]
    assert [k for k in params["runs"] if k.startswith("jena-gru-")] == ["jena-gru-s42"]


def test_a_task_count_takes_the_first_seeds_and_none_takes_all():
    assert task_seeds([5, 6, 7], {"seeds": 2}) == [5, 6]
    assert task_seeds([5, 6, 7], {"seeds": None}) == [5, 6, 7]
    assert task_seeds([5, 6, 7], None) == [5, 6, 7]


@pytest.mark.parametrize("seeds", [[], [1, 1]])
def test_seeds_must_be_distinct_and_present(seeds):
    with pytest.raises(ValueError, match="distinct integers"):
        runs(VARIANTS, {}, seeds)


def test_composition_recomputes_the_runs_from_an_override(tmp_path):
    """What `dvc exp run -S 'seeds=[...]'` does: Hydra composes conf/ with the override,
    and the `rnn_runs` resolver (hydra_plugins/rnn_runs.py) lists the runs again."""
    out = tmp_path / "params.yaml"
    compose("default", ["seeds=[1,2,3]"], output=out)
    params = yaml.safe_load(out.read_text())
    assert params["seeds"] == [1, 2, 3]
    assert {"dji-gru-s1", "dji-gru-s2", "dji-gru-s3"} <= set(params["runs"])
    assert "dji-gru-s42" not in params["runs"]
    assert [k for k in params["text_runs"] if k.startswith("imdb-lstm-")] == ["imdb-lstm-s1"]
    jena = [k for k in params["runs"] if k.startswith("jena-gru-")]
    assert jena == ["jena-gru-s1"]  # tasks.jena.seeds: 1 in the default profile


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "tasks.sunspots_monthly.window.lookbak=10",
            "tasks.sunspots_monthly.window.lookbak: unknown key (did you mean 'lookback'?)",
        ),
        (
            "tasks.sunspots_monthy.window.lookback=10",
            "tasks.sunspots_monthy: unknown key (did you mean 'sunspots_monthly'?)",
        ),
        (  # Hydra's hint followed: composes, and the schema's check refuses the tree
            "+tasks.sunspots_monthly.window.lookbak=10",
            "tasks.sunspots_monthly.window.lookbak: unknown key (did you mean 'lookback'?)",
        ),
        (
            "tasks.sunspots_monthly.missing=drop",
            "tasks.sunspots_monthly.missing: not set in conf/, so it cannot be overridden; "
            "add it: +tasks.sunspots_monthly.missing=drop",
        ),
    ],
)
def test_a_bad_override_is_one_line_and_composes_nothing(tmp_path, override, line):
    """Issue #23 item 8: Hydra's 'Could not override' (and its traceback) becomes the
    schema's line: the key path and the closest key, or how to add a key conf/ lacks; a
    `+key` the schema does not know fails the composition with the same line
    (stages/composition.py, installed by hydra_plugins/rnn_checks.py)."""
    out = tmp_path / "params.yaml"
    out.write_text("before\n", encoding="utf-8")
    with pytest.raises(StageError) as err:
        compose("smoke", [override], output=out)
    assert str(err.value).splitlines()[0] == f"conf/ (profile smoke): {line}"
    assert "Traceback" not in str(err.value) and out.read_text(encoding="utf-8") == "before\n"
