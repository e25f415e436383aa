"""The params schema: every key params.yaml may hold, its type and its range (pydantic v2).

Why: a typo (`lookbak: 12`) used to be ignored silently and a bad value (`lookback: -3`)
surfaced as a numpy traceback deep inside a stage. Here both become one line that names
the full key path and the fix, before any work is done:

    params.yaml: tasks.sunspots.window.lookback: -3 must be >= 1

Two checks use these models:
- `check_params(tree)`: the whole tree, cross-references included (a variant's task must
  exist), when `python -m stages.profile` composes params.yaml from conf/.
- `check_entry(group, key, entry)`: one entry (e.g. `tasks.sunspots`), from stage_cli
  before a stage runs, so a stage reads (and DVC tracks) only its own section.

No TensorFlow here (the layer names come from stages/core/config/names.py); stages import this
module lazily, so pydantic is loaded only when params are checked.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from stages.core.config.base import Strict, problem
from stages.core.config.messages import messages
from stages.core.config.names import HEADLINE
from stages.core.config.tasks import Dataset, Task
from stages.core.config.text_tasks import TextTask
from stages.core.config.variants import TextVariant, Variant
from stages.core.io import PARAMS_FILE, StageError

# ----------------------------------------------------------------------------- the tree


class Run(Strict):
    """One entry of `runs` / `text_runs` (computed by stages/core/config/runs.py)."""

    variant: str
    """The variant trained."""
    task: str
    """Its task."""
    seed: int
    """The training seed."""
    classical: dict[str, Any] | None = None
    """A hybrid's base, copied from the task's `classical:` list; unset: a plain network."""
    horizon: Annotated[int, Field(ge=2)] | None = None
    """Outputs of a direct multi-step network, copied from the task's `horizon`; unset: one."""


class BacktestRun(Strict):
    """One entry of `backtests` (computed by stages/core/config/runs.py)."""

    task: str
    """The task whose `backtest` the stage runs."""


class Select(Strict):
    """`searches.<name>.select`: the validation number that picks a search's winner."""

    file: str
    """A metrics file, e.g. metrics/airline.json (read from each experiment's commit)."""
    key: Annotated[str, Field(min_length=1)]
    """Dotted path inside it, e.g. models.x.val.rmse_orig; a `test` part is refused."""
    goal: Literal["min", "max"]
    """Whether the lowest or the highest value wins."""

    @field_validator("key")
    @classmethod
    def validation_only(cls, key: str) -> str:
        if "test" in key.split("."):
            raise ValueError(f"{key!r} reads the test split; a search selects on validation")
        return key


class Search(Strict):
    """`searches.<name>` (stages/search.py): a grid of `dvc exp run --queue` experiments."""

    about: str
    """One line saying what the search compares, shown with its table."""
    targets: Annotated[list[str], Field(min_length=1)]
    """The stages `dvc exp run` reproduces, e.g. evaluate@airline."""
    grid: Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)]
    """Dotted params key to the values tried; one experiment per combination."""
    set: dict[str, Any] = {}
    """Fixed overrides (dotted key to value) for every point."""
    select: Select
    """The validation number that picks the winner."""

    @model_validator(mode="after")
    def disjoint(self) -> Search:
        both = sorted(set(self.grid) & set(self.set))
        if both:
            raise problem("set", f"{', '.join(both)} also in grid; keep each key in one place")
        return self


class Target(Strict):
    """`targets.<task>` (stages/report.py targets_table): what the task's best network,
    chosen on the VALIDATION split's headline metric, must reach on the test split (mean
    over seeds). An empty entry sets no target: the row reports the verdict only."""

    at_most: float | None = None
    """Test headline <= this (lower is better: RMSE in the task's units, bits/char)."""
    at_least: float | None = None
    """Test headline >= this (higher is better: accuracy)."""
    beat_baseline: bool = False
    """Also significantly better than the strongest baseline (alpha 0.05)."""

    @model_validator(mode="after")
    def one_bound(self) -> Target:
        if self.at_most is not None and self.at_least is not None:
            raise problem("at_least", "give at most one of 'at_most' and 'at_least'")
        return self


class Params(Strict):
    """The whole of params.yaml."""

    profile: str
    """The profile of conf/profile/ composed (default, smoke, paper, seeds, full)."""
    seed: int
    """Data shuffling seed (e.g. IMDB's validation reviews); not the training seeds."""
    seeds: Annotated[list[int], Field(min_length=1)]
    """Training seeds, distinct: every variant trains once per seed of its task."""
    runs: dict[str, Run] = {}
    """The forecasting run list, one entry per (variant, seed): computed, do not edit."""
    text_runs: dict[str, Run] = {}
    """The text run list, one entry per (text variant, seed): computed, do not edit."""
    backtests: dict[str, BacktestRun] = {}
    """The tasks with a `horizon`, one `backtest@<task>` stage each: computed, do not edit."""
    datasets: dict[str, Dataset]
    """Raw data: files to download or a generator, by name."""
    tasks: dict[str, Task] = {}
    """Forecasting tasks: a dataset plus a protocol, by name."""
    variants: dict[str, Variant] = {}
    """Forecasting networks, by name."""
    text_tasks: dict[str, TextTask] = {}
    """Text tasks (sentiment or charlm), by name."""
    text_variants: dict[str, TextVariant] = {}
    """Text networks, by name."""
    published: dict[str, str] = {}
    """Variant name to what its seed published, shown beside our numbers."""
    searches: dict[str, Search] = {}
    """Named grids of `dvc exp run` experiments (python -m stages.search run <name>)."""
    targets: dict[str, Target] = {}
    """Per task: what its best network must reach on the test split."""

    @field_validator("seeds")
    @classmethod
    def distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{seeds} must be distinct integers")
        return seeds


ENTRY_MODELS: dict[str, Any] = {
    "datasets": Dataset,
    "tasks": Task,
    "variants": Variant,
    "text_tasks": TextTask,
    "text_variants": TextVariant,
    "runs": Run,
    "text_runs": Run,
    "backtests": BacktestRun,
    "searches": Search,
    "targets": Target,
}


# ----------------------------------------------------------------------------- checks


def cross_references(tree: dict[str, Any]) -> list[str]:
    """Names that must exist elsewhere in the tree (checked at compose time only)."""
    out = []
    datasets = tree.get("datasets") or {}
    for group, target, kinds in (
        ("tasks", "datasets", datasets),
        ("text_tasks", "datasets", datasets),
        ("variants", "tasks", tree.get("tasks") or {}),
        ("text_variants", "text_tasks", tree.get("text_tasks") or {}),
    ):
        key = "dataset" if target == "datasets" else "task"
        for name, entry in (tree.get(group) or {}).items():
            ref = (entry or {}).get(key)
            if isinstance(ref, str) and ref not in kinds:
                close = difflib.get_close_matches(ref, list(kinds), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(kinds)}"
                out.append(f"{group}.{name}.{key}: {ref!r} is not in {target} ({hint})")
    trained = {**(tree.get("variants") or {}), **(tree.get("text_variants") or {})}
    for name in tree.get("published") or {}:
        if name not in trained:
            out.append(f"published.{name}: no variant of that name; remove it or fix the name")
    out += target_directions(tree) + text_hybrid_names(tree)
    return out


def text_baseline_names(cfg: dict[str, Any]) -> list[str]:
    """The baselines evaluate_text fits for a text task, by the names its metrics use."""
    if cfg.get("kind") == "charlm":
        return ["unigram", "ngram"]
    specs = [*(cfg.get("tfidf_baselines") or []), *(cfg.get("nbsvm_baselines") or [])]
    return ["majority", *(s.get("name") for s in specs if isinstance(s, dict))]


def text_hybrid_names(tree: dict[str, Any]) -> list[str]:
    """A text hybrid names a text variant of its own task and one of that task's baselines."""
    variants = tree.get("text_variants") or {}
    out = []
    for task, cfg in (tree.get("text_tasks") or {}).items():
        known = text_baseline_names(cfg or {})
        for i, entry in enumerate((cfg or {}).get("hybrids") or []):
            if not isinstance(entry, dict):
                continue
            where = f"text_tasks.{task}.hybrids[{i}]"
            variant, base = entry.get("variant"), entry.get("baseline")
            if (variants.get(variant) or {}).get("task") != task:
                ours = [n for n, v in variants.items() if (v or {}).get("task") == task]
                out.append(
                    f"{where}.variant: {variant!r} is not a text variant of {task} "
                    f"(known: {', '.join(ours)})"
                )
            if base not in known:
                out.append(
                    f"{where}.baseline: {base!r} is not a baseline of {task} "
                    f"(known: {', '.join(known)})"
                )
    return out


def target_directions(tree: dict[str, Any]) -> list[str]:
    """A target's bound must point the way its task's headline improves (RMSE and bits/char
    at_most, accuracy at_least). A task absent from the tree is not an error: the report
    gives it a row saying it was not run."""
    kinds = dict.fromkeys(tree.get("tasks") or {}, "forecast")
    kinds |= {t: (c or {}).get("kind") for t, c in (tree.get("text_tasks") or {}).items()}
    out = []
    for task, goal in (tree.get("targets") or {}).items():
        if kinds.get(task) not in HEADLINE or not isinstance(goal, dict):
            continue
        metric, _, lower = HEADLINE[kinds[task]]
        wrong, right = ("at_least", "at_most") if lower else ("at_most", "at_least")
        if goal.get(wrong) is not None:
            better = "lower" if lower else "higher"
            out.append(f"targets.{task}.{wrong}: {metric} is better {better}; use '{right}'")
    return out


def fail(lines: list[str], source: str, fix: str) -> None:
    """Raise one StageError listing every problem, one per line."""
    if lines:
        body = "\n".join(f"{source}: {text}" for text in lines)
        raise StageError(f"{body}\n{fix}")


def check_params(tree: Any, source: str = str(PARAMS_FILE), fix: str = "") -> Params:
    """The whole tree, cross-references included; raises StageError listing every problem."""
    fix = fix or "Fix the values in conf/ and re-compose: python -m stages.profile <profile>."
    if not isinstance(tree, dict):
        fail(["expected a mapping at the top level"], source, fix)
    try:
        params = Params.model_validate(tree)
    except ValidationError as exc:
        fail(messages(exc, Params), source, fix)
    fail(cross_references(tree), source, fix)
    return params


def validated(kind: Any, value: Any, where: str, source: str = str(PARAMS_FILE)) -> Any:
    """`value` as the config object `kind` (a model or a tagged union such as `Classical`),
    for code handed a piece of params outside a stage's own entry; one StageError naming
    `where` (e.g. tasks.airline.classical[0]) and every problem otherwise."""
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        fail(
            messages(exc, kind, (where,)),
            source,
            f"Fix {where} in conf/ and re-compose: python -m stages.profile <profile>.",
        )


def check_entry(group: str, key: str, entry: Any, source: str = str(PARAMS_FILE)) -> Any:
    """One entry, e.g. tasks.sunspots, before a stage uses it; the rest of params is not read.
    Returns the validated config object (a `Task`, `Variant`, ...; None for a group without
    a model), every default filled in from the schema."""
    model = ENTRY_MODELS.get(group)
    if model is None:
        return None
    wrapper = dict[str, model]  # one-key mapping: the loc then starts with the key
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(wrapper, config=None).validate_python({key: entry})[key]
    except ValidationError as exc:
        fail(
            messages(exc, wrapper, (group,)),
            source,
            f"Fix {group}.{key} in conf/ and re-compose: python -m stages.profile <profile>.",
        )
