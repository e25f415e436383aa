"""Named searches: a grid of DVC experiments, run by one command, exported to a small file.

`searches.<name>` in conf/config.yaml (schema: stages/core/config/schema.py `Search`) names a
grid of params overrides. Why DVC's queue and not a loop of our own: each point is a
real `dvc exp run` (its params, outputs and metrics are an experiment commit that
`dvc exp show / apply / push` know), and the run-cache serves every stage the point does
not change. Experiments live only in the local repository, so what a reader needs is
exported to experiments/<name>.json (committed), which the report stage renders.

    python -m stages.search run <name> [key=value ...]   # queue, run one at a time, export
    python -m stages.search export <name> [key=value ...]  # export what the repo holds

Extra key=value arguments (e.g. profile=smoke) are Hydra overrides added to every point
and, like `set`, must hold in the experiments that export picks. The winner is chosen by
`select`, a validation number; no test number takes part. No TensorFlow here.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from stages.core.io import PARAMS_FILE, StageError, load_params, run_stage, write_json

EXPERIMENTS_DIR = Path("experiments")
ACTIVE = ("Queued", "Running")  # `dvc queue status` states of a task not yet finished
POLL_S = 10.0
MAX_STATUS_ERRORS = 3  # consecutive failed `dvc queue status` calls before giving up
STDERR_TAIL = 2000
BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")  # Hydra reads these as the same string
KEYWORDS = ("true", "false", "null", "nan", "inf")
USAGE = "usage: python -m stages.search {run|export} <search> [key=value ...]"


# ----------------------------------------------------------------------------- params


def search_entry(params: dict[str, Any], name: str) -> dict[str, Any]:
    """searches.<name>, checked against the schema; an unknown name lists the known ones."""
    from stages.core.config.schema import check_entry  # pydantic: only when a search is asked

    searches = params.get("searches") or {}
    if name not in searches:
        known = ", ".join(sorted(searches)) or "none"
        raise StageError(
            f"{PARAMS_FILE}: no search '{name}' under 'searches' (known: {known}). "
            "Define it in conf/config.yaml and re-compose (python -m stages.profile default)."
        )
    check_entry("searches", name, searches[name])
    return searches[name]


def parse_extra(args: list[str]) -> dict[str, Any]:
    """`key=value` command-line overrides as {key: value}, values read as YAML (0.1 -> float)."""
    extra = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise StageError(f"{arg!r}: expected key=value (e.g. profile=smoke). {USAGE}")
        extra[key.lstrip("+")] = yaml.safe_load(value)
    return extra


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, in grid order: the first key varies slowest (itertools.product)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


# ----------------------------------------------------------------------------- commands


def hydra_value(value: Any) -> str:
    """A value written so that Hydra's override grammar parses it back to the same value
    and type: quoted strings (so '1' stays a string and 'a,b' is not a sweep), bare
    numbers and booleans, null, [lists] and {mappings}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        if BARE.fullmatch(value) and value.lower() not in KEYWORDS:
            return value  # a group choice such as profile=smoke must stay unquoted
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    raise StageError(f"{value!r}: a search value must be a number, string, bool, list or mapping")


def lookup(tree: Any, key: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key in a params tree; digits index lists (layers.0.units)."""
    node = tree
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def override_key(key: str, tree: dict[str, Any]) -> str:
    """`+key` where the composed config lacks the key (Hydra refuses to set it otherwise)."""
    return key if lookup(tree, key)[0] else f"+{key}"


def exp_run_command(
    search: dict[str, Any], tree: dict[str, Any], extra: dict[str, Any] | None = None
) -> list[str]:
    """The `dvc exp run --queue` command line that queues every grid point: one `-S` per
    grid key with its values comma-separated (Hydra's sweep: DVC queues the product),
    one per fixed override, then the targets."""
    args = ["dvc", "exp", "run", "--queue"]
    for key, values in search["grid"].items():
        rendered = ",".join(hydra_value(v) for v in values)
        args += ["-S", f"{override_key(key, tree)}={rendered}"]
    for key, value in {**(extra or {}), **(search.get("set") or {})}.items():
        args += ["-S", f"{override_key(key, tree)}={hydra_value(value)}"]
    return [*args, *search["targets"]]


def composed(extra: dict[str, Any]) -> dict[str, Any]:
    """conf/ composed as `dvc exp run` will (with the profile `extra` names, if any), to
    tell which keys exist; params.yaml is not touched."""
    from stages.profile import dump  # Hydra: only when a search is run

    profile = str(extra.get("profile", "default"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "params.yaml"
        dump(profile, [], out, Path("conf"))
        return yaml.safe_load(out.read_text(encoding="utf-8"))


def dvc(args: list[str], timeout: float = 600) -> str:
    """Run `dvc <args>`; a failure becomes a StageError with the tail of its stderr."""
    cmd = [sys.executable, "-m", "dvc", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise StageError(f"`dvc {shlex.join(args)}` did not finish in {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-STDERR_TAIL:].strip()
        raise StageError(f"`dvc {shlex.join(args)}` failed (exit {done.returncode}):\n{tail}")
    return done.stdout


# ----------------------------------------------------------------------------- the queue


def start_workers() -> None:
    """`dvc queue start -j 1`. Its worker is a detached process that keeps any pipe it
    inherits open until the queue is empty, so its output goes to a file, not a pipe."""
    args = ["queue", "start", "-j", "1"]
    with tempfile.TemporaryFile("w+") as err:
        done = subprocess.run(
            [sys.executable, "-m", "dvc", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            err.seek(0)
            tail = err.read()[-STDERR_TAIL:].strip()
            raise StageError(f"`dvc {shlex.join(args)}` failed (exit {done.returncode}):\n{tail}")


def queue_tasks(status: str) -> dict[str, tuple[str, str]]:
    """`dvc queue status` as {task id: (experiment name, state)}; the table's rows are
    `<task> <name> <created...> <state>`, the header and worker lines are skipped."""
    tasks = {}
    for line in status.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] != "Task" and not line.startswith("Worker"):
            tasks[words[0]] = (words[1], words[-1])
    return tasks


def wait(new: set[str], poll_s: float = POLL_S) -> dict[str, tuple[str, str]]:
    """Poll the queue until every task in `new` has finished, printing each change of
    state (started, finished) with the minutes since the wait began."""
    started, seen, done, errors = time.monotonic(), {}, 0, 0
    while True:
        try:
            status = dvc(["queue", "status"], timeout=120)
            errors = 0
        except StageError as exc:  # e.g. a lock held by the worker: try again, not forever
            errors += 1
            if errors >= MAX_STATUS_ERRORS:
                raise
            print(f"warning: {exc}; retrying", flush=True)
            time.sleep(poll_s)
            continue
        tasks = {t: v for t, v in queue_tasks(status).items() if t in new}
        for task, (name, state) in sorted(tasks.items()):
            if seen.get(task) != state:
                seen[task] = state
                done += state not in ACTIVE
                minutes = (time.monotonic() - started) / 60
                print(f"[{done}/{len(new)} done] {name}: {state} ({minutes:.1f} min)", flush=True)
        if all(state not in ACTIVE for _, state in tasks.values()):
            return tasks
        time.sleep(poll_s)


def run(name: str, extra: dict[str, Any]) -> Path:
    """Queue the grid, run it with one worker (TensorFlow already uses every core), wait,
    export."""
    search = search_entry(load_params(), name)
    cmd = exp_run_command(search, composed({**extra, **(search.get("set") or {})}), extra)
    before = set(queue_tasks(dvc(["queue", "status"])))
    print(shlex.join(cmd), flush=True)
    dvc(cmd[1:], timeout=1800)
    new = set(queue_tasks(dvc(["queue", "status"]))) - before
    if not new:
        raise StageError(f"`{shlex.join(cmd)}` queued nothing; see `dvc queue status`.")
    print(f"queued {len(new)} experiment(s); dvc queue start -j 1", flush=True)
    start_workers()
    wait(new)
    return export(name, extra)


# ----------------------------------------------------------------------------- export


def experiments(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every experiment of `dvc exp show --json` (HEAD's, the workspace row left out) as
    {name, rev, status, timestamp, params, metrics}, in the order DVC lists them. The
    status is the queue executor's state (success / failed / queued / running),
    capitalised as `dvc queue status` prints it; one run outside the queue has none."""
    found = []
    for baseline in shown:
        if baseline.get("rev") == "workspace":
            continue
        for exp_range in baseline.get("experiments") or []:
            state = ((exp_range.get("executor") or {}).get("state") or "success").capitalize()
            for rev in exp_range.get("revs") or []:
                data = rev.get("data") or {}
                params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
                metrics = {
                    path: entry.get("data") for path, entry in (data.get("metrics") or {}).items()
                }
                found.append(
                    {
                        "name": rev.get("name") or exp_range.get("name") or rev.get("rev"),
                        "rev": rev.get("rev"),
                        "status": "Failed" if rev.get("error") else state,
                        "timestamp": data.get("timestamp") or "",
                        "params": params,
                        "metrics": metrics,
                    }
                )
    return found


def matches(params: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """True when every key of `wanted` has that value in the experiment's params."""
    for key, value in wanted.items():
        found, actual = lookup(params, key)
        if not found or actual != value:
            return False
    return True


def pick(candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """One experiment for a grid point run more than once: a successful one first, then
    the newest (ties: DVC's order), so a rerun after a failure replaces the failure."""
    ranked = sorted(
        enumerate(candidates),
        key=lambda ic: (ic[1]["status"] != "Success", _neg(ic[1]["timestamp"]), ic[0]),
    )
    return ranked[0][1]


def _neg(timestamp: str) -> tuple[int, ...]:
    """A sort key that puts later ISO timestamps first."""
    return tuple(-ord(c) for c in timestamp)


def git_show(rev: str, path: str) -> str | None:
    """A file's text in an experiment's commit, or None when it is not there."""
    done = subprocess.run(
        ["git", "show", f"{rev}:{path}"], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout if done.returncode == 0 else None


def select_value(exp: dict[str, Any], select: dict[str, Any], read=git_show) -> float | None:
    """The select metric of one experiment: from `dvc exp show`'s metrics when the file is
    a DVC metric, else from the file in the experiment's commit (metrics/<task>.json is an
    uncached output, so it is committed there)."""
    data = exp["metrics"].get(select["file"])
    if data is None and exp["status"] == "Success" and exp["rev"]:
        text = read(exp["rev"], select["file"])
        data = json.loads(text) if text else None
    found, value = lookup(data or {}, select["key"])
    return float(value) if found and isinstance(value, (int, float)) else None


def rows_of(
    search: dict[str, Any], exps: list[dict[str, Any]], extra: dict[str, Any], read=git_show
) -> list[dict[str, Any]]:
    """One row per grid point, in grid order: its values, the experiment that ran it, its
    status and select metric. A point with no experiment is a `missing` row."""
    fixed = {**extra, **(search.get("set") or {})}
    rows = []
    for point in grid_points(search["grid"]):
        candidates = [e for e in exps if matches(e["params"], {**fixed, **point})]
        row: dict[str, Any] = {"params": point, "experiment": None, "status": "missing"}
        row["metric"] = None
        if candidates:
            exp = pick(candidates)
            row.update(experiment=exp["name"], status=exp["status"])
            row["metric"] = select_value(exp, search["select"], read)
            row["profile"] = exp["params"].get("profile")
            if row["status"] == "Success" and row["metric"] is None:
                row["status"] = f"no {search['select']['key']} in {search['select']['file']}"
        rows.append(row)
    return rows


def winner(rows: list[dict[str, Any]], goal: str) -> int | None:
    """Index of the best select metric (ties: the first in grid order), None if none has one."""
    scored = [(i, r["metric"]) for i, r in enumerate(rows) if r["metric"] is not None]
    if not scored:
        return None
    sign = 1 if goal == "min" else -1
    return min(scored, key=lambda im: (sign * im[1], im[0]))[0]


def document(
    name: str,
    search: dict[str, Any],
    shown: list[dict[str, Any]],
    extra: dict[str, Any],
    read=git_show,
) -> dict[str, Any]:
    """experiments/<name>.json's content: deterministic, no timestamps."""
    rows = rows_of(search, experiments(shown), extra, read)
    if all(r["status"] == "missing" for r in rows):
        raise StageError(
            f"search '{name}': no experiment of HEAD matches any of its {len(rows)} grid "
            f"points{' with ' + str(extra) if extra else ''} (experiments belong to the "
            "commit they ran from: `dvc exp show -A` lists all; check that commit out to "
            f"export them); run it first: python -m stages.search run {name}"
        )
    best = winner(rows, search["select"]["goal"])
    return {
        "search": name,
        "about": search["about"],
        "targets": search["targets"],
        "grid": search["grid"],
        "set": {**extra, **(search.get("set") or {})},
        "select": search["select"],
        "rows": rows,
        "winner": best,
    }


def export(name: str, extra: dict[str, Any], out_dir: Path = EXPERIMENTS_DIR) -> Path:
    """Write experiments/<name>.json from `dvc exp show --json` (HEAD's experiments)."""
    search = search_entry(load_params(), name)
    shown = json.loads(dvc(["exp", "show", "--json"]))
    doc = document(name, search, shown, extra)
    path = out_dir / f"{name}.json"
    write_json(path, doc)
    done = sum(r["status"] == "Success" for r in doc["rows"])
    best = "none" if doc["winner"] is None else doc["rows"][doc["winner"]]["params"]
    print(f"wrote {path}: {done}/{len(doc['rows'])} points succeeded; winner {best}")
    return path


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] not in ("run", "export"):
        raise StageError(USAGE)
    extra = parse_extra(argv[2:])
    (run if argv[0] == "run" else export)(argv[1], extra)


if __name__ == "__main__":
    run_stage(main)
