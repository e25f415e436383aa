"""The command line of a stage: read params.yaml, check one entry against the schema, run.

This lives beside the schema, not in stages/core/io.py, so that plumbing never imports the
config models (io is imported by everything, the schema only when params are checked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stages.core.io import StageError, load_params, run_stage, section


def checked(params: dict[str, Any], group: str, key: str) -> Any:
    """params[group][key] after the schema accepts it: one line per problem, naming its path."""
    from stages.core.config.schema import check_entry  # pydantic: only when params are checked

    entry = section(params, group, key)
    check_entry(group, key, entry)
    return entry


def typed(params: dict[str, Any], group: str, key: str) -> Any:
    """params[group][key] as its validated config object (stages/core/config/): attributes
    with the schema's defaults, so a stage never restates a default with `.get`."""
    from stages.core.config.schema import check_entry

    return check_entry(group, key, section(params, group, key))


def stage_cli(module: str, group: str | None, run: Callable[..., Any]) -> None:
    """The whole command line of a `foreach` stage: `python -m stages.<module> <key>`.

    Reads params.yaml, looks up `<group>.<key>` (with a clear error for an unknown key),
    checks that entry, and only that, against stages/core/config/schema.py before any work (the
    stage's DVC params stay narrow; the whole tree is checked when params.yaml is
    composed), and calls run(key, entry, params); with group None, run(key, params).
    """

    def main(argv: list[str]) -> None:
        if len(argv) != 1:
            raise StageError(f"usage: python -m stages.{module} <{group or 'key'}>")
        params = load_params()
        if group is None:
            run(argv[0], params)
        else:
            entry = checked(params, group, argv[0])
            run(argv[0], entry, params)

    run_stage(main)
