"""How our models travel over HTTP to and from the provider: exact numbers both ways."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from itertools import accumulate
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


MAX_DEPTH = 64
"""The deepest nesting of arrays and objects we read from outside. The provider's deepest body (a debt
webhook's contract with its installments, inside an envelope) nests under ten; the parser and the
models recurse once per level, so a body nested 100,000 deep within the size limit must be refused
before either sees it (an assumption: the provider publishes no limit)."""


MAX_NUMBER_DIGITS = 100
"""The most digits a number we read may need written out, before or after the point. Money and counts
need under twenty; ``1e999999999`` is a dozen bytes, yet validating it into an ``int`` field builds a
billion-digit integer (minutes of CPU), so it is refused as it is parsed (an assumption, like MAX_DEPTH)."""


class NumberOutOfRange(ValueError):
    def __init__(self) -> None:
        super().__init__(f"a number needs more than {MAX_NUMBER_DIGITS} digits")


def _decimal(text: str) -> Decimal:
    number = Decimal(text)
    if number.is_finite() and number and abs(number.adjusted()) >= MAX_NUMBER_DIGITS:
        raise NumberOutOfRange
    return number


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise NumberOutOfRange
    return int(text)


class TooDeep(ValueError):
    """The JSON nests deeper than ``MAX_DEPTH``: refused before any parser recursed into it."""

    def __init__(self, depth: int, limit: int) -> None:
        super().__init__(f"the JSON nests {depth} levels deep, more than the {limit} accepted")
        self.depth, self.limit = depth, limit


# [ and { open a level, ] and } close one; every other byte is dropped before counting.
_LEVEL = [0] * 256
_LEVEL[ord("[")] = _LEVEL[ord("{")] = 1
_LEVEL[ord("]")] = _LEVEL[ord("}")] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if not _LEVEL[b])


def _outside_strings(raw: bytes) -> bytes:
    r"""The JSON text with its strings cut out. Escapes are dropped first (``\\`` before ``\"``, left
    to right as a JSON reader pairs them), so the remaining quotes alternate in and out of strings."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(unescaped.split(b'"')[::2])


def _depth(outside: bytes) -> int:
    return max(accumulate(map(_LEVEL.__getitem__, outside.translate(None, _NOT_BRACKETS))), default=0)


def nesting_depth(body: bytes | str) -> int:
    """How deep the JSON nests, counted in one pass without recursion (C-speed: no per-byte Python).

    Only brackets outside strings count (:func:`_outside_strings`). For any prefix a JSON parser
    accepts, the running count is exactly its depth there; where the text stops being JSON the
    parser stops too, so the maximum bounds how deep a parser could recurse.
    """
    return _depth(_outside_strings(body.encode() if isinstance(body, str) else body))


# Every digit as 0: a run of MAX_NUMBER_DIGITS of them is one substring search away.
_ZEROED = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_RUN = b"0" * MAX_NUMBER_DIGITS


def _numbers_in_range(outside: bytes) -> bool:
    """True when no number in the text (its strings cut out) can be past ``MAX_NUMBER_DIGITS``: none
    has an exponent (an ``e`` or ``E`` other than true's and false's) and no run of digits is that
    long. Then every number parses as the checked parsers would, without a Python call per number."""
    if b"E" in outside or outside.count(b"e") != outside.count(b"true") + outside.count(b"false"):
        return False
    return _LONG_RUN not in outside.translate(_ZEROED)


def decode(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """JSON with numbers as Decimal, so 3187.44 stays 3187.44; nesting past ``max_depth`` is refused
    (``TooDeep``) before the recursive parser starts, a number past ``MAX_NUMBER_DIGITS`` as it is
    read (``NumberOutOfRange``); both are ValueErrors, as malformed JSON is."""
    raw = body.encode() if isinstance(body, str) else body
    outside = _outside_strings(raw)
    depth = _depth(outside)
    if depth > max_depth:
        raise TooDeep(depth, max_depth)
    if _numbers_in_range(outside):
        # The common case (every provider body): the parser builds each Decimal and int itself.
        return simplejson.loads(raw, parse_float=Decimal)
    return simplejson.loads(raw, parse_float=_decimal, parse_int=_integer)
