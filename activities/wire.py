"""How our models travel over HTTP to and from the provider: exact numbers both ways."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from uuid import UUID

import simplejson
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | IPv4Address | IPv6Address):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot send {type(value).__name__} to the provider")


def to_wire(value: BaseModel | dict[str, Any] | list[Any]) -> Any:
    """Plain Python data (Decimal kept) for a model, omitting unset optional fields."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", by_alias=True, exclude_none=True)
    return value


def encode(value: BaseModel | dict[str, Any] | list[Any]) -> bytes:
    """JSON bytes with every Decimal written as the exact number it is (100.00, not "100.00")."""
    text: str = simplejson.dumps(to_wire(value), use_decimal=True, default=_default, ensure_ascii=False)
    return text.encode()


def decode(body: bytes | str) -> Any:
    """JSON with numbers as Decimal, so 3187.44 stays 3187.44."""
    return simplejson.loads(body, use_decimal=True)
