"""Who may take the loan: an explicit rule set over the consultation's answers.

Each rule has a name, a pure check and its source. ``assess`` returns every rule that fails, so a
rejected loan names them all at once instead of the first one an operator happens to fix, and every
*risk* a rule sees in an eligible loan (stated to the operator, never a silent reject).

Two readings of the consultation, chosen by the loan's pinned rules (``EligibilityLimits.seed_004``):
- the first edition: only ``elegible`` / ``not_blocked`` pass, and the margin is
  ``available_total_balance``;
- seed 004's (§2, §12): *Blocked* is "elegível, porém bloqueado", so the block type decides — at
  concession (3) the 90-day DDB rule schedules the loan; by the beneficiary (1) or by TBM (2) the
  averbação retries (IE / IT are *Teimosinha*), a stated risk; the margin of a loan is the loans
  modality's (``consigned_credit.balance``; ``available_total_balance`` sums cards too), plus the
  installments a refinancing frees; a minimum-wage-increase loan is issued against margin the raise
  has not opened yet, so a short margin is its risk, not a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain import ptbr
from domain.benefit import BenefitFacts
from domain.inss import BenefitSituation, BenefitStatus, BlockType
from domain.regulation import (
    ENTITY_REPRESENTATION_BLOCKS_AVERBACAO,
    IDENTITY_DOCUMENTS_MANDATORY,
    LEGAL_REPRESENTATIVE_NEEDS_COURT_AUTHORIZATION,
    MAX_INSTALLMENTS,
    MAX_MONTHLY_RATE,
)


@dataclass(frozen=True)
class EligibilityLimits:
    """The regulation values a loan is checked against: its pinned rules (loan.rules), not today's."""

    max_monthly_rate: Decimal
    max_installments: int
    seed_004: bool = False
    """Read the consultation as seed 004 §2/§12 define it (see the module's docstring)."""
    unknown_block_is_risk: bool = False
    """A ``block_type`` spelled as no table spells it (only ``not_blocked`` and ``blocked_by_tbm`` are ever
    printed) is flagged and taken as a block the averbação retries — a stated risk, not a refusal."""


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
    product: str = "new_credit"
    refinanced_installments: Decimal = Decimal(0)
    """What the refinanced operations' installments free (credited to the margin)."""
    has_identity_documents: bool = True
    """The identity documents (front, back, selfie) came with the request (a new credit may send them later)."""


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    message: str
    source: str


@dataclass(frozen=True)
class Risk:
    """Why the rule still lets the loan go (stated risk, not a refusal): a str, told to operators."""

    message: str


@dataclass(frozen=True)
class Assessment:
    failures: list[RuleFailure]
    risks: list[RuleFailure]  # same shape: which rule, what, and its source

    @property
    def eligible(self) -> bool:
        return not self.failures


Finding = str | Risk | None
"""What a check says: None (satisfied), a str (why it fails), or a Risk (passes, with a stated risk)."""


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    check: Callable[[EligibilityFacts, EligibilityLimits], Finding]


def _listed(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if f.benefit_number in f.listed_benefits:
        return None
    return f"benefit {f.benefit_number} is not among the CPF's benefits ({len(f.listed_benefits)} listed)"


def _elegible(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    status = f.balance.benefit_status
    if status == BenefitStatus.ELEGIBLE or (limits.seed_004 and status == BenefitStatus.BLOCKED):
        return None  # seed 004 §12: Blocked is eligible but blocked; the block type decides
    wanted = "elegible or blocked" if limits.seed_004 else "elegible"
    return f"benefit_status is {status!s}, not {wanted}"


def _not_blocked(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    block = f.balance.block_type
    if block == BlockType.NOT_BLOCKED:
        return None
    if not limits.seed_004:
        return f"block_type is {block!s}, not not_blocked"
    if block == BlockType.BLOCKED_BY_GRANTING_PROCESS:
        if f.balance.grant_date is None:
            return "block_type is blocked_by_granting_process and the consultation gave no DDB to schedule by"
        return None  # the 90-day DDB rule schedules the loan past the release (domain.margin_release)
    if block in (BlockType.BLOCKED_BY_BENEFICIARY, BlockType.BLOCKED_BY_TBM):
        who = "the beneficiary" if block == BlockType.BLOCKED_BY_BENEFICIARY else "a benefit transfer (TBM)"
        return Risk(
            f"benefit blocked by {who}: the averbação will be retried (teimosinha) until it is unblocked, "
            "or the disbursement window ends"
        )
    if limits.unknown_block_is_risk:
        return Risk(
            f"block_type {block!s} is in no table (flagged): taken as a block the averbação retries "
            "(teimosinha) until it lifts, or the disbursement window ends"
        )
    return f"block_type {block!s} is in no table: not treated as unblocked"


def _active(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    situation = f.balance.benefit_situation
    return None if situation == BenefitSituation.ACTIVE else f"benefit_situation is {situation!s}, not active"


def _no_entity(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if f.balance.has_entity_representation is False:
        return None
    return f"has_entity_representation is {f.balance.has_entity_representation}: averbação is not allowed"


def _assistance_type(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    kind = f.balance.assistance_type
    if kind is not None and f.balance.assistance_type_known:
        return None
    return f"assistance_type {kind!s} is not in the provider's table: the debt would be canceled permanently"


def _margin(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if not limits.seed_004:
        available = f.balance.available_total_balance
        if available is not None and available >= f.installment:
            return None
        return f"installment {ptbr.money(f.installment)} exceeds the available margin {ptbr.money(available)}"
    loans_margin = f.balance.loans_margin
    base = loans_margin if loans_margin is not None else f.balance.available_total_balance
    which = "loans margin (consigned_credit)" if loans_margin is not None else "total margin (no loans margin given)"
    margin = None if base is None else base + f.refinanced_installments
    freed = (
        f" + {ptbr.money(f.refinanced_installments)} freed by the refinanced operations"
        if f.refinanced_installments
        else ""
    )
    if margin is not None and margin >= f.installment:
        return None if loans_margin is not None else Risk(f"only the {which} was reported: {ptbr.money(base)}{freed}")
    shortfall = f"installment {ptbr.money(f.installment)} exceeds the {which} {ptbr.money(base)}{freed}"
    if f.product == "minimum_wage_increase":
        return Risk(f"{shortfall}: issued against the margin the raise opens; Dataprev may answer margin exceeded")
    return shortfall


def _representative(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if not f.has_legal_representative or f.has_judicial_authorization:
        return None
    return "a legal representative needs a judicial authorization (alvará) for a new loan"


def _end_date(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    ends = [d for d in (f.balance.benefit_end_date, f.balance.benefit_quota_expiration_date) if isinstance(d, date)]
    if not ends or f.last_installment_date <= min(ends):
        return None
    last, end = ptbr.day(f.last_installment_date), ptbr.day(min(ends))
    return f"the last installment ({last}) falls after the benefit ends ({end})"


def _documents(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if f.has_identity_documents:
        return None
    return "identity documents (front, back, selfie) are mandatory and go with the proposal: none were given"


def _installments(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if f.number_of_installments <= limits.max_installments:
        return None
    return f"{f.number_of_installments} installments is above the limit of {limits.max_installments}"


def _rate(f: EligibilityFacts, limits: EligibilityLimits) -> Finding:
    if f.monthly_rate <= limits.max_monthly_rate:
        return None
    return ptbr.rate_above_cap(f.monthly_rate, limits.max_monthly_rate)


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
    Rule(
        "margin_covers_installment",
        "seed 004 §2 consigned_credit.balance / available_total_balance; IN 138 art. 5 (35 % loans, 5 % RMC, 5 % RCC)",
        _margin,
    ),
    Rule("legal_representative_authorized", LEGAL_REPRESENTATIVE_NEEDS_COURT_AUTHORIZATION.source, _representative),
    Rule("benefit_outlasts_loan", "seed 004 §12 IR operation_not_allowed_IR; seed 001 §2 benefit_end_date", _end_date),
    Rule("max_installments", MAX_INSTALLMENTS.source, _installments),
    Rule("rate_within_cap", MAX_MONTHLY_RATE.source, _rate),
)


PORTABILITY_RULES: tuple[Rule, ...] = (
    *(
        rule
        for rule in RULES
        if rule.name
        in {
            "benefit_listed",
            "benefit_elegible",
            "benefit_active",
            "no_entity_representation",
            "assistance_type_mapped",
            "legal_representative_authorized",
            "benefit_outlasts_loan",
        }
    ),
    Rule("identity_documents", IDENTITY_DOCUMENTS_MANDATORY.source, _documents),
)
"""What a portability is checked against before its proposal (README, portability eligibility): the
benefit's (listed, status, situation, no entity representation, a mapped species, its end after the last
installment), the representative's alvará, and the identity documents the proposal carries. Not the
margin (the origin bank releases the installment's; Dataprev's HW and the reduction decide, seed 002
§12-13), the rate and the term (the local pricing refuses them first), the block type (Port+Refin
retries IE/IT/IF, seed 002 §14) or the DDB (a benefit with a loan to port is past its concession block)."""


def assess(facts: EligibilityFacts, limits: EligibilityLimits, rules: tuple[Rule, ...] = RULES) -> Assessment:
    """Every rule the facts break and every risk an eligible loan carries, in the order of ``rules``."""
    failures, risks = [], []
    for rule in rules:
        finding = rule.check(facts, limits)
        if isinstance(finding, Risk):
            risks.append(RuleFailure(rule.name, finding.message, rule.source))
        elif finding is not None:
            failures.append(RuleFailure(rule.name, finding, rule.source))
    return Assessment(failures, risks)


def evaluate(facts: EligibilityFacts, limits: EligibilityLimits) -> list[RuleFailure]:
    """Every rule the facts break, in the order above; empty means eligible."""
    return assess(facts, limits).failures
