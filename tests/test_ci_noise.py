"""CI's metrics diff marks changes within a task's cross-machine tolerance as noise."""

import importlib.util
from pathlib import Path

import yaml

CI = Path(__file__).resolve().parents[1] / ".ci"
spec = importlib.util.spec_from_file_location("metrics_noise", CI / "metrics_noise.py")
noise = importlib.util.module_from_spec(spec)
spec.loader.exec_module(noise)


def test_changes_inside_the_tolerance_are_noise():
    assert noise.verdict(127.05668, 127.05660, 1e-5) == "noise"  # measured between machines
    assert noise.verdict(0.8522, 0.8560, 0.01) == "noise"
    assert noise.verdict(0.8522, 0.8760, 0.01) == "CHANGED"
    assert noise.verdict(None, 1.0, 0.01) == "added"
    assert noise.verdict(1.0, None, 0.01) == "removed"


def test_metrics_files_map_to_their_task():
    assert noise.task_of("metrics/dji.json") == "dji"
    assert noise.task_of("metrics/headline/dji.json") == "dji"
    assert noise.task_of("metrics/train/imdb/imdb-lstm/metrics.json") == "imdb"


def test_every_task_has_a_tolerance():
    conf = yaml.safe_load((CI / "tolerances.yaml").read_text())
    composed = yaml.safe_load((CI.parent / "params.yaml").read_text())
    assert set(composed["tasks"]) | set(composed["text_tasks"]) <= set(conf["tasks"])
