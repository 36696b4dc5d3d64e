"""The sandbox's JSON, both ways: numbers stay exact (``Decimal``), as the provider's bodies print them.

The sandbox's own, not the client's: a double that read and wrote JSON through the code under test
could never show it a number written another way.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import simplejson
from fastapi.responses import Response
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", exclude_none=True)
    raise TypeError(f"the sandbox cannot write {type(value).__name__} as JSON")


def encode(value: Any) -> bytes:
    """JSON bytes; a ``Decimal`` is written as the number it is (``100.00``, never ``"100.00"``)."""
    text: str = simplejson.dumps(value, use_decimal=True, default=_default, ensure_ascii=False)
    return text.encode()


def decode(body: bytes | str) -> Any:
    """JSON with every fraction read as a ``Decimal`` (``3187.44`` stays ``3187.44``). Malformed JSON, or
    bytes that are not UTF-8, raise ``ValueError``."""
    return simplejson.loads(body, use_decimal=True)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(content=encode(body), status_code=status, media_type="application/json")
