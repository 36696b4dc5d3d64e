"""The regulations of INSS payroll loans, each value next to its source (spec/domain-rules.md).

A regulation change is a one-line edit here, and the tests that cite the constant follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Regulation(Generic[T]):
    value: T
    source: str


MAX_INSTALLMENTS = Regulation(96, "IN PRES/INSS 181/2025 (2025-02): at most 96 installments (was 84)")

MAX_MONTHLY_RATE = Regulation(
    Decimal("0.0185"), "CNPS resolution of 2025-03: loans at most 1.85 % a month (earlier 1.80 %, 1.66 %)"
)

TAC_FORBIDDEN = Regulation(True, "IN PRES/INSS 138/2022 art. 12: no TAC or other administrative fee on INSS consignado")

IOF_DAILY_RATE = Regulation(Decimal("0.000082"), "Decreto 6.306/2007 art. 7: 0.0082 % a day for individuals")
IOF_ADDITIONAL_RATE = Regulation(Decimal("0.0038"), "Decreto 6.306/2007 art. 7 §15: 0.38 % once on the amount")
IOF_MAX_DAYS = Regulation(365, "Decreto 6.306/2007 art. 7: daily IOF counted for at most 365 days")

DDB_BLOCK_DAYS = Regulation(
    90,
    "IN 172/2024 amending IN 138 art. 8: new benefits blocked for 90 days from the DDB; seed 004 §4: "
    "disbursement_date + limit_days_to_disburse must fall after DDB + 90",
)

AUTHORIZATION_TERM_VALIDITY_DAYS = Regulation(30, "provider guide: the IN100 authorization term is valid 30 days")

LEGAL_REPRESENTATIVE_NEEDS_COURT_AUTHORIZATION = Regulation(
    True, "IN 190/2025; seed 000 FAQ: a legal representative needs a judicial authorization (alvará)"
)

IDENTITY_DOCUMENTS_MANDATORY = Regulation(
    True,
    "IN 138 (seed 004 §5: 'é obrigatório o envio ... dos dados complementares do contrato'); for a portability "
    "the keys go in the proposal (docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/formalizacao)",
)

ENTITY_REPRESENTATION_BLOCKS_AVERBACAO = Regulation(
    True, "seeds 001/004 §2: has_entity_representation — 'não permite averbação'"
)
