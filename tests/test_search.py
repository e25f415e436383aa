"""Named searches (#11 item 4): grid -> `dvc exp run --queue` command line, export of
`dvc exp show --json` to experiments/<name>.json, and the report's search tables.

The export tests read tests/search_exp_show.json: a trimmed copy of what `dvc exp show
--json` printed after `python -m stages.search run airline_simple_rnn_lr profile=smoke`
ran for real (exp_show: params cut to the variant, executor paths dropped), and of each
experiment's metrics/airline.json (files: the select number, which export reads from
the experiment's commit with `git show`); the end-to-end check against a live queue rides on
tests/test_queue.py's grid run (no training of its own).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from stages import report, search
from stages.core.config.schema import check_entry
from stages.core.io import StageError, load_params
from stages.core.report import searches

ROOT = Path(__file__).resolve().parents[1]
CANNED = json.loads((Path(__file__).parent / "search_exp_show.json").read_text())
SHOWN = CANNED["exp_show"]
LR = "variants.airline-simple_rnn.train.learning_rate"
SEARCH = {
    "about": "learning rate",
    "targets": ["evaluate@airline"],
    "grid": {LR: [0.001, 0.003]},
    "set": {},
    "select": {
        "file": "metrics/airline.json",
        "key": "models.airline-simple_rnn.val.rmse_orig",
        "goal": "min",
    },
}
TREE = {"profile": "default", "variants": {"v": {"model": {"layers": [{"units": 4}]}}}}


@pytest.mark.parametrize(
    "value",
    [
        0.001,
        1e-05,
        3.0,
        16,
        -2,
        True,
        False,
        None,
        "gru",
        "1",
        "a,b",
        "it's",
        "true",
        [1, "a", None],
        {"units": 8, "type": "gru"},
    ],
)
def test_values_are_written_so_hydra_reads_back_the_same_value_and_type(value):
    parsed = OverridesParser.create().parse_overrides([f"k={search.hydra_value(value)}"])[0]
    assert not parsed.is_sweep_override()
    assert parsed.value() == value and type(parsed.value()) is type(value)


def test_grid_becomes_one_queued_sweep_with_plus_for_new_keys():
    entry = {
        "targets": ["train@v-s42", "evaluate@t"],
        "grid": {"variants.v.model.layers.0.units": [16, 32], "variants.v.train.clip": [0.5, 1.0]},
        "set": {"variants.v.model.layers.0.type": "gru"},
    }
    cmd = search.exp_run_command(entry, TREE, {"profile": "smoke"})
    assert cmd == [
        "dvc", "exp", "run", "--queue",
        "-S", "variants.v.model.layers.0.units=16,32",
        "-S", "+variants.v.train.clip=0.5,1.0",
        "-S", "profile=smoke",
        "-S", "+variants.v.model.layers.0.type=gru",
        "train@v-s42", "evaluate@t",
    ]  # fmt: skip
    sweep = OverridesParser.create().parse_overrides([cmd[7]])[0]
    assert sweep.is_add() and list(sweep.sweep_iterator()) == [0.5, 1.0]


def test_grid_points_vary_the_first_key_slowest():
    points = search.grid_points({"a": [1, 2], "b": ["x", "y"]})
    assert points == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


def no_read(rev: str, path: str) -> str | None:
    """`git show <rev>:<path>` as the real run's experiment commits held it."""
    return CANNED["files"].get(rev, {}).get(path)


def test_export_from_a_real_exp_show_is_one_row_per_point_and_picks_on_validation():
    doc = search.document("lr", SEARCH, SHOWN, {"profile": "smoke"}, read=no_read)
    assert [r["params"] for r in doc["rows"]] == [{LR: 0.001}, {LR: 0.003}]
    assert all(r["status"] == "Success" and r["profile"] == "smoke" for r in doc["rows"])
    metrics = [r["metric"] for r in doc["rows"]]
    assert all(isinstance(m, float) for m in metrics)
    assert doc["winner"] == metrics.index(min(metrics))
    assert doc["set"] == {"profile": "smoke"} and doc["targets"] == ["evaluate@airline"]
    # deterministic: the same input gives the same bytes
    again = search.document("lr", SEARCH, copy.deepcopy(SHOWN), {"profile": "smoke"}, no_read)
    assert json.dumps(doc, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_missing_and_failed_points_are_rows_not_dropped():
    entry = {**SEARCH, "grid": {LR: [0.001, 0.003, 0.01]}}
    shown = copy.deepcopy(SHOWN)
    for exp_range in shown[1]["experiments"]:  # the queue's executor failed on 0.003
        data = exp_range["revs"][0]["data"]["params"]["params.yaml"]["data"]
        if data["variants"]["airline-simple_rnn"]["train"]["learning_rate"] == 0.003:
            exp_range["executor"]["state"] = "failed"
    doc = search.document("lr", entry, shown, {}, read=no_read)
    assert [r["status"] for r in doc["rows"]] == ["Success", "Failed", "missing"]
    assert doc["rows"][2]["experiment"] is None and doc["rows"][1]["metric"] is None
    assert doc["winner"] == 0


def test_ties_go_to_the_first_point_and_max_goals_pick_the_highest():
    rows = [{"metric": 2.0}, {"metric": 1.0}, {"metric": 1.0}, {"metric": None}]
    assert search.winner(rows, "min") == 1
    assert search.winner(rows, "max") == 0
    assert search.winner([{"metric": None}], "min") is None


def test_nothing_matching_and_unknown_names_are_clear_errors():
    with pytest.raises(StageError, match="no experiment of HEAD matches any of its 2 grid"):
        search.document("lr", SEARCH, SHOWN, {"profile": "default"}, read=no_read)
    with pytest.raises(StageError, match=r"no search 'nope'.*known: airline_simple_rnn_lr"):
        search.search_entry({"searches": {"airline_simple_rnn_lr": SEARCH}}, "nope")
    with pytest.raises(StageError, match="expected key=value"):
        search.parse_extra(["profile"])


def test_dvc_failures_show_its_stderr(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # not a DVC repository
    with pytest.raises(StageError, match=r"`dvc exp show --json` failed \(exit \d+\):\n.*"):
        search.dvc(["exp", "show", "--json"])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"select": {**SEARCH["select"], "key": "models.m.test.rmse"}}, "reads the test split"),
        ({"set": {LR: 0.1}}, "also in grid"),
        ({"grid": {LR: []}}, "at least 1 item"),
        ({"select": {**SEARCH["select"], "goal": "low"}}, "searches.s.select.goal"),
        ({"grids": {}}, "unknown key"),
    ],
)
def test_the_schema_refuses_bad_searches(change, message):
    with pytest.raises(StageError, match=message):
        check_entry("searches", "s", {**SEARCH, **change})


def test_the_committed_searches_validate():
    for name in load_params(ROOT / "params.yaml").get("searches") or {}:
        search.search_entry(load_params(ROOT / "params.yaml"), name)


# ----------------------------------------------------------------------------- rendering


def test_each_search_renders_as_a_table_with_the_winner_in_bold(tmp_path):
    doc = search.document("lr", SEARCH, SHOWN, {"profile": "smoke"}, read=no_read)
    (tmp_path / "lr.json").write_text(json.dumps(doc))
    text = report.render_searches(tmp_path)
    lines = text.splitlines()
    assert lines[0].startswith(
        "**lr**: learning rate (profile `smoke`; targets `evaluate@airline`)"
    )
    assert "| learning_rate | Validation rmse_orig | Status | Experiment |" in lines
    best = doc["rows"][doc["winner"]]
    bold = f"| **{searches.cell(best['params'][LR])}** | **{searches.fmt(best['metric'])}** |"
    assert sum(line.startswith(bold) for line in lines) == 1
    assert "lowest `models.airline-simple_rnn.val.rmse_orig` in `metrics/airline.json`" in text
    assert "the test split chose nothing" in text
    html = report.page.page("t\n", {}, tmp_path, tmp_path, text)
    assert '<section id="searches">' in html and "<strong>" in html


def test_no_committed_search_says_so(tmp_path):
    assert report.render_searches(tmp_path / "absent").startswith("No search has been committed")
    assert searches.short_names(["v.train.lr", "v.model.units"]) == ["lr", "units"]
    assert searches.short_names(["a.x.lr", "b.x.lr"]) == ["a.x.lr", "b.x.lr"]


def test_docs_searches_block_matches_the_committed_experiments(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = (ROOT / report.TUNING).read_text(encoding="utf-8")
    block = text.split(report.SEARCH_BEGIN, 1)[1].split(report.SEARCH_END, 1)[0]
    assert block.strip() == report.render_searches().strip(), (
        f"{report.TUNING} searches block is stale: run `python -m stages.report --readme`"
    )


def test_waiting_reports_each_change_and_survives_a_passing_status_error(monkeypatch, capsys):
    answers = iter(
        [
            "Task     Name        Created    Status\nt1  exp-a  09:11 PM   Queued\n",
            StageError("lock"),
            "t1  exp-a  09:11 PM   Running\nold  exp-z  09:00 PM   Failed\n",
            "t1  exp-a  09:11 PM   Success\n\nWorker status: 0 active, 0 idle\n",
        ]
    )

    def fake_dvc(args, timeout=600):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(search, "dvc", fake_dvc)
    assert search.wait({"t1"}, poll_s=0) == {"t1": ("exp-a", "Success")}
    out = capsys.readouterr().out
    assert "exp-a: Queued" in out and "exp-a: Running" in out and "[1/1 done] exp-a: Success" in out
    assert "exp-z" not in out and "retrying" in out
