"""What the IN100 consultation says about a benefit, in the loan's own terms.

The provider's balance answer (seed 004 §2) is translated into these facts at the adapter's edge;
the field names follow Dataprev's (the ones seed 004's tables name), so the loan's state reads the
same as the manuals. Values the adapter could not interpret stay as their raw text.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.inss import BenefitSituation, BenefitStatus, BlockType


class BenefitAccount(BaseModel):
    """The account the benefit is paid into (the balance answer's ``disbursement_bank_account``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bank_code: str
    branch_number: str
    account_number: str
    account_digit: str


class BenefitFacts(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    benefit_number: str
    grant_date: date | None = None
    """The DDB (Data de Despacho do Benefício): the 90-day block counts from it. None when the
    provider sent none or sent something that is not a date."""
    benefit_status: BenefitStatus | str | None = None
    benefit_situation: BenefitSituation | str | None = None
    block_type: BlockType | str | None = None
    assistance_type: str | None = None
    assistance_type_known: bool = False
    """The provider's table has this assistance_type (an unmapped one makes it cancel the debt)."""
    has_entity_representation: bool | None = None
    benefit_end_date: date | None = None
    benefit_quota_expiration_date: date | None = None
    available_total_balance: Decimal | None = None
    """Margin left over every modality, cards included (seed 004 §2)."""
    loans_margin: Decimal | None = None
    """``consigned_credit.balance``: the margin of the loans modality alone (seed 004 §2)."""
    paying_account: BenefitAccount | None = None
    politically_exposed: bool | None = None
