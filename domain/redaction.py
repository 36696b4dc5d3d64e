"""Keeping a pensioner's data out of failure messages, log lines and spans.

Messages are built from codes, field locations and error types, never from input values; these
functions are the scrubbing for text we do not write ourselves (a provider's description, a
pydantic error, an exception's message):

- :func:`redact`, for any text (logs and spans, as defense in depth): CPF-shaped numbers and the
  ``input_value=...`` pydantic quotes in its error texts.
- :func:`redact_provider_text`, for what a provider says about our request: also long digit runs
  (accounts, benefit numbers, postal codes, phones), e-mail addresses, quoted values, and the values
  we know are personal (the borrower's name, ...), wherever they appear and in any case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import ValidationError

REDACTED = "<redacted>"

# An 11-digit run (a CPF as we store it) or the formatted 000.000.000-00, not inside a longer
# token: a UUID's or a provider code's digits (LEG000041) stay readable.
_CPF = re.compile(r"(?<![0-9A-Za-z])(?:\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})(?![0-9A-Za-z])")
# pydantic prints the offending value in its error texts: "[type=missing, input_value={...}, input_type=dict]".
# Up to the input_type that follows, or to the end of the line when the text was cut short.
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|$)", re.MULTILINE)
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d{5,}(?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A quoted value, unless it is empty or reads as a field path (borrower.name, disbursement_options[0]):
# providers quote the offending value ("'' should be non-empty in borrower.name", seed 003).
# Quotes open and close at word boundaries, so an apostrophe (the provider's answer) is no quote.
_QUOTED = re.compile(r"""(?<!\w)(['"])(?![a-z_][a-z0-9_.\[\]]*\1)[^'"\n]+\1(?!\w)""")
# Keys (debt, request, document keys) are UUIDs: kept whole, even when a part of one is all digits.
_UUID = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")
MIN_KNOWN_LENGTH = 3


def redact(text: str) -> str:
    """CPF-shaped numbers and pydantic's quoted input values, replaced."""
    return _INPUT_VALUE.sub(f"input_value={REDACTED}", _CPF.sub(REDACTED, text))


def redact_provider_text(text: str, known: Iterable[str] = ()) -> str:
    """A provider's (or any outside) text about a request, with nothing personal left in it that we can
    recognise: the ``known`` personal values (any case), CPFs, e-mails, digit runs of 5 or more and
    quoted values. UUIDs (the provider's keys) are kept."""
    values = sorted({k.strip() for k in known if len(k.strip()) >= MIN_KNOWN_LENGTH}, key=len, reverse=True)
    pieces = _UUID.split(text)
    # re.split with a group: the UUIDs are at the odd indexes.
    return "".join(piece if index % 2 else _scrub(piece, values) for index, piece in enumerate(pieces))


def _scrub(text: str, known: list[str]) -> str:
    for value in known:
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    text = _EMAIL.sub(REDACTED, redact(text))
    text = _DIGIT_RUN.sub(REDACTED, text)
    return _QUOTED.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(1)}", text)


def validation_summary(error: ValidationError, *, limit: int = 5) -> str:
    """A pydantic error as locations, types and messages: never the input it was given."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:limit]:
        location = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{location}: {item['type']} ({redact(str(item['msg']))})")
    more = error.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
