"""Field types shared by the provider's requests and responses: the loan's value types
(domain.fields), plus the provider's own account shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from activities.tolerant import OutboundModel
from domain.documents import Cpf
from domain.fields import (
    Address,
    BankCode,
    BenefitNumber,
    Money,
    NonEmptyStr,
    Phone,
    PositiveMoney,
    Rate,
    State,
    digits,
)

__all__ = [
    "Address",
    "BankCode",
    "BenefitNumber",
    "DisbursementAccount",
    "Money",
    "NonEmptyStr",
    "Phone",
    "PositiveMoney",
    "Rate",
    "State",
]


class DisbursementAccount(OutboundModel):
    """Seed 004 §4 ``disbursement_bank_accounts[]`` (the plural form; 001's singular is older)."""

    name: NonEmptyStr
    bank_code: BankCode
    branch_number: Annotated[str, digits((1, 5), "branch_number")]
    account_number: Annotated[str, digits((1, 20), "account_number")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    document_number: Cpf
    transfer_method: Annotated[str, Field(pattern=r"^(pix|ted)$")] = "pix"
    account_type: Annotated[str, Field(pattern=r"^(checking_account|savings_account|payment_account)$")] | None = None
    percentage_receivable: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(100)
