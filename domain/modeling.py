"""What models do alike: check fields against each other, and make one model from another's fields.

Pure (the workflow re-validates its models on every replay).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

from pydantic import BaseModel, model_validator

T = TypeVar("T")

_HOW_MANY = {1: "one", 2: "two"}


def exactly(count: int, model: BaseModel, names: tuple[str, ...], *, then: str = "") -> None:
    """Refuse ``model`` unless exactly ``count`` of its fields ``names`` are given (the others None),
    naming the ones it gave; ``then`` says more (what becomes of the one left out)."""
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != count:
        raise ValueError(
            f"give exactly {_HOW_MANY[count]} of {', '.join(names)} (got {', '.join(given) or 'none'}){then}"
        )


def at_least_one(*names: str, refusal: str) -> Any:
    """A model validator refusing a model that gives none of its fields ``names`` (all None)."""

    def check(model: T) -> T:
        if all(getattr(model, name) is None for name in names):
            raise ValueError(refusal)
        return model

    return model_validator(mode="after")(check)


def all_different(*names: str, refusal: str, by: str | None = None) -> Any:
    """A model validator refusing a model whose fields ``names`` (or each one's ``by``) are not all
    different: the same document sent twice, say."""

    def check(model: T) -> T:
        values = [getattr(model, name) for name in names]
        keys = [getattr(value, by) for value in values] if by else values
        if len(set(keys)) != len(keys):
            raise ValueError(refusal)
        return model

    return model_validator(mode="after")(check)


def field_names(kind: type) -> list[str]:
    """A model's or a dataclass's fields, in order."""
    if dataclasses.is_dataclass(kind):
        return [field.name for field in dataclasses.fields(kind)]
    return list(cast("type[BaseModel]", kind).model_fields)


def copy_fields(kind: type[T], source: object, **values: Any) -> T:
    """A ``kind`` (a model or a dataclass) made of what ``source`` (one or the other) holds under the
    same field names, ``values`` for the others and for any it takes under another name."""
    held = set(field_names(type(source)))
    copied = {name: getattr(source, name) for name in field_names(kind) if name in held and name not in values}
    return kind(**copied, **values)
