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
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_FORMATTING = re.compile(r"[.\-/\s]")


class InvalidDocumentError(ValueError):
    """A CPF or CNPJ that is malformed or whose check digits do not match."""


def _strip(value: str) -> str:
    return _FORMATTING.sub("", value).upper()


def _mod11_digit(values: list[int], weights: list[int]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def normalize_cpf(value: str) -> str:
    """Return the 11 digits of a valid CPF, or raise InvalidDocumentError saying why."""
    if not isinstance(value, str):
        raise InvalidDocumentError("CPF must be a string of 11 digits")
    cpf = _strip(value)
    if not re.fullmatch(r"\d{11}", cpf):
        raise InvalidDocumentError("CPF must have exactly 11 digits")
    if cpf == cpf[0] * 11:
        raise InvalidDocumentError("CPF with all digits equal is not a valid CPF")
    digits = [int(c) for c in cpf]
    first = _mod11_digit(digits[:9], list(range(10, 1, -1)))
    second = _mod11_digit(digits[:10], list(range(11, 1, -1)))
    if digits[9] != first or digits[10] != second:
        raise InvalidDocumentError("CPF check digits do not match")
    return cpf


def normalize_cnpj(value: str) -> str:
    """Return the 14 characters of a valid CNPJ (numeric or alphanumeric), or raise."""
    if not isinstance(value, str):
        raise InvalidDocumentError("CNPJ must be a string of 14 characters")
    cnpj = _strip(value)
    if not re.fullmatch(r"[0-9A-Z]{12}\d{2}", cnpj):
        raise InvalidDocumentError("CNPJ must have 12 letters or digits followed by 2 check digits")
    if cnpj == cnpj[0] * 14:
        raise InvalidDocumentError("CNPJ with all characters equal is not a valid CNPJ")
    values = [ord(c) - 48 for c in cnpj]
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    first = _mod11_digit(values[:12], weights)
    second = _mod11_digit(values[:13], [6, *weights])
    if values[12] != first or values[13] != second:
        raise InvalidDocumentError("CNPJ check digits do not match")
    return cnpj


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
