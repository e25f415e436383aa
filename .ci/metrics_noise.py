"""`dvc metrics diff A B`, with each change marked as noise or as a real change.

    python .ci/metrics_noise.py [A [B]]      (default: HEAD~1 HEAD)

Training numbers differ slightly between machines (oneDNN picks kernels by CPU; see the
README's Reproducibility section). A change whose relative size is within its task's
tolerance in .ci/tolerances.yaml is printed as `noise`; anything larger as `CHANGED`.
Prints markdown, a per-task summary, then the changed values (real changes first); the
pull-request report (.ci/pr_report.py) includes it. Always exits 0: it informs the reader
of a CI log or a pull request, it does not judge the commit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SHOWN = 80  # rows printed at most (a retraining commit changes hundreds of values)


def task_of(path: str) -> str:
    """metrics/<task>.json, metrics/headline/<task>.json, metrics/train/<task>/<variant>/..."""
    parts = Path(path).parts
    return parts[2] if len(parts) > 3 and parts[1] in ("train", "samples") else Path(path).stem


def targets() -> list[str]:
    """The headline files DVC lists as metrics, and the per-task files with every number
    (plain outputs, so `dvc metrics show` stays narrow; named here to diff them too)."""
    return sorted(str(p) for p in Path("metrics").glob("*.json")) + sorted(
        str(p) for p in Path("metrics/headline").glob("*.json")
    )


def verdict(old, new, tolerance: float) -> str:
    if not isinstance(old, int | float) or not isinstance(new, int | float):
        return "added" if old is None else "removed" if new is None else "CHANGED"
    scale = max(abs(old), 1e-12)
    return "noise" if abs(new - old) / scale <= tolerance else "CHANGED"


def dvc(*args: str) -> subprocess.CompletedProcess:
    """DVC from the interpreter running this script (the project's venv, PATH or not)."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], capture_output=True, text=True, check=False
    )


def report_lines(a: str, b: str) -> list[str]:
    """Markdown: a per-task summary, then the changed values (real changes first)."""
    conf = yaml.safe_load((HERE / "tolerances.yaml").read_text())
    proc = dvc("metrics", "diff", a, b, "--json", "--targets", *targets())
    if proc.returncode:
        return [f"(dvc metrics diff unavailable: {proc.stderr.strip()[:300]})"]
    diff = json.loads(proc.stdout or "{}")
    rows, summary = [], {}
    for path, metrics in sorted(diff.items()):
        task = task_of(path)
        tolerance = float(conf["tasks"].get(task, conf["default"]))
        for name, change in sorted(metrics.items()):
            mark = verdict(change.get("old"), change.get("new"), tolerance)
            rows.append(
                (mark != "noise", task, path, name, change.get("old"), change.get("new"), mark)
            )
            counts = summary.setdefault(task, {})
            counts[mark] = counts.get(mark, 0) + 1
    if not rows:
        return [f"no metric changed between {a} and {b}"]
    lines = [f"metrics changed between {a} and {b}, per task (tolerances: .ci/tolerances.yaml):"]
    lines.append("")
    for task, counts in sorted(summary.items()):
        lines.append(f"- {task}: " + ", ".join(f"{n} {mark}" for mark, n in sorted(counts.items())))
    lines += ["", "| verdict | file | metric | old | new |", "| --- | --- | --- | --- | --- |"]
    for _, _, path, name, old, new, mark in sorted(rows, key=lambda r: (not r[0], r[1]))[:SHOWN]:
        lines.append(f"| {mark} | {path} | {name} | {old} | {new} |")
    if len(rows) > SHOWN:
        more = len(rows) - SHOWN
        lines.append(f"... and {more} more (dvc metrics diff {a} {b} --all shows them)")
    return lines


def main(argv: list[str]) -> None:
    a, b = (argv + ["HEAD~1", "HEAD"][len(argv) :])[:2]
    print("\n".join(report_lines(a, b)))


if __name__ == "__main__":
    main(sys.argv[1:])
