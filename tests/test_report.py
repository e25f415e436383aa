"""The README's results table is generated, never typed: it must match the metrics."""

import json
from pathlib import Path

import pytest

from stages import report
from stages.core.io import StageError, load_params

ROOT = Path(__file__).resolve().parents[1]


def block(text: str) -> str:
    return text.split(report.BEGIN, 1)[1].split(report.END, 1)[0].strip()


def test_readme_and_results_md_match_the_committed_metrics(monkeypatch):
    monkeypatch.chdir(ROOT)
    table = report.render(load_params())
    assert block((ROOT / "README.md").read_text()) == table.strip(), (
        "README results table is stale: run `python -m stages.report --readme`"
    )
    assert (ROOT / "results.md").read_text() == table


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
    from stages.core.metrics import significant

    assert significant(18.24002014127854) == 18.24
    assert significant(0.057567547109373875) == 0.05757
    assert significant(175.37908) == 175.4
    assert significant(0.0) == 0.0 and significant(None) is None
    assert significant(2.0834, digits=2) == 2.1
