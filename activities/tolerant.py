"""Base classes for inbound (tolerant) and outbound (strict) provider models.

Inbound: unknown fields are kept (``model_extra``) and an enum value we do not know yet is kept
as an :class:`Unknown` string instead of failing the whole webhook. :func:`unknown_values` lists
every such value with its path, so the gateway and the workflow can flag it instead of guessing.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    PlainSerializer,
    WrapValidator,
    model_validator,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from domain.calendar import SAO_PAULO

E = TypeVar("E", bound=Enum)


class Unknown(str):
    """A value the provider sent that we could not interpret (new enum value, odd date).

    It is still a ``str``: it serialises and compares as the raw text, so nothing is lost.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Unknown({str.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


def json_native(value: Any) -> Any:
    """Opaque JSON as JSON-native Python, so it survives a JSON round trip unchanged.

    Bodies are decoded with exact Decimals; a Decimal inside a field we do not model would come
    back from Temporal's JSON as a string. A float is written back as the same digits whenever
    its repr reproduces the Decimal's text, which holds for every number the seeds print there.
    """
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and "." not in str(value) and "E" not in str(value):
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dict):
        return {k: json_native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_native(v) for v in value]
    return value


OpaqueJson = Annotated[Any, BeforeValidator(json_native)]
"""A JSON value we carry without modelling it (e.g. a TED refusal's bank details)."""


class InboundModel(BaseModel):
    """A provider payload we receive: extra fields kept, values coerced where the seeds vary."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _extras_json_native(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        declared = _declared_names(cls)
        if all(k in declared for k in data):
            return data
        return {k: (v if k in declared else json_native(v)) for k, v in data.items()}


@functools.cache
def _declared_names(cls: type[BaseModel]) -> frozenset[str]:
    # Per class, once: this runs for every inbound object, down to each installment of a simulation.
    return frozenset(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}


class OutboundModel(BaseModel):
    """A payload we send: every field declared, nothing extra, validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


def open_enum_validator(enum_cls: type[E]) -> WrapValidator:
    """Validator for ``Annotated[MyEnum | Unknown, open_enum_validator(MyEnum)]`` fields."""
    by_lower = {str(m.value).lower(): m for m in enum_cls}

    def validate(value: Any, handler: Any) -> Any:
        if isinstance(value, enum_cls):
            return value
        if isinstance(value, str):
            member = by_lower.get(value.lower())
            if member is not None:
                return member
            return Unknown(value)
        if isinstance(value, bool) or value is None:
            raise PydanticCustomError("open_enum", "expected a string enumerator, got {value!r}", {"value": value})
        # Numeric codes (e.g. block_type 0..3 in the tables) are kept as text.
        return Unknown(str(value))

    return WrapValidator(validate)


_DATE_FORMATS = ("%Y-%m-%d", "%d%m%Y", "%d/%m/%Y")


def _lenient_date(value: Any) -> Any:
    if value is None or isinstance(value, date | Unknown):
        return value.date() if isinstance(value, datetime) else value
    text = str(value).strip()
    if len(text) == 10 and text[4] == "-":
        # The common spelling (and how a date comes back from our own JSON): no strptime needed.
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date has no zone
        except ValueError:
            continue
    return Unknown(text)


_NAIVE_DT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _lenient_datetime(value: Any) -> Any:
    if value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SAO_PAULO)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return Unknown(text)
    if parsed.tzinfo is None:
        # The manuals print local times without an offset ("2022-11-07 13:54:58"); the provider
        # and Dataprev run on Brasília time.
        if not _NAIVE_DT.match(text):
            return Unknown(text)
        parsed = parsed.replace(tzinfo=SAO_PAULO)
    return parsed


def _serialize_lenient(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


LenientDate = Annotated[date | Unknown, BeforeValidator(_lenient_date), PlainSerializer(_serialize_lenient)]
"""A date in any of the seeds' spellings (2022-09-02, 07021961); unparseable text kept as Unknown."""

LenientDatetime = Annotated[datetime | Unknown, BeforeValidator(_lenient_datetime), PlainSerializer(_serialize_lenient)]
"""An aware datetime; naive provider timestamps are read as America/Sao_Paulo."""


_SCALARS = (int, float, Decimal, date, Enum, bool)


def unknown_values(model: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(path, raw value)`` for every Unknown anywhere inside a parsed payload."""
    if isinstance(model, Unknown):
        yield path, str(model)
    elif isinstance(model, _SCALARS):
        return
    elif isinstance(model, BaseModel):
        items = dict(model.__dict__)
        items.update(model.model_extra or {})
        for name, value in items.items():
            if value is None or type(value) is str or (isinstance(value, _SCALARS) and not isinstance(value, Unknown)):
                continue  # most fields: skip the recursion (simulations carry hundreds of them)
            yield from unknown_values(value, f"{path}.{name}" if path else name)
    elif isinstance(model, list | tuple):
        for index, value in enumerate(model):
            yield from unknown_values(value, f"{path}[{index}]")
    elif isinstance(model, dict):
        for key, value in model.items():
            yield from unknown_values(value, f"{path}.{key}" if path else str(key))
