"""CPF and CNPJ: normalisation, check digits, and masking for logs.

A CPF is accepted only when its two check digits match (Receita Federal's mod-11 rule);
repeated-digit numbers such as 111.111.111-11 pass the arithmetic but are not issued, so they
are refused too. CNPJ follows the same rule with its own weights and, from July 2026, may carry
letters in its first twelve positions (IN RFB 2.229/2024): each character counts as its ASCII
code minus 48, which leaves the numeric CNPJs unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_FORMATTING = re.compile(r"[.\-/\s]")


class InvalidDocumentError(ValueError):
    """A CPF or CNPJ that is malformed or whose check digits do not match."""


def _strip(value: str) -> str:
    return _FORMATTING.sub("", value).upper()


def _ascii(character: str) -> int:
    """A CNPJ character's value: its ASCII code minus 48 (a digit counts as itself)."""
    return ord(character) - 48


def _mod11_digit(values: list[int], weights: list[int]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def _document(
    value: object, kind: str, *, unit: str, pattern: str, malformed: str, weights: list[int], code: Callable[[str], int]
) -> str:
    """The characters of a valid ``kind`` (CPF, CNPJ), or InvalidDocumentError saying why: its shape,
    not one character repeated, and its two mod-11 check digits over each character's ``code`` (the
    second digit's weights start one higher)."""
    size = len(weights) + 2
    if not isinstance(value, str):
        raise InvalidDocumentError(f"{kind} must be a string of {size} {unit}")
    text = _strip(value)
    if not re.fullmatch(pattern, text):
        raise InvalidDocumentError(malformed)
    if text == text[0] * size:
        raise InvalidDocumentError(f"{kind} with all {unit} equal is not a valid {kind}")
    values = [code(c) for c in text]
    first = _mod11_digit(values[: size - 2], weights)
    second = _mod11_digit(values[: size - 1], [weights[0] + 1, *weights])
    if values[size - 2] != first or values[size - 1] != second:
        raise InvalidDocumentError(f"{kind} check digits do not match")
    return text


def normalize_cpf(value: str) -> str:
    """Return the 11 digits of a valid CPF, or raise InvalidDocumentError saying why."""
    malformed = "CPF must have exactly 11 digits"
    weights = list(range(10, 1, -1))
    return _document(value, "CPF", unit="digits", pattern=r"\d{11}", malformed=malformed, weights=weights, code=int)


def normalize_cnpj(value: str) -> str:
    """Return the 14 characters of a valid CNPJ (numeric or alphanumeric), or raise."""
    malformed = "CNPJ must have 12 letters or digits followed by 2 check digits"
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    pattern = r"[0-9A-Z]{12}\d{2}"
    return _document(
        value, "CNPJ", unit="characters", pattern=pattern, malformed=malformed, weights=weights, code=_ascii
    )


def is_valid_cpf(value: str) -> bool:
    try:
        normalize_cpf(value)
    except InvalidDocumentError:
        return False
    return True


def mask_cpf(value: str) -> str:
    """What a person may see in a log line: the middle digits hidden (***.456.789-**)."""
    cpf = _strip(value)
    if len(cpf) != 11:
        return "***"
    return f"***.{cpf[3:6]}.{cpf[6:9]}-**"


def keyed_hash(value: str, key: bytes, length: int = 16) -> str:
    """A stable pseudonym for PII (search attributes, span attributes): HMAC-SHA256, hex-truncated.

    Without the key nobody can test a guessed CPF against it, unlike a plain hash of an
    11-digit number, which is brute-forced in seconds.
    """
    return hmac.new(key, _strip(value).encode(), hashlib.sha256).hexdigest()[:length]


def _as_str(value: object) -> object:
    # Seeds send some numbers (benefit numbers, bank codes) as JSON numbers, some as strings.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Cpf = Annotated[str, BeforeValidator(_as_str), AfterValidator(normalize_cpf)]
"""A CPF validated by its check digits, stored as 11 digits."""

Cnpj = Annotated[str, BeforeValidator(_as_str), AfterValidator(normalize_cnpj)]
"""A CNPJ validated by its check digits, stored as 14 characters."""
