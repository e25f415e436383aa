"""The README's results table is generated, never typed: it must match the metrics."""

import json
from pathlib import Path

import pytest

from stages import report
from stages.core.io import StageError, load_params

ROOT = Path(__file__).resolve().parents[1]


def block(text: str, begin: str = report.BEGIN, end: str = report.END) -> str:
    return text.split(begin, 1)[1].split(end, 1)[0].strip()


def test_readme_and_results_md_match_the_committed_metrics(monkeypatch):
    monkeypatch.chdir(ROOT)
    params = load_params()
    table, targets = report.render(params), report.render_targets(params)
    assert block((ROOT / "README.md").read_text()) == table.strip(), (
        "README results table is stale: run `python -m stages.report --readme`"
    )
    backtests = report.render_backtests(params)
    assert (ROOT / "results.md").read_text() == report.results_markdown(table, targets, backtests)


def test_docs_targets_block_matches_the_committed_metrics(monkeypatch):
    monkeypatch.chdir(ROOT)
    params = load_params()
    targets = report.render_targets(params)
    page = (ROOT / report.TUNING).read_text()
    assert block(page, report.TARGETS_BEGIN, report.TARGETS_END) == targets.strip(), (
        f"{report.TUNING} targets table is stale: run `python -m stages.report --readme`"
    )
    assert set(params["targets"]) <= {
        line.split(" | ")[0].removeprefix("| ") for line in targets.splitlines()
    }  # one row per target


METRICS = {
    "models": {
        "m": {
            "test": {
                "rmse": 0.1,
                "mae": 0.05,
                "rmse_orig": 10.0,
                "rmse_orig_ci95": [9.0, 11.0],
                "mae_orig": 5.0,
                "skill": -0.25,
                "count": 40,
                "seeds": {"1": {}, "2": {}, "3": {}},
                "vs_best_baseline": {
                    "baseline": "naive",
                    "test": "diebold_mariano_hln",
                    "statistic": 3.1,
                    "p_value": 0.004,
                    "verdict": "worse",
                },
            }
        }
    },
    "baselines": {
        "naive": {
            "test": {"rmse": 0.08, "mae": 0.04, "rmse_orig": 8.0, "mae_orig": 4.0, "count": 40}
        }
    },
}


def test_a_model_that_loses_to_the_best_baseline_is_flagged_in_the_table_and_in_words(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps(METRICS))
    params = {"tasks": {"t": {"units": "u"}}, "published": {"m": "seed said 7"}}
    rows = report.render(params, tmp_path).splitlines()
    model_row = next(r for r in rows if r.startswith("| t | m |"))
    assert "| 10 ± 1 u | 5 | 3 | -0.25 | worse than naive (p 0.004) | seed said 7 |" in model_row
    assert any(r.startswith("| t | _naive_ (reference baseline) | 8 u |") for r in rows)
    assert (
        "- **t**: no network beats the strongest baseline, naive; the best, m, is "
        "significantly worse than it (rmse 10 against 8, p 0.004)."
    ) in rows


def forecast(val: float, test: float, verdict: str, p: float, **extra) -> dict:
    """A model's val and test splits as evaluate writes them (only what the report reads)."""
    versus = {"baseline": "arima", "p_value": p, "verdict": verdict}
    return {
        "val": {"rmse_orig": val, "count": 10},
        "test": {
            "rmse_orig": test,
            "count": 20,
            "seeds": {"1": {}, "2": {}},
            "vs_best_baseline": versus,
            **extra,
        },
    }


def targets_table(tmp_path, models: dict, goal: dict) -> list[str]:
    metrics = {
        "models": models,
        "baselines": {"arima": {"val": {"rmse_orig": 11.0}, "test": {"rmse_orig": 12.5}}},
    }
    (tmp_path / "t.json").write_text(json.dumps(metrics))
    params = {"tasks": {"t": {"units": "u"}}, "targets": {"t": goal, "gone": {"at_most": 1}}}
    return report.render_targets(params, tmp_path).splitlines()


def test_targets_pick_the_network_best_on_validation_not_on_test(tmp_path):
    """t-lucky is best on test (11) but worse on validation (9 > 8): t-steady is chosen,
    and its test score (12, level with arima) misses the target that t-lucky would meet."""
    models = {
        "t-lucky": forecast(9.0, 11.0, "better", 0.01),
        "t-steady": forecast(8.0, 12.0, "no difference", 0.4, hybrid="arima"),
    }
    rows = targets_table(tmp_path, models, {"at_most": 11.5, "beat_baseline": True})
    row = next(r for r in rows if r.startswith("| t |"))
    assert row == (
        "| t | RMSE ≤ 11.5 u and significantly better than the strongest baseline "
        "| t-steady (hybrid: arima) | 12 u (2 seeds, p 0.4) | arima 12.5 u "
        "| no: 12 > 11.5; no difference from arima (p 0.4) |"
    )
    # a target for a task the profile lacks: its kind, so its metric, is unknown
    assert (
        rows[-1] == "| gone | headline ≤ 1 | _not run: not a task of this profile_ | | | not run |"
    )


def test_a_met_target_says_yes_and_a_missed_one_says_no_with_the_verdict(tmp_path):
    models = {"t-gru": forecast(8.0, 11.0, "better", 0.003)}
    rows = targets_table(tmp_path, models, {"at_most": 11.5, "beat_baseline": True})
    met = "| yes: 11 ≤ 11.5; better than arima (p 0.003) |"
    assert rows[-2].endswith(f"| 11 u (2 seeds, p 0.003) | arima 12.5 u {met}")
    # the number is met but the baseline is not beaten: missed, and the verdict says why
    models = {"t-gru": forecast(8.0, 11.0, "worse", 0.0004)}
    rows = targets_table(tmp_path, models, {"at_most": 11.5, "beat_baseline": True})
    assert rows[-2].endswith("| no: 11 ≤ 11.5; worse than arima (p 0.0004) |")
    rows = targets_table(tmp_path, models, {})
    assert rows[-2].endswith("| no target: worse than arima (p 0.0004) |")


def test_a_target_task_without_metrics_or_data_says_not_run(tmp_path):
    params = {"tasks": {"t": {}, "u": {}}, "targets": {"t": {"at_most": 1.0}, "u": {}}}
    (tmp_path / "u.json").write_text(json.dumps({"unavailable": "no data"}))
    rows = report.render_targets(params, tmp_path).splitlines()
    assert rows[-2].startswith("| t | RMSE ≤ 1 | _not run: no ")
    assert rows[-2].endswith(".json_ | | | not run |")
    no_data = "| _not run: raw data unavailable here_ | | | not run |"
    assert rows[-1] == f"| u | none: the verdict against the strongest baseline {no_data}"


def test_every_generated_block_has_its_markers_once_where_readme_writes_it():
    for path, begin, end in report.BLOCKS:
        text = (ROOT / path).read_text(encoding="utf-8")
        assert text.count(begin) == text.count(end) == 1, (path, begin)
        assert text.index(begin) < text.index(end), (path, begin)
    blocks = [begin for _, begin, _ in report.BLOCKS]
    assert sorted(blocks) == sorted(
        {report.BEGIN, report.SEARCH_BEGIN, report.TARGETS_BEGIN, report.BACKTEST_BEGIN}
    )
    for begin in blocks:  # each block lives in exactly one file
        holders = [p for p in {p for p, _, _ in report.BLOCKS} if begin in (ROOT / p).read_text()]
        assert len(holders) == 1, (begin, holders)


def test_readme_sync_refreshes_the_targets_block_and_leaves_the_rest(tmp_path):
    readme = tmp_path / "README.md"
    b, e = report.TARGETS_BEGIN, report.TARGETS_END
    readme.write_text(f"{report.BEGIN}\nresults\n{report.END}\nprose\n{b}\nold\n{e}\nmore\n")
    assert report.sync_readme("new\n", readme, b, e)
    assert readme.read_text() == (
        f"{report.BEGIN}\nresults\n{report.END}\nprose\n{b}\nnew\n{e}\nmore\n"
    )


def test_sync_replaces_only_the_marked_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.BEGIN}\nold\n{report.END}\noutro\n")
    assert report.sync_readme("new\n", readme)
    assert readme.read_text() == f"intro\n{report.BEGIN}\nnew\n{report.END}\noutro\n"
    assert not report.sync_readme("new\n", readme)
    readme.write_text("no markers")
    with pytest.raises(StageError, match="markers"):
        report.sync_readme("x", readme)


def test_samples_show_every_temperature_that_exists(tmp_path):
    samples = {
        "m": {
            "seed_text": "the ",
            "samples": [
                {"temperature": 0.0, "text": "the greedy text"},
                {"temperature": 0.7, "text": "the warm\r\ntext"},
            ],
        }
    }
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "book.json").write_text(json.dumps(samples))
    lines = report.sample_lines("book", tmp_path)
    text = "\n".join(lines)
    assert "greedy:" in text and "temperature 0.7:" in text and "temperature 0.5" not in text
    assert "the warm\ntext" in text  # CRLF of the book shown as plain line breaks
    assert report.sample_lines("missing", tmp_path) == []


def test_headline_numbers_keep_four_significant_digits():
    """The headline files carry the README table's precision (dvc metrics show would
    otherwise print five decimals and overflow 120 columns); None and 0 pass through."""
    from stages.core.scoring.metrics import significant

    assert significant(18.24002014127854) == 18.24
    assert significant(0.057567547109373875) == 0.05757
    assert significant(175.37908) == 175.4
    assert significant(0.0) == 0.0 and significant(None) is None
    assert significant(2.0834, digits=2) == 2.1
