"""Reading JSON from outside: nesting counted before any parser recurses, numbers bounded as they are
read, and everything a provider really sends read exactly as before (Decimal kept)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.wire import MAX_DEPTH, NumberOutOfRange, TooDeep, decode, nesting_depth


def _true_depth(value: Any) -> int:
    """The depth by walking the parsed value (the reference the scan must agree with)."""
    if isinstance(value, dict):
        return 1 + max((_true_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_true_depth(v) for v in value), default=0)
    return 0


# Strings full of what could fool a scanner: brackets, quotes and backslashes, escaped or not.
_tricky = st.text(alphabet='[]{}"\\ab\n\t\u00e9', max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _tricky,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_tricky, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_json, st.booleans())
def test_the_scan_counts_the_depth_a_parser_reaches_whatever_the_strings_hold(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert nesting_depth(text.encode()) == _true_depth(value)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"a": "[[[["}', 1),
        ('{"a": "\\"[[[["}', 1),  # an escaped quote does not end the string
        ('{"a": "\\\\", "b": [[1]]}', 3),  # an escaped backslash does not escape the closing quote
        ('{"a": "\\\\\\"[", "b": []}', 2),
        ("[]", 1),
        ("1", 0),
        ("", 0),
    ],
)
def test_brackets_inside_strings_do_not_count(text: str, depth: int) -> None:
    assert nesting_depth(text.encode()) == depth


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * 200_000,  # never closed: a parser would recurse all the same
        b'{"webhook_type": "debt", "data": ' + b'{"x": [' * 50_000 + b"1" + b"]}" * 50_000 + b"}",
    ],
)
def test_a_body_nested_100_000_deep_is_refused_before_parsing_quickly(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(TooDeep) as refused:
        decode(body)
    assert time.perf_counter() - started < 1.0
    assert refused.value.limit == MAX_DEPTH and refused.value.depth > MAX_DEPTH
    assert isinstance(refused.value, ValueError)  # callers that park malformed JSON keep doing so


def test_the_deepest_accepted_nesting_is_read() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert _true_depth(decode(at_limit)) == MAX_DEPTH
    with pytest.raises(TooDeep):
        decode("[" + at_limit + "]")


@pytest.mark.parametrize(
    "body",
    [
        b'{"installment_number": 1e999999999}',  # an int field would build a billion-digit integer
        b'{"amount": 1e-999999999}',
        b'{"count": ' + b"9" * 101 + b"}",
        b'{"count": -' + b"9" * 101 + b"}",
    ],
)
def test_a_number_past_the_digits_we_read_is_refused_as_it_is_read(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(NumberOutOfRange):
        decode(body)
    assert time.perf_counter() - started < 1.0


def test_what_a_provider_sends_is_read_exactly() -> None:
    body = b'{"amount": 3187.44, "rate": 0.0185, "n": 84, "zero": 0E-1000, "big": 123456789012345678.90}'
    assert decode(body) == {
        "amount": Decimal("3187.44"),
        "rate": Decimal("0.0185"),
        "n": 84,
        "zero": Decimal("0E-1000"),
        "big": Decimal("123456789012345678.90"),
    }
    assert str(decode(b"[100.00]")[0]) == "100.00"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[" + b"9" * 100 + b"]", [int("9" * 100)]),  # 100 digits: the most an int may have
        (b"[0." + b"0" * 98 + b"1]", [Decimal("1E-99")]),
        (b'{"e": true, "f": false, "n": 2.50}', {"e": True, "f": False, "n": Decimal("2.50")}),
        (b'{"note": "1e999999999", "n": 1}', {"note": "1e999999999", "n": 1}),  # in a string: not a number
        (b"[2.5e3, true]", [Decimal("2.5E+3"), True]),
    ],
)
def test_numbers_at_the_limits_read_the_same_whichever_way_the_parser_takes(body: bytes, expected: Any) -> None:
    assert decode(body) == expected


def test_a_fraction_past_the_digits_we_read_is_refused_among_plain_numbers() -> None:
    with pytest.raises(NumberOutOfRange):
        decode(b"[1.5, true, 0." + b"0" * 99 + b"1]")
