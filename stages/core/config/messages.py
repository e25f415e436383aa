"""A pydantic validation error as one line per problem: the dotted key path from the top of
params, the problem in words, and for an unknown key the closest known one."""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel, Tag, ValidationError

from stages.core.config.base import TAG

# ----------------------------------------------------------------------------- messages


def allowed_keys(root: Any, loc: tuple) -> list[str]:
    """The keys a mapping at `loc` may hold, by walking the annotations from `root`."""
    node = root
    for part in loc:
        node = step(unwrap(node), part)
        if node is None:
            return []
    node = unwrap(node)
    return list(node.model_fields) if isinstance(node, type) else []


def unwrap(node: Any) -> Any:
    """Strip Annotated and Optional (X | None) down to the model, list, dict or union."""
    while True:
        origin = typing.get_origin(node)
        if origin is Annotated:
            node = typing.get_args(node)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(node) if a is not type(None)]
            if len(args) != 1:
                return node
            node = args[0]
        else:
            return node


def step(node: Any, part: Any) -> Any:
    """The annotation one loc element below `node` (a field, an item, a tagged member)."""
    origin = typing.get_origin(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(part)
        return field.annotation if field else None
    if origin is dict:
        return typing.get_args(node)[1]
    if origin is list:
        return typing.get_args(node)[0]
    if origin in (Union, types.UnionType):
        for member in typing.get_args(node):
            if typing.get_origin(member) is Annotated:
                base, *extra = typing.get_args(member)
                if any(isinstance(e, Tag) and e.tag == part for e in extra):
                    return base
    return None


def dotted(loc: tuple) -> str:
    """('tasks', 'dji', 'classical', 0, 'order') -> tasks.dji.classical[0].order."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif TAG not in str(part):
            out += f".{part}" if out else str(part)
    return out


LIMITS = {
    "greater_than_equal": ">= {ge}",
    "greater_than": "> {gt}",
    "less_than_equal": "<= {le}",
    "less_than": "< {lt}",
}


def line(error: dict, root: Any, prefix: tuple) -> str:
    """One pydantic error as `<path>: <problem>`, the path dotted from the top of params."""
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    full = prefix + loc
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(allowed)}"
        return f"{dotted(full)}: unknown key ({hint})"
    if kind == "missing":
        return f"{dotted(full)}: is required but missing; add it"
    if kind == "params":
        return f"{dotted(full + tuple(ctx['at'].split('.')))}: {ctx['text']}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return tag_line(full, ctx, value)
    if kind in LIMITS:
        return f"{dotted(full)}: {value!r} must be {LIMITS[kind].format(**ctx)}"
    if kind == "value_error":
        return f"{dotted(full)}: {error['msg'].removeprefix('Value error, ')}"
    message = error["msg"].replace("Input should be", "should be")
    message = re.sub(r"String should match pattern .*", "has the wrong form", message)
    message = re.sub(r" or instance of \w+", "", message).replace("valid dictionary", "mapping")
    return f"{dotted(full)}: {value!r} {message[:1].lower()}{message[1:]}"


def tag_line(loc: tuple, ctx: dict, value: Any) -> str:
    """An unknown or absent `type` / `kind` / `layout`, with the names that exist."""
    field, _, known = str(ctx.get("discriminator", "")).removesuffix("()").partition(TAG)
    if not isinstance(value, dict):
        return f"{dotted(loc)}: {value!r} should be a mapping"
    names = known.replace(",", ", ")
    if value.get(field) is None:
        return f"{dotted(loc + (field,))}: is required but missing; use one of: {names}"
    return f"{dotted(loc + (field,))}: {value[field]!r} is unknown; use one of: {names}"


def messages(exc: ValidationError, root: Any, prefix: tuple = ()) -> list[str]:
    """Every error of one validation, one line each, in the order of the params file."""
    return [line(error, root, prefix) for error in exc.errors(include_url=False)]


