"""How long each stage of `dvc repro` took: the measured run behind the README's timing table.

    python -m benchmarks.stage_times --run [dvc repro args]   # run it, timing every stage
    python -m benchmarks.stage_times LOG                        # or read a timed log

`--run` passes `dvc repro`'s output through, prefixes every line with the epoch second it
arrived in a log (benchmarks/last_run.log, git-ignored), and at the end prints a
markdown table: seconds per stage family (`train@*`, `evaluate@*`, ...), the slowest
stages, and the total wall time. A stage's time runs from its "Running stage" line to
the next one (or the end), so DVC's own bookkeeping is counted with the stage.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

STAGE = re.compile(r"^(\d+) Running stage '([^']+)'")
END = re.compile(r"^(\d+) (?:EXIT|END)")
LOG = Path("benchmarks/last_run.log")


def run(args: list[str], log: Path = LOG) -> None:
    """`dvc repro args`, every output line timestamped into `log` and echoed."""
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            ["dvc", "repro", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in proc.stdout:
            out.write(f"{int(time.time())} {line}")
            sys.stdout.write(line)
        out.write(f"{int(time.time())} EXIT {proc.wait()}\n")


def durations(lines: list[str]) -> tuple[dict[str, int], int]:
    """Seconds per stage, and the wall time from the first to the last line."""
    stamps = [int(line.split(" ", 1)[0]) for line in lines if line[:1].isdigit()]
    marks = [(int(m[1]), m[2]) for line in lines if (m := STAGE.match(line))]
    marks.append((stamps[-1], None))
    seconds = {name: end - start for (start, name), (end, _) in zip(marks, marks[1:], strict=False)}
    return seconds, stamps[-1] - stamps[0]


def table(seconds: dict[str, int], total: int, slowest: int = 8) -> str:
    families: dict[str, list[int]] = defaultdict(list)
    for name, s in seconds.items():
        families[name.split("@")[0]].append(s)
    rows = ["| Stages | Count | Seconds |", "| --- | --- | --- |"]
    for family, values in sorted(families.items(), key=lambda kv: -sum(kv[1])):
        rows.append(f"| `{family}@*` | {len(values)} | {sum(values):,} |")
    rows.append(f"| **total (wall)** | {len(seconds)} | **{total:,}** ({total / 60:.1f} min) |")
    top = sorted(seconds.items(), key=lambda kv: -kv[1])[:slowest]
    rows += ["", "Slowest: " + ", ".join(f"`{name}` {s:,} s" for name, s in top)]
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--run"]:
        run(argv[1:])
        path = LOG
    elif len(argv) == 1:
        path = Path(argv[0])
    else:
        raise SystemExit(__doc__)
    seconds, total = durations(path.read_text(encoding="utf-8").splitlines())
    print(table(seconds, total))


if __name__ == "__main__":
    main(sys.argv[1:])
