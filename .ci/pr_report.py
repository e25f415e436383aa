"""What a change did to the committed results, as markdown: the pull-request report.

    python .ci/pr_report.py BASE [HEAD]      (HEAD defaults to HEAD)

One script for the two places that show it, so they show the same text: the GitHub
workflow (.github/workflows/pull-request.yml) posts its output on the pull request with
`cml comment create`, and `.ci/run` prints it in its log. Three parts:

- `dvc metrics diff --md BASE HEAD`: the headline metrics dvc.yaml declares;
- every number in metrics/<task>.json that moved, marked noise or CHANGED against the
  task's cross-machine tolerance (.ci/metrics_noise.py);
- the figures that changed: every committed PNG under plots/ that differs between BASE
  and HEAD, both versions side by side. Every figure `dvc plots show` draws is such a
  git-tracked PNG, so this is what `dvc plots diff BASE HEAD` would draw, without a DVC
  remote. Both versions are written under .pr_report/ (git-ignored) and linked by relative
  path; `cml comment create` uploads the images it finds linked.

Metrics and figures are git-tracked outputs (cache: false), so no DVC cache is read.
Always exits 0: it informs the reader, it does not judge the change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import metrics_noise  # beside this file: Python puts the script's folder on sys.path

ASSETS = Path(".pr_report")
FIGURES_SHOWN = 30  # a retraining commit changes every figure; a comment stays readable


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, check=False)


def headline_diff(a: str, b: str) -> list[str]:
    """DVC's own markdown table of the metrics dvc.yaml declares (the headline files)."""
    proc = metrics_noise.dvc("metrics", "diff", a, b, "--md")
    if proc.returncode:
        return [f"(dvc metrics diff unavailable: {proc.stderr.strip()[:300]})"]
    table = proc.stdout.strip().splitlines()
    return table if len(table) > 2 else [f"no headline metric changed between {a} and {b}"]


def changed_figures(a: str, b: str) -> list[tuple[str, str]]:
    """(status, path) of every PNG under plots/ that differs: A added, D deleted, M..."""
    proc = git("diff", "--name-status", "--no-renames", a, b, "--", "plots/*.png")  # any depth
    rows = [line.split("\t", 1) for line in proc.stdout.decode().splitlines() if "\t" in line]
    return sorted({(status[0], path) for status, path in rows}, key=lambda r: r[1])


def extract(rev: str, path: str, side: str) -> str:
    """The file as it is in `rev`, written to .pr_report/<side>/<path>; its relative path."""
    target = ASSETS / side / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(git("show", f"{rev}:{path}").stdout)
    return target.as_posix()


def figure_rows(a: str, b: str) -> list[str]:
    """A markdown table: each changed figure, before and after."""
    changed = changed_figures(a, b)
    if not changed:
        return [f"no figure changed between {a} and {b}"]
    lines = ["| figure | before | after |", "| --- | --- | --- |"]
    for status, path in changed[:FIGURES_SHOWN]:
        old = "(new)" if status == "A" else f"![{path} before]({extract(a, path, 'base')})"
        new = "(deleted)" if status == "D" else f"![{path} after]({extract(b, path, 'head')})"
        lines.append(f"| `{path}` | {old} | {new} |")
    if len(changed) > FIGURES_SHOWN:
        lines.append(f"\n... and {len(changed) - FIGURES_SHOWN} more changed figures")
    return lines


def report(a: str, b: str) -> str:
    """The whole markdown report."""
    return "\n".join(
        [
            f"## Results: {a} → {b}",
            "",
            "### Headline metrics (`dvc metrics diff --md`)",
            "",
            *headline_diff(a, b),
            "",
            "### Every number, within tolerance or not",
            "",
            *metrics_noise.report_lines(a, b),
            "",
            "### Figures that changed",
            "",
            *figure_rows(a, b),
            "",
        ]
    )


def main(argv: list[str]) -> None:
    if not argv or len(argv) > 2:
        sys.exit(__doc__)
    print(report(argv[0], argv[1] if len(argv) > 1 else "HEAD"), end="")


if __name__ == "__main__":
    main(sys.argv[1:])
