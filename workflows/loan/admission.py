"""How a start becomes a loan, whoever started it: the Python starter, a Go or TypeScript client, or
the ``temporal`` CLI. Pure; the workflow calls it on its first run.

A caller may send the loan's input (``{"request": {...}, "rules": ...}``) or only its request — the
caller-only schema (``starter/contract``). A start the worker cannot read ends the loan at once as
rejected, naming each field, instead of failing the first workflow task over and over; a start that
left the provider out is routed by the worker (``activities.admission``), recorded in its history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from domain.calendar import SAO_PAULO
from domain.loan import REQUEST_KEY_PATTERN, LoanRequest, Product
from workflows.loan.contract import LoanInput, request_key_of


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class LoanInputError(ValueError):
    """The request cannot start a loan; ``errors`` names each field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def field_errors(error: ValidationError, *, strip: str = "") -> list[FieldError]:
    """Each of pydantic's errors named by the caller's field path (``strip``: a prefix the caller did
    not send, e.g. ``request.`` when only the request came)."""
    errors = []
    for item in error.errors(include_input=False):  # the input may be a CPF or a name: never echoed
        location = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        location = location.removeprefix(strip) if strip else location
        message = str(item["msg"]).removeprefix("Value error, ")
        name, _, rest = message.partition(": ")
        if location in {"", strip.rstrip(".")} and rest and " " not in name:
            location, message = name, rest
        errors.append(FieldError(location or "(request)", message))
    return errors


def request_problems(request: LoanRequest, today: date) -> list[FieldError]:
    """The checks a valid request still fails on ``today`` (São Paulo's date): those JSON Schema cannot
    say. The starter applies them before it starts; the worker again for a start it did not see."""
    errors = []
    if request.financial.disbursement_date < today:
        errors.append(
            FieldError("financial.disbursement_date", f"{request.financial.disbursement_date} is in the past")
        )
    signed = request.authorization_term.signed_at.astimezone(SAO_PAULO).date()
    if signed > today:
        errors.append(FieldError("authorization_term.signed_at", "is in the future"))
    elif (today - signed).days > 30:
        errors.append(FieldError("authorization_term.signed_at", "the term is valid 30 days after signing"))
    signer = "legal_representative" if request.legal_representative else "borrower"
    if not request.signer.email:
        errors.append(FieldError(f"{signer}.email", "the signer's email is part of the IN100 authorization term"))
    return errors


def without_consultation(request: LoanRequest) -> list[FieldError]:
    """What a loan needs from its request when no IN100 consultation will find it ("Sem IN100",
    seed 003 observação 3): the benefit's assistance type and the account to pay into."""
    errors = []
    if not request.benefit.assistance_type:
        errors.append(
            FieldError("benefit.assistance_type", "required without an IN100 consultation (the lender has none)")
        )
    if not request.disbursement_accounts:
        errors.append(
            FieldError("disbursement_accounts", "required without an IN100 consultation (no paying account is known)")
        )
    return errors


@dataclass
class ReadStart:
    """What the worker read from a start: the loan's input, or why it cannot be a loan."""

    loan: LoanInput
    errors: list[FieldError] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return not self.errors


def read_start(data: Any, workflow_id: str) -> ReadStart:
    """The loan's input from a start's JSON: the input itself, or a caller's bare request."""
    bare = isinstance(data, dict) and "request" not in data and "request_key" in data
    try:
        return ReadStart(LoanInput.model_validate({"request": data} if bare else data))
    except ValidationError as error:
        errors = field_errors(error, strip="request." if bare else "")
    return ReadStart(
        _placeholder(data.get("request") if isinstance(data, dict) and not bare else data, workflow_id), errors
    )


def _placeholder(request: Any, workflow_id: str) -> LoanInput:
    """A loan input that only names the loan, for a start that cannot be read: the loan ends at once,
    and queries and visibility still find it under its key (nothing of the unread request is kept)."""
    key = request.get("request_key") if isinstance(request, dict) else None
    if not isinstance(key, str) or not re.fullmatch(REQUEST_KEY_PATTERN, key):
        key = request_key_of(workflow_id) or workflow_id
    product = request.get("product") if isinstance(request, dict) else None
    chosen = Product(product) if product in {p.value for p in Product} else Product.NEW_CREDIT
    fields: dict[str, Any] = {"request_key": key, "product": chosen, "provider": None}
    construct: Any = LoanRequest.model_construct  # unvalidated on purpose: the rest was unreadable
    return LoanInput.model_construct(request=construct(**fields))


def unreadable_reason(errors: list[FieldError]) -> str:
    return "unreadable request: " + "; ".join(str(e) for e in errors)
