"""The schema's check at Hydra composition, for `dvc exp run` as for `python -m stages.profile`.

`dvc exp run -S key=value` composes params.yaml inside DVC, before any project code runs,
so a misspelt key used to surface as Hydra's "Could not override ... use +" (and, with the
`+`, as a params.yaml that ran the pipeline until a stage refused it). hydra_plugins/
rnn_checks.py calls `install()` while Hydra scans for plugins, which both composition
paths do first; from then on Hydra's step that applies the overrides also checks the
composed tree against stages/core/config/schema.py, so a bad override or a typo in conf/
stops the composition with the schema's one line per problem: nothing is written or run.
"""

from __future__ import annotations

import difflib
from typing import Any

from dvc.exceptions import DvcException
from hydra.errors import ConfigCompositionException

COMPUTED = ("runs", "text_runs", "backtests")  # the resolvers' lists, not resolved yet
FIX = "Fix conf/ or the override and re-run; nothing was composed or run."


class CompositionError(ConfigCompositionException, DvcException):
    """The schema's problems with a composition. A DvcException so that DVC's CLI prints it as
    `ERROR: <lines>` (not as an "unexpected error" with a support link); a Hydra exception so
    that stages/profile.py catches it with the rest of Hydra's."""

    def __init__(self, profile: str, lines: list[str]) -> None:
        self.profile, self.lines = profile, lines
        body = "\n".join(f"conf/ (profile {profile}): {line}" for line in lines)
        super().__init__(f"{body}\n{FIX}")


def override_lines(tree: dict[str, Any], overrides: list[str]) -> list[str]:
    """One line per `key=value` override whose key `tree` lacks: a key the schema knows but
    conf/ leaves unset needs Hydra's leading `+`; any other is a typo, with the closest key
    as at any unknown key in conf/ (stages/core/config/messages.py)."""
    out = []
    for override in overrides:
        key, sep, _ = override.partition("=")
        if sep and not key.startswith(("+", "~")):
            out.extend(missing_key_line(tree, key.split("."), override))
    return out


def missing_key_line(tree: dict[str, Any], parts: list[str], override: str) -> list[str]:
    """The line for one override's key path, or none when the path is there (or runs into a
    value, where Hydra's own message says more)."""
    from stages.core.config.messages import allowed_keys
    from stages.core.config.schema import Params

    node, depth = tree, 0
    while depth < len(parts) and isinstance(node, dict) and parts[depth] in node:
        node, depth = node[parts[depth]], depth + 1
    if depth == len(parts) or not isinstance(node, dict):
        return []
    at, missing = ".".join(parts[: depth + 1]), parts[depth]
    known = sorted({*node, *allowed_keys(Params, tuple(parts[:depth]))})
    if missing in known and depth == len(parts) - 1:
        return [f"{at}: not set in conf/, so it cannot be overridden; add it: +{override}"]
    close = difflib.get_close_matches(missing, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
    return [f"{at}: unknown key ({hint})"]


def schema_lines(tree: dict[str, Any]) -> list[str]:
    """check_params' problems as bare lines (the caller names the source): the model's, or
    when it validates, the cross-references'."""
    from pydantic import ValidationError

    from stages.core.config.messages import messages
    from stages.core.config.schema import Params, cross_references

    try:
        Params.model_validate(tree)
    except ValidationError as exc:
        return messages(exc, Params)
    return cross_references(tree)


def checked_apply(apply: Any) -> Any:
    """Hydra's ConfigLoaderImpl._apply_overrides_to_config, checking the result. Only a
    composition (a tree with Hydra's `hydra` node) is checked: DVC also calls it to set
    keys in params files Hydra does not compose."""

    def wrapped(overrides: list[Any], cfg: Any) -> None:
        if "hydra" not in cfg:
            return apply(overrides, cfg)
        try:
            apply(overrides, cfg)
        except ConfigCompositionException:
            lines = override_lines(plain(cfg), [o.input_line or "" for o in overrides])
            if lines:
                raise CompositionError(profile_of(cfg), lines) from None  # DVC prints causes
            raise
        lines = schema_lines(plain(cfg))
        if lines:
            raise CompositionError(profile_of(cfg), lines)

    wrapped.rnn_checked = True  # type: ignore[attr-defined]
    return wrapped


def plain(cfg: Any) -> dict[str, Any]:
    """The composed tree as params.yaml will hold it, less Hydra's node and the run lists."""
    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(tree, dict)
    return {k: v for k, v in tree.items() if k != "hydra" and k not in COMPUTED}


def profile_of(cfg: Any) -> str:
    """The profile being composed (each conf/profile/<name>.yaml sets `profile: <name>`)."""
    return str(cfg.get("profile", "?"))


def install() -> None:
    """Wrap Hydra's override step once per process (Hydra scans for plugins once)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    apply = ConfigLoaderImpl._apply_overrides_to_config
    if not getattr(apply, "rnn_checked", False):
        ConfigLoaderImpl._apply_overrides_to_config = staticmethod(checked_apply(apply))
