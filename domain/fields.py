"""Value types of a loan's data (money, rates, Brazilian states, bank and benefit numbers, phone,
address): validated once, shared by the loan request and by the provider's outbound models."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

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


class StrictModel(BaseModel):
    """Data we produce or accept from our own callers: every field declared, nothing extra."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _two_places(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("money has at most 2 decimal places (centavos)")
    return value


def _state(value: str) -> str:
    upper = value.strip().upper()
    if upper not in BRAZILIAN_STATES:
        raise ValueError(f"{value!r} is not a Brazilian state (UF)")
    return upper


@dataclass(frozen=True)
class Digits:
    """A string of ``low`` to ``high`` digits. A value object rather than a closure, so the callers'
    JSON Schema (``devtools.contract``) can state the same pattern."""

    low: int
    high: int
    what: str

    @property
    def pattern(self) -> str:
        # ASCII digits: ``\d`` would take any Unicode digit, which no provider reads.
        return f"^[0-9]{{{self.low}}}$" if self.low == self.high else f"^[0-9]{{{self.low},{self.high}}}$"

    def __call__(self, value: str) -> str:
        if not re.fullmatch(self.pattern, value):
            size = f"{self.low}" if self.low == self.high else f"{self.low} to {self.high}"
            raise ValueError(f"{self.what} must be {size} digits")
        return value


def digits(length: tuple[int, int], what: str) -> AfterValidator:
    return AfterValidator(Digits(*length, what))


def _int_to_str(value: Any) -> Any:
    # Seeds send some numbers (benefit numbers, bank codes) as JSON numbers, some as strings.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), AfterValidator(_two_places)]
"""An amount in reais: never negative, at most two decimal places."""

PositiveMoney = Annotated[Decimal, Field(gt=0, allow_inf_nan=False), AfterValidator(_two_places)]

Rate = Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)]
"""A rate as a fraction (0.0166 = 1.66 % a month)."""

State = Annotated[str, AfterValidator(_state)]

PostalCode = Annotated[str, BeforeValidator(lambda v: str(v).replace("-", "")), digits((8, 8), "postal_code")]

BankCode = Annotated[str, BeforeValidator(_int_to_str), digits((3, 3), "bank_code")]

BenefitNumber = Annotated[
    str,
    BeforeValidator(_int_to_str),
    digits((1, 10), "benefit_number"),
    # Seed 004 sends the benefit number as a JSON number (2052711150).
    PlainSerializer(int, return_type=int),
]

NonEmptyStr = Annotated[str, Field(min_length=1)]


class Phone(StrictModel):
    number: Annotated[str, digits((8, 9), "phone number")]
    area_code: Annotated[str, digits((2, 2), "area_code")]
    country_code: Annotated[str, digits((2, 3), "country_code")] = "055"


class Address(StrictModel):
    street: NonEmptyStr
    number: NonEmptyStr
    complement: str = ""
    neighborhood: str = ""
    city: NonEmptyStr
    state: State
    postal_code: PostalCode
