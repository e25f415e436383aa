"""Write docs/params.md, the params reference, from the schema (stages/core/config/).

    python -m stages.params_reference          # rewrite docs/params.md
    python -m stages.params_reference --check  # exit 1 when docs/params.md is out of date

Every key params.yaml may hold, with its type, default and meaning, comes from the pydantic
models: the walk starts at `Params` and follows nested models, lists and mappings of models
and the tagged unions (window layouts, classical kinds, layer types, text task kinds), one
table per model. The meanings are the fields' attribute docstrings, so the page cannot drift
from the code (tests/test_params_reference.py). No TensorFlow is imported.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from stages.core.config.base import TAG
from stages.core.config.schema import Params
from stages.core.io import atomic_path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "params.md"
COMMAND = "python -m stages.params_reference"
# the placeholder shown for an entry's name in each top-level mapping
PLACEHOLDER = {
    "runs": "<run>",
    "text_runs": "<run>",
    "datasets": "<name>",
    "tasks": "<task>",
    "variants": "<name>",
    "text_tasks": "<task>",
    "text_variants": "<name>",
    "searches": "<name>",
    "targets": "<task>",
}
INTRO = f"""\
# Params reference

Every key `params.yaml` may hold: its type, its default and what it means. This page is
generated from the schema (the pydantic models in `stages/core/config/` and their field
descriptions) by `{COMMAND}`: do not edit it by hand. A test fails when it
differs from what the schema gives, so change a description in the code and rerun the
command. The values themselves live in `conf/`: `conf/config.yaml` and the profiles in
`conf/profile/`, composed into `params.yaml`.

Names in angle brackets stand for an entry's name (`tasks.<task>`), `[i]` for any item of a
list. A key with a default may be left out; a "required" key may not. Where a section is a
choice of models (a window's `layout`, a classical model's `kind`, a layer's `type`, a text
task's `kind`), each choice has its own table.
"""


# ----------------------------------------------------------------------------- types


def unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """The type inside any Annotated layers, and their metadata (Field constraints included)."""
    meta: list[Any] = []
    while typing.get_origin(tp) is Annotated:
        tp, *extra = typing.get_args(tp)
        meta = [*meta, *extra]
    flat: list[Any] = []
    for item in meta:
        flat += item.metadata if isinstance(item, FieldInfo) else [item]
    return tp, flat


def constraint(meta: list[Any], name: str) -> Any:
    """The value of constraint `name` (ge, gt, le, lt, min_length, max_length, pattern)."""
    for item in meta:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def members(tp: Any) -> list[tuple[Any, str | None]]:
    """A union's members with their discriminator tags (None when untagged)."""
    out = []
    for arg in typing.get_args(tp):
        inner, meta = unwrap(arg)
        tags = [m.tag for m in meta if hasattr(m, "tag")]
        out.append((arg, tags[0] if tags else None))
    return out


def tag_field(tag: str | None) -> str | None:
    """The field a tag like `layout=sliding` discriminates on; None for shape tags."""
    if tag is None:
        return None
    name = tag.split(TAG, 1)[0]
    return None if name == "shape" else name


def choice_values(model: type[BaseModel], field_name: str) -> list[str]:
    """The values of a tagged model's discriminator field (its Literal)."""
    return [str(v) for v in typing.get_args(model.model_fields[field_name].annotation)]


def numeric(name: str, meta: list[Any]) -> str:
    low = [(">=", "[", constraint(meta, "ge")), (">", "(", constraint(meta, "gt"))]
    high = [("<=", "]", constraint(meta, "le")), ("<", ")", constraint(meta, "lt"))]
    lo = next((x for x in low if x[2] is not None), None)
    hi = next((x for x in high if x[2] is not None), None)
    if lo and hi:
        return f"{name} in {lo[1]}{lo[2]}, {hi[2]}{hi[1]}"
    if lo:
        return f"{name} {lo[0]} {lo[2]}"
    if hi:
        return f"{name} {hi[0]} {hi[2]}"
    return name


def counted(meta: list[Any]) -> str:
    low, high = constraint(meta, "min_length"), constraint(meta, "max_length")
    if low is not None and low == high:
        return f" ({low} items)"
    if low is not None and high is not None:
        return f" ({low} to {high} items)"
    if low is not None:
        return f" (at least {low})"
    return f" (at most {high})" if high is not None else ""


def grouped(text: str) -> str:
    """A union inside a list or mapping, in parentheses: `list of (int or null)`."""
    return f"({text})" if " or " in text and not text.startswith("mapping by") else text


def describe(tp: Any, meta: list[Any] | None = None, nested: bool = False) -> str:
    """A readable type: `int >= 1`, `float in (0, 1)`, `one of: a | b`, `list of str`,
    `optional ...` (null allowed); `nested` is the form inside a list, mapping or union."""
    inner, more = unwrap(tp)
    meta = [*(meta or []), *more]
    if is_union(inner):
        parts = [m for m in members(inner) if m[0] is not type(None)]
        optional = len(parts) < len(typing.get_args(inner))
        fields = {tag_field(tag) for _, tag in parts}
        if len(fields) == 1 and None not in fields:
            key = fields.pop()
            values = [v for m, _ in parts for v in choice_values(unwrap(m)[0], key)]
            text = f"mapping by `{key}`: " + " | ".join(values)
        elif len(parts) == 1:
            text = describe(parts[0][0], meta, nested)
        else:
            text = " or ".join(describe(m, nested=True) for m, _ in parts)
        if not optional:
            return text
        return f"{text} or null" if nested else f"optional {text}"
    origin = typing.get_origin(inner)
    if origin is Literal:
        values = [json.dumps(v) if v is None else str(v) for v in typing.get_args(inner)]
        if len(values) == 1:
            return f"`{values[0]}`"
        return f"({' | '.join(values)})" if nested else "one of: " + " | ".join(values)
    if origin is list:
        (item,) = typing.get_args(inner)
        return f"list of {grouped(describe(item, nested=True))}{counted(meta)}"
    if origin is dict:
        key, value = typing.get_args(inner)
        pair = f"{describe(key, nested=True)} to {grouped(describe(value, nested=True))}"
        return f"mapping of {pair}{counted(meta)}"
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "mapping"
    if inner is Any:
        return "any value"
    if inner is bool:
        return "bool"
    if inner in (int, float):
        return numeric(inner.__name__, meta)
    if inner is str:
        pattern = constraint(meta, "pattern")
        if pattern is not None:
            return f"str matching `{pattern}`"
        return "str (non-empty)" if constraint(meta, "min_length") else "str"
    return getattr(inner, "__name__", str(inner))


def models_in(tp: Any) -> list[tuple[type[BaseModel], str | None]]:
    """The models a field's type holds (through lists, mappings, unions), with their tags."""
    inner, _ = unwrap(tp)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return [(inner, None)]
    if is_union(inner):
        out = []
        for member, tag in members(inner):
            out += [(m, tag or t) for m, t in models_in(member)]
        return out
    out = []
    for arg in typing.get_args(inner):
        out += models_in(arg)
    return out


def container_suffix(tp: Any, placeholder: str) -> str:
    """What a field's key path gains on the way to its models: `[i]` or `.<name>`."""
    inner, _ = unwrap(tp)
    if is_union(inner):
        for member, _tag in members(inner):
            suffix = container_suffix(member, placeholder)
            if suffix:
                return suffix
        return ""
    origin = typing.get_origin(inner)
    if origin is list:
        return "[i]" + container_suffix(typing.get_args(inner)[0], placeholder)
    if origin is dict:
        return f".{placeholder}" + container_suffix(typing.get_args(inner)[1], placeholder)
    return ""


# ----------------------------------------------------------------------------- markdown


def plain(text: str) -> str:
    """Markdown-safe prose: `|`, `<` (an HTML tag's start) and `*` escaped outside code
    spans; a code span may not hold a `|` (it would split a table cell)."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        raise ValueError(f"unbalanced backticks in {text!r}")
    for i, part in enumerate(parts):
        if i % 2:
            if "|" in part:
                raise ValueError(f"a code span may not hold '|': {text!r}")
            continue
        for old, new in (("|", "\\|"), ("<", "&lt;"), ("*", "\\*")):
            part = part.replace(old, new)
        parts[i] = part
    return "`".join(parts)


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def paragraphs(doc: str | None) -> str:
    """A docstring as markdown paragraphs (its lines joined, blank lines kept)."""
    blocks = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(plain(one_line(b)) for b in blocks if b.strip())


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        plain_ok = value and value == value.strip() and re.fullmatch(r"[\w.:/+-]+", value)
        return value if plain_ok else json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return "{}"  # every key at its own default
    return repr(value)


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    text = scalar(info.get_default(call_default_factory=True))
    return f"`{text}`" if "|" not in text and "`" not in text else plain(text)


# ----------------------------------------------------------------------------- the walk


def table_lines(rows: list[tuple[str, str, str, str]]) -> list[str]:
    head = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    return head + [
        f"| `{key}` | {kind} | {default} | {text} |" for key, kind, default, text in rows
    ]


@dataclass
class Table:
    path: str
    model: type[BaseModel]
    choice: str = ""  # e.g. "layout: sliding" for a member of a tagged union
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def markdown(self, heading: bool = True) -> str:
        title = f"### `{self.path}`" + (f" ({self.choice})" if self.choice else "")
        lines = [title, ""] if heading else []
        doc = self.model.__dict__.get("__doc__")
        if doc:
            lines += [paragraphs(doc), ""]
        return "\n".join([*lines, *table_lines(self.rows)])


def choice_label(model: type[BaseModel], tag: str | None) -> str:
    key = tag_field(tag)
    if key is None:
        return ""
    return f"{key}: " + " / ".join(choice_values(model, key))


def row(path: str, info: FieldInfo) -> tuple[str, str, str, str]:
    kind = plain(describe(info.annotation, list(info.metadata)))
    return path, kind, default_text(info), plain(one_line(info.description))


def walk(path: str, model: type[BaseModel], tag: str | None, seen: set, out: list[Table]) -> None:
    """One table for `model` at `path`, then the tables of the models below it, in order."""
    if (path, model) in seen:
        return
    seen.add((path, model))
    table = Table(path, model, choice_label(model, tag))
    out.append(table)
    below = []
    for name, info in model.model_fields.items():
        key = f"{path}.{name}"
        table.rows.append(row(key, info))
        sub = key + container_suffix(info.annotation, "<name>")
        below += [(sub, m, t) for m, t in models_in(info.annotation)]
    for sub, m, t in below:
        walk(sub, m, t, seen, out)


def all_models(root: type[BaseModel] = Params) -> list[type[BaseModel]]:
    """Every model reachable from `root`, each once, in walk order."""
    found: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in found:
            return
        found.append(model)
        for info in model.model_fields.values():
            for sub, _tag in models_in(info.annotation):
                visit(sub)

    visit(root)
    return found


def render() -> str:
    """The whole page."""
    top = Table("", Params)
    sections = []
    for name, info in Params.model_fields.items():
        top.rows.append(row(name, info))
        nested = models_in(info.annotation)
        if not nested:
            continue
        path = name + container_suffix(info.annotation, PLACEHOLDER.get(name, "<name>"))
        key, _, default, meaning = top.rows[-1]
        top.rows[-1] = (key, f"mapping of names to entries: `{path}` below", default, meaning)
        tables: list[Table] = []
        seen: set = set()
        for model, tag in nested:
            walk(path, model, tag, seen, tables)
        # the group's own model shares the group's heading; the models below it get theirs
        own = tables[0].path == path and not tables[0].choice
        head = [f"## `{path}`", "", plain(one_line(info.description))]
        body = [t.markdown(heading=not (own and i == 0)) for i, t in enumerate(tables)]
        sections.append("\n\n".join(["\n".join(head), *body]))
    lines = ["## Top-level keys", "", paragraphs(Params.__doc__), "", *table_lines(top.rows)]
    scalars = "\n".join(lines)
    return "\n\n".join([INTRO.rstrip("\n"), scalars, *sections]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="default: docs/params.md")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            shown = os.path.relpath(args.out)
            print(f"{shown} is out of date with the schema: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    with atomic_path(args.out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"wrote {os.path.relpath(args.out)} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
