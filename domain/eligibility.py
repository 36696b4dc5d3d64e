"""Who may take the loan: an explicit rule set over the consultation's answers.

Each rule has a name, a pure check and its source. ``evaluate`` returns every rule that fails, so
a rejected loan names them all at once instead of the first one an operator happens to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.benefit import BenefitFacts
from domain.inss import BenefitSituation, BenefitStatus, BlockType
from domain.regulation import (
    ENTITY_REPRESENTATION_BLOCKS_AVERBACAO,
    LEGAL_REPRESENTATIVE_NEEDS_COURT_AUTHORIZATION,
    MAX_INSTALLMENTS,
    MAX_MONTHLY_RATE,
)


@dataclass(frozen=True)
class EligibilityLimits:
    """The regulation values a loan is checked against: its pinned rules (loan.rules), not today's."""

    max_monthly_rate: Decimal
    max_installments: int


@dataclass(frozen=True)
class EligibilityFacts:
    benefit_number: str
    listed_benefits: tuple[str, ...]
    balance: BenefitFacts
    installment: Decimal
    monthly_rate: Decimal
    number_of_installments: int
    last_installment_date: date
    has_legal_representative: bool
    has_judicial_authorization: bool


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    message: str
    source: str


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    check: Callable[[EligibilityFacts, EligibilityLimits], str | None]  # None when satisfied, else why not


def _listed(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    if f.benefit_number in f.listed_benefits:
        return None
    return f"benefit {f.benefit_number} is not among the CPF's benefits ({len(f.listed_benefits)} listed)"


def _elegible(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    status = f.balance.benefit_status
    return None if status == BenefitStatus.ELEGIBLE else f"benefit_status is {status!s}, not elegible"


def _not_blocked(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    block = f.balance.block_type
    return None if block == BlockType.NOT_BLOCKED else f"block_type is {block!s}, not not_blocked"


def _active(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    situation = f.balance.benefit_situation
    return None if situation == BenefitSituation.ACTIVE else f"benefit_situation is {situation!s}, not active"


def _no_entity(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    if f.balance.has_entity_representation is False:
        return None
    return f"has_entity_representation is {f.balance.has_entity_representation}: averbação is not allowed"


def _assistance_type(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    kind = f.balance.assistance_type
    if kind is not None and f.balance.assistance_type_known:
        return None
    return f"assistance_type {kind!s} is not in the provider's table: the debt would be canceled permanently"


def _margin(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    available = f.balance.available_total_balance
    if available is not None and available >= f.installment:
        return None
    return f"installment {f.installment} exceeds the available margin {available}"


def _representative(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    if not f.has_legal_representative or f.has_judicial_authorization:
        return None
    return "a legal representative needs a judicial authorization (alvará) for a new loan"


def _end_date(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    ends = [d for d in (f.balance.benefit_end_date, f.balance.benefit_quota_expiration_date) if isinstance(d, date)]
    if not ends or f.last_installment_date <= min(ends):
        return None
    return f"the last installment ({f.last_installment_date}) falls after the benefit ends ({min(ends)})"


def _installments(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    if f.number_of_installments <= limits.max_installments:
        return None
    return f"{f.number_of_installments} installments is above the limit of {limits.max_installments}"


def _rate(f: EligibilityFacts, limits: EligibilityLimits) -> str | None:
    if f.monthly_rate <= limits.max_monthly_rate:
        return None
    return f"monthly rate {f.monthly_rate * 100:.4f} % is above the cap of {limits.max_monthly_rate * 100} %"


RULES: tuple[Rule, ...] = (
    Rule("benefit_listed", "seed 004 §1: the benefits request lists the CPF's benefits", _listed),
    Rule("benefit_elegible", "seed 004 §12 Tabela de status de benefícios (Elegible)", _elegible),
    Rule("benefit_not_blocked", "seed 004 §12 Tabela de tipos de bloqueio (0 = sem bloqueio)", _not_blocked),
    Rule("benefit_active", "seed 004 §12 Tabela de situação de benefícios (active)", _active),
    Rule("no_entity_representation", ENTITY_REPRESENTATION_BLOCKS_AVERBACAO.source, _no_entity),
    Rule(
        "assistance_type_mapped",
        "seed 001 §6: an unmapped assistance_type cancels the debt permanently",
        _assistance_type,
    ),
    Rule("margin_covers_installment", "seed 004 §2 available_total_balance; IN 138 art. 5 (margins)", _margin),
    Rule("legal_representative_authorized", LEGAL_REPRESENTATIVE_NEEDS_COURT_AUTHORIZATION.source, _representative),
    Rule("benefit_outlasts_loan", "seed 004 §12 IR operation_not_allowed_IR; seed 001 §2 benefit_end_date", _end_date),
    Rule("max_installments", MAX_INSTALLMENTS.source, _installments),
    Rule("rate_within_cap", MAX_MONTHLY_RATE.source, _rate),
)


def evaluate(facts: EligibilityFacts, limits: EligibilityLimits) -> list[RuleFailure]:
    """Every rule the facts break, in the order above; empty means eligible."""
    failures = []
    for rule in RULES:
        why = rule.check(facts, limits)
        if why is not None:
            failures.append(RuleFailure(rule.name, why, rule.source))
    return failures
