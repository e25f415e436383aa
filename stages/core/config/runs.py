"""Which (variant, seed) pairs are trained: the run list behind `train@<variant>-s<seed>`.

DVC's `foreach` needs one entry per stage, and `matrix` over the variants dict yields only
its keys (a stage could not find its task), so the list is computed when params.yaml is
composed: conf/config.yaml has `runs: ${rnn_runs:${variants},${tasks},${seeds}}`, and
hydra_plugins/rnn_runs.py registers `rnn_runs` as this module's `runs`. A new seed in
`seeds` adds new stages and leaves the trained ones cached.
"""

from __future__ import annotations

from typing import Any

NAIVE_BASE = "naive"  # `hybrid: naive`: the network forecasts the change from the last value


def task_seeds(seeds: list[int], task_cfg: dict[str, Any] | None) -> list[int]:
    """The seeds a task trains: the first `tasks.<task>.seeds` of the list, or all of them.

    The default profile trains one seed of the slow text and Jena tasks (`seeds: 1`) and
    every listed seed of the rest: one list for the whole project, a count per task.
    """
    count = (task_cfg or {}).get("seeds")
    return list(seeds) if count is None else list(seeds)[: int(count)]


def runs(
    variants: dict[str, dict], tasks: dict[str, dict], seeds: list[int]
) -> dict[str, dict[str, Any]]:
    """{"<variant>-s<seed>": {variant, task, seed}} for every enabled variant and its task's
    seeds. `enabled: false` leaves a variant defined but untrained: Hydra merges configs
    and cannot delete a key, so this is how a profile (smoke) switches one off."""
    seeds = [int(s) for s in seeds or []]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"params: seeds must be a non-empty list of distinct integers: {seeds}")
    out: dict[str, dict[str, Any]] = {}
    for name, variant in (variants or {}).items():
        if (variant or {}).get("enabled", True) is False:
            continue
        task = (variant or {}).get("task")
        if not isinstance(task, str):  # DVC would interpolate it as data/prepared/None
            raise ValueError(f"params: variant {name!r} has no `task`; add one (a task's name)")
        task_cfg = (tasks or {}).get(task) or {}
        base = hybrid_base(name, variant, task, task_cfg)
        for seed in task_seeds(seeds, task_cfg):
            out[f"{name}-s{seed}"] = {"variant": name, "task": task, "seed": seed}
            if base is not None:
                out[f"{name}-s{seed}"]["classical"] = base
            if outputs(task_cfg) > 1:
                out[f"{name}-s{seed}"]["horizon"] = outputs(task_cfg)
    return out


def outputs(task_cfg: dict) -> int:
    """How many steps a task's networks forecast at once: its `horizon` when they forecast
    directly (copied into each run, so a backtest edit retrains nothing), else 1."""
    horizon = task_cfg.get("horizon")
    recursive = bool((task_cfg.get("backtest") or {}).get("recursive"))
    return int(horizon) if horizon and not recursive else 1


def backtests(tasks: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """{task: {task}} for every task with a `horizon`: the `backtest@<task>` stages."""
    chosen = [name for name, cfg in (tasks or {}).items() if (cfg or {}).get("horizon")]
    return {name: {"task": name} for name in chosen}


def classical_entry(specs: list | None, name: str) -> dict | None:
    """The entry of a task's `classical:` list called `name`, or None."""
    for spec in specs or []:
        if isinstance(spec, dict) and spec.get("name") == name:
            return spec
    return None


def classical_names(specs: list | None) -> str:
    """The names of a task's `classical:` entries, for error messages ("none" if empty)."""
    return ", ".join(str(s.get("name")) for s in specs or [] if isinstance(s, dict)) or "none"


def hybrid_base(name: str, variant: dict, task: str, task_cfg: dict) -> dict | None:
    """A hybrid variant's classical model (`variants.<v>.hybrid` names an entry of the
    task's `classical:` list), copied into its runs: the training stage then depends on
    that entry and the task's `window` only, so a title or another baseline's edit does
    not retrain it. None for a plain network and for `hybrid: naive` (a network on the
    residuals of persistence, which needs no entry)."""
    hybrid = variant.get("hybrid")
    if not hybrid or hybrid == NAIVE_BASE:
        return None
    spec = classical_entry(task_cfg.get("classical"), hybrid)
    if spec is None:
        raise ValueError(
            f"params: variants.{name}.hybrid is {hybrid!r}, which is not in "
            f"tasks.{task}.classical (known: {classical_names(task_cfg.get('classical'))}); "
            "name one of those or add it there"
        )
    return spec
