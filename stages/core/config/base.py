"""Building blocks of the params schema: strict models, constrained numbers, and the
discriminators that make pydantic's errors name the field the user wrote.

Every config model (stages/core/config/tasks.py, variants.py, text_tasks.py, schema.py)
derives from `Strict`: an unknown key is an error, and `units: "32"` is not 32.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)
from pydantic_core import PydanticCustomError

# ----------------------------------------------------------------------------- helpers

PosInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, lt=1)]  # a share strictly between 0 and 1
DropRate = Annotated[float, Field(ge=0, lt=1)]  # dropout: 1 would drop everything
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Pair = Annotated[list[int], Field(min_length=2, max_length=2)]
TAG = "="  # discriminator tags are "<field>=<value>"; dropped from the key paths shown


def problem(at: str, text: str) -> PydanticCustomError:
    """An error raised by a model validator: `at` (a key below the model) joins its path."""
    return PydanticCustomError("params", "{text}", {"at": at, "text": text})


class Strict(BaseModel):
    """Unknown keys are errors and values are not coerced (`units: "32"` is not 32)."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


def tagged(field: str, known: tuple[str, ...], default: str | None = None, group=None):
    """A discriminator reading `field` (e.g. window.layout) for a union of models; `group`
    maps several values onto one tag (the three recurrent layer types share a model).
    Its name carries the field and the known values, which pydantic's error repeats."""

    def pick(value: Any) -> str | None:
        raw = value.get(field, default) if isinstance(value, dict) else None
        if not isinstance(raw, str):
            return None
        return f"{field}{TAG}{(group or {}).get(raw, raw)}"

    pick.__name__ = f"{field}{TAG}{','.join(known)}"
    return Discriminator(pick)


def shaped(default: str, **members: Any) -> Any:
    """A union picked by the value's shape (mapping, list, int, other value), so an error
    names the field and not the union member; other shapes are checked as `default`."""

    def pick(value: Any) -> str:
        if isinstance(value, dict):
            shape = "mapping"
        elif isinstance(value, list):
            shape = "list"
        elif isinstance(value, int) and not isinstance(value, bool):
            shape = "int"
        else:
            shape = "value"
        return f"shape{TAG}{shape if shape in members else default}"

    tags = tuple(Annotated[kind, Tag(f"shape{TAG}{name}")] for name, kind in members.items())
    return Annotated[Union[tags], Discriminator(pick)]  # noqa: UP007


