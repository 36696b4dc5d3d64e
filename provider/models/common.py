"""Field types and small models shared by the provider's requests and responses."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from domain.documents import Cpf

from ..tolerant import OutboundModel

BRAZILIAN_STATES = frozenset(
    [
        "AC",
        "AL",
        "AP",
        "AM",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MT",
        "MS",
        "MG",
        "PA",
        "PB",
        "PR",
        "PE",
        "PI",
        "RJ",
        "RN",
        "RS",
        "RO",
        "RR",
        "SC",
        "SP",
        "SE",
        "TO",
    ]
)


def _two_places(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("money has at most 2 decimal places (centavos)")
    return value


def _state(value: str) -> str:
    upper = value.strip().upper()
    if upper not in BRAZILIAN_STATES:
        raise ValueError(f"{value!r} is not a Brazilian state (UF)")
    return upper


def _digits(length: tuple[int, int], what: str) -> AfterValidator:
    low, high = length

    def check(value: str) -> str:
        if not re.fullmatch(rf"\d{{{low},{high}}}", value):
            size = f"{low}" if low == high else f"{low} to {high}"
            raise ValueError(f"{what} must be {size} digits")
        return value

    return AfterValidator(check)


def _int_to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), AfterValidator(_two_places)]
"""An amount in reais sent to the provider: never negative, at most two decimal places."""

PositiveMoney = Annotated[Decimal, Field(gt=0, allow_inf_nan=False), AfterValidator(_two_places)]

Rate = Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)]
"""A rate as a fraction (0.0166 = 1.66 % a month)."""

State = Annotated[str, AfterValidator(_state)]

PostalCode = Annotated[str, BeforeValidator(lambda v: str(v).replace("-", "")), _digits((8, 8), "postal_code")]

BankCode = Annotated[str, BeforeValidator(_int_to_str), _digits((3, 3), "bank_code")]

Digits = Annotated[str, BeforeValidator(_int_to_str), _digits((1, 20), "value")]

BenefitNumber = Annotated[
    str,
    BeforeValidator(_int_to_str),
    _digits((1, 10), "benefit_number"),
    # Seed 004 sends the benefit number as a JSON number (2052711150).
    PlainSerializer(int, return_type=int),
]

NonEmptyStr = Annotated[str, Field(min_length=1)]


class Phone(OutboundModel):
    number: Annotated[str, _digits((8, 9), "phone number")]
    area_code: Annotated[str, _digits((2, 2), "area_code")]
    country_code: Annotated[str, _digits((2, 3), "country_code")] = "055"


class Address(OutboundModel):
    street: NonEmptyStr
    number: NonEmptyStr
    complement: str = ""
    neighborhood: str = ""
    city: NonEmptyStr
    state: State
    postal_code: PostalCode


class DisbursementAccount(OutboundModel):
    """Seed 004 §4 ``disbursement_bank_accounts[]`` (the plural form; 001's singular is older)."""

    name: NonEmptyStr
    bank_code: BankCode
    branch_number: Annotated[str, _digits((1, 5), "branch_number")]
    account_number: Annotated[str, _digits((1, 20), "account_number")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    document_number: Cpf
    transfer_method: Annotated[str, Field(pattern=r"^(pix|ted)$")] = "pix"
    account_type: Annotated[str, Field(pattern=r"^(checking_account|savings_account|payment_account)$")] | None = None
    percentage_receivable: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(100)
