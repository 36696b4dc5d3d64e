"""The second provider's errors, in the first provider's classes (``activities.qitech.errors``).

Seed 003 prints one error, a 400 whose ``data`` is the error again *as a JSON string*, beside the
same fields in the clear::

    {"data": "{\\"title\\": ..., \\"code\\": \\"LEG000041\\"}", "title": "Request Validator Error",
     "description": "'' should be non-empty in borrower.name", "translation": "Payload Invalido",
     "extra_fields": {}, "code": "LEG000041"}

:func:`parse_error_body` reads it (``data`` first, the clear fields where ``data`` is missing or
unreadable) into an :class:`OperationRefused` that names the field the description ends with
("... in borrower.name" → ``borrower.name``). The provider names its own model's fields, not our
payload's: :data:`FIELD_ALIASES` says which payload field each one is, where we know it (ASSUMPTION:
the seed shows only ``borrower.name``, which can only be ``client.person_name``).

Classification, as ``activities.qitech.errors`` says: connection errors, timeouts, 5xx and 429 are
retryable (:class:`ProviderUnavailable`); 401/403 after a fresh token is :class:`ProviderAuthError`;
other 4xx are :class:`OperationRefused` (a :class:`ProviderBusinessError`: repeating changes
nothing). One more, for creation only: the seed shows no idempotency key, so a creation whose answer
was lost *after* the request went out may have created the operation; that is
:class:`OperationOutcomeUnknown`, not retryable as such (the caller reconciles before creating again).
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Unpack

from activities.qitech.errors import (
    ErrorFields,
    ProviderAuthError,
    ProviderBusinessError,
    ProviderError,
    ProviderUnavailable,
    refused_by_status,
)
from activities.wire import decode

__all__ = [
    "FIELD_ALIASES",
    "OperationNotFound",
    "OperationOutcomeUnknown",
    "OperationRefused",
    "ProviderAuthError",
    "ProviderBusinessError",
    "ProviderError",
    "ProviderUnavailable",
    "classify",
    "field_of",
    "parse_error_body",
]

FIELD_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "borrower.name": "client.person_name",
        "borrower.mother_name": "client.mother_name",
        "borrower.birth_date": "client.birth_date",
        "borrower.document_number": "client.document_number",
        "borrower.individual_document_number": "client.document_number",
        "borrower.email": "client.email",
    }
)
"""The provider's field path → the payload field it is (assumed beyond ``borrower.name``)."""

_FIELD_AT_END = re.compile(r"\bin ([A-Za-z_][\w]*(?:(?:\.[A-Za-z_]\w*)|(?:\[\d+\]))*)\s*\.?\s*$")


def field_of(description: str | None) -> str | None:
    """The field a validator description names at its end ("... in borrower.name"), if any."""
    if not description:
        return None
    found = _FIELD_AT_END.search(description)
    return found.group(1) if found else None


class OperationRefused(ProviderBusinessError):
    """The provider refused the request (seed 003's 400 shape), naming the field when it says one."""

    DETAILS = (*ProviderBusinessError.DETAILS, "title", "translation", "field", "payload_field")

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        translation: str | None = None,
        field: str | None = None,
        extra_fields: dict[str, Any] | None = None,
        **fields: Unpack[ErrorFields],
    ) -> None:
        super().__init__(message, **fields)
        self.title = title
        self.translation = translation
        self.field = field
        """The field as the provider names it (``borrower.name``)."""
        self.payload_field = FIELD_ALIASES.get(field or "", field)
        """The same field in our payload (``client.person_name``), where :data:`FIELD_ALIASES` knows it."""
        self.extra_fields = extra_fields or {}


class OperationNotFound(OperationRefused):
    """404 on an operation's ``debt_key``: the provider does not have it."""


class OperationOutcomeUnknown(ProviderError):
    """A creation went out and its answer did not come back (read timeout, dropped connection,
    504): the provider may have created the operation. Not retryable as such — with no idempotency
    key in the seed, creating again could make a second operation; reconcile first."""

    retryable = False


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_error_body(body: Any, *, status: int = 400, path: str = "") -> OperationRefused:
    """Seed 003's 400 body (or anything like it) as a typed refusal."""
    outer: dict[str, Any] = body if isinstance(body, dict) else {}
    inner: dict[str, Any] = {}
    data = outer.get("data")
    if isinstance(data, str):
        try:
            parsed = decode(data)
        except ValueError:
            parsed = None
        inner = parsed if isinstance(parsed, dict) else {}
    elif isinstance(data, dict):
        inner = data

    def pick(name: str) -> Any:
        value = inner.get(name)
        return value if value not in (None, "") else outer.get(name)

    code, description = _text(pick("code")), _text(pick("description") or pick("message"))
    extra = pick("extra_fields")
    field = field_of(description)
    cls = OperationNotFound if status == 404 else OperationRefused
    return cls(
        f"provider refused {path or 'the request'}: {code or status} {description or ''}".strip(),
        status=status,
        code=code,
        description=description,
        path=path,
        title=_text(pick("title")),
        translation=_text(pick("translation")),
        field=field,
        extra_fields=extra if isinstance(extra, dict) else None,
    )


UNKNOWN_OUTCOME_STATUSES = (504,)
"""A gateway that timed out waiting for the provider: the request may have been processed."""


def classify(status: int, content: bytes, headers: dict[str, str] | Any, path: str) -> ProviderError | None:
    """The error an answer means, or None for a success."""
    if status < 300:
        return None
    body: Any = None
    try:
        body = decode(content) if content else None
    except ValueError:
        body = None
    refused = parse_error_body(body, status=status, path=path)
    by_status = refused_by_status(status, headers, path, code=refused.code, description=refused.description)
    return by_status or refused
