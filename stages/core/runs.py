"""Which (variant, seed) pairs are trained: the run list behind `train@<variant>-s<seed>`.

DVC's `foreach` needs one entry per stage, and `matrix` over the variants dict yields only
its keys (a stage could not find its task), so the list is computed when params.yaml is
composed: conf/config.yaml has `runs: ${rnn_runs:${variants},${tasks},${seeds}}`, and
hydra_plugins/rnn_runs.py registers `rnn_runs` as this module's `runs`. A new seed in
`seeds` adds new stages and leaves the trained ones cached.
"""

from __future__ import annotations

from typing import Any


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
        for seed in task_seeds(seeds, (tasks or {}).get(task)):
            out[f"{name}-s{seed}"] = {"variant": name, "task": task, "seed": seed}
    return out
