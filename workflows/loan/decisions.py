"""The loan's decisions before it issues, as pure functions over its state (no Temporal, no clock:
``today`` is passed in): who may take it, by which rules, with which risks; where the money goes;
whether the CCB names the right signer. The workflow applies what these return."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import ROUND_DOWN, Decimal

from domain.calendar import SAO_PAULO
from domain.eligibility import PORTABILITY_RULES, EligibilityFacts, assess
from domain.inss import BlockType
from domain.loan import DisbursementAccount, LoanRequest
from domain.margin_release import margin_release
from domain.money import CENT
from domain.parties import expected_signer, paying_account, same_account
from domain.pricing.engine import add_months
from domain.regulation import DDB_BLOCK_DAYS, MAX_INSTALLMENTS, MAX_MONTHLY_RATE
from workflows.loan.activity_models import PortabilityPriced, Proposed
from workflows.loan.rules import LoanRules
from workflows.loan.state import LoanState, PricedOption, PriceMismatch, PricingCheck, RuleFailure, Signer

PAYING_ACCOUNT_SOURCE = "seeds 000 and 003: disburse into the benefit's account (balance disbursement_bank_account)"


@dataclass
class Eligibility:
    failures: list[RuleFailure] = field(default_factory=list)
    risks: list[RuleFailure] = field(default_factory=list)
    accounts: list[DisbursementAccount] | None = None  # edition 2: where the money goes
    margin_release_at: datetime | None = None  # the 90-day DDB rule holds the averbação until then
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # a reason to refuse that is no rule of the table


def eligibility(
    state: LoanState, request: LoanRequest, rules: LoanRules, today: date, *, unknown_block_is_risk: bool = False
) -> Eligibility:
    """Everything the eligibility stage decides, from the consultation's facts and the simulation."""
    chosen, benefit = state.chosen_option, state.balance
    assert chosen is not None and benefit is not None
    terms = request.financial
    installment = chosen.installment_value or terms.installment_value
    monthly_rate = chosen.monthly_rate or terms.monthly_interest_rate
    if installment is None or monthly_rate is None:
        return Eligibility(problem="the provider's simulation gave no installment or rate to check")
    facts = EligibilityFacts(
        benefit_number=request.benefit.number,
        listed_benefits=tuple(state.listed_benefits or ()),
        balance=benefit,
        installment=installment,
        monthly_rate=monthly_rate,
        number_of_installments=terms.number_of_installments,
        last_installment_date=chosen.last_due_date or terms.first_due_date,
        has_legal_representative=request.legal_representative is not None,
        has_judicial_authorization=bool(
            request.legal_representative and request.legal_representative.judicial_authorization
        ),
        product=request.product.value,
        refinanced_installments=request.refinanced_installments,
    )
    assessment = assess(facts, replace(rules.eligibility, unknown_block_is_risk=unknown_block_is_risk))
    decided = Eligibility(
        failures=[RuleFailure(rule=f.rule, message=f.message, source=f.source) for f in assessment.failures],
        risks=[RuleFailure(rule=r.rule, message=r.message, source=r.source) for r in assessment.risks],
    )
    if rules.edition >= 2:
        _choose_accounts(decided, request, state)
    if decided.failures:
        return decided
    if benefit.grant_date is None:
        decided.notes.append("balance.grant_date (DDB) missing: the 90-day rule is left to the provider")
        return decided
    release = margin_release(benefit.grant_date, today, terms.last_disbursement_date, block_days=rules.ddb_block_days)
    if not release.allowed:
        decided.failures.append(
            RuleFailure(rule="margin_release", message=release.message, source=DDB_BLOCK_DAYS.source)
        )
    elif release.blocked_today:
        decided.margin_release_at = datetime.combine(release.release_date, time(0), tzinfo=SAO_PAULO)
    return decided


WITHOUT_IN100_SOURCE = 'seed 003 observação 3: the operation\'s "Sem IN100" flow (IN100: false)'


def eligibility_without_consultation(state: LoanState, request: LoanRequest, rules: LoanRules) -> Eligibility:
    """A loan without an IN100 consultation (the lender has no consulting provider): the rules the
    simulation can be checked by (the rate cap, the installments), the request's own account, and the
    rest — the benefit, its margin, its blocks, the 90-day DDB rule — stated as the provider's to
    check with Dataprev at the averbação."""
    chosen = state.chosen_option
    assert chosen is not None
    terms, limits = request.financial, rules.eligibility
    installment = chosen.installment_value or terms.installment_value
    monthly_rate = chosen.monthly_rate or terms.monthly_interest_rate
    if installment is None or monthly_rate is None:
        return Eligibility(problem="the provider's simulation gave no installment or rate to check")
    decided = Eligibility(
        risks=[
            RuleFailure(
                rule="consultation",
                message="no IN100 consultation: the benefit, its margin and blocks and the 90-day DDB rule are "
                "checked by the provider with Dataprev at the averbação",
                source=WITHOUT_IN100_SOURCE,
            )
        ]
    )
    if terms.number_of_installments > limits.max_installments:
        decided.failures.append(
            RuleFailure(
                rule="max_installments",
                message=f"{terms.number_of_installments} installments is above the limit of {limits.max_installments}",
                source=MAX_INSTALLMENTS.source,
            )
        )
    if monthly_rate > limits.max_monthly_rate:
        decided.failures.append(
            RuleFailure(
                rule="rate_within_cap",
                message=f"monthly rate {monthly_rate * 100:.4f} % is above the cap of "
                f"{limits.max_monthly_rate * 100} %",
                source=MAX_MONTHLY_RATE.source,
            )
        )
    if not request.disbursement_accounts:
        decided.failures.append(
            RuleFailure(
                rule="disbursement_account",
                message="the request gave no disbursement account and no consultation named a paying account",
                source=WITHOUT_IN100_SOURCE,
            )
        )
    elif rules.edition >= 2:
        decided.accounts = list(request.disbursement_accounts)
    return decided


def portability_eligibility(state: LoanState, request: LoanRequest, rules: LoanRules) -> Eligibility:
    """The rules that apply to a portability (``domain.eligibility.PORTABILITY_RULES``), over the
    consultation's facts and the request's terms, before anything is proposed."""
    benefit, terms = state.balance, request.financial
    assert benefit is not None
    facts = EligibilityFacts(
        benefit_number=request.benefit.number,
        listed_benefits=tuple(state.listed_benefits or ()),
        balance=benefit,
        installment=terms.installment_value or Decimal(0),  # no margin rule: the origin bank releases it
        monthly_rate=terms.monthly_interest_rate or Decimal(0),  # no rate rule: the pricing refuses first
        number_of_installments=terms.number_of_installments,
        last_installment_date=add_months(terms.first_due_date, terms.number_of_installments - 1),
        has_legal_representative=request.legal_representative is not None,
        has_judicial_authorization=bool(
            request.legal_representative and request.legal_representative.judicial_authorization
        ),
        product=request.product.value,
        has_identity_documents=request.documents is not None,
    )
    assessment = assess(facts, rules.eligibility, PORTABILITY_RULES)
    return Eligibility(
        failures=[RuleFailure(rule=f.rule, message=f.message, source=f.source) for f in assessment.failures],
        risks=[RuleFailure(rule=r.rule, message=r.message, source=r.source) for r in assessment.risks],
    )


def unknown_block_type(state: LoanState) -> bool:
    """The consultation's ``block_type`` is spelled as no table spells it."""
    block = state.balance.block_type if state.balance else None
    return block is not None and block not in {b.value for b in BlockType}


def _choose_accounts(decided: Eligibility, request: LoanRequest, state: LoanState) -> None:
    """The request's accounts, or the one the benefit is paid into (seeds 000, 003); a request account
    other than that one is a stated risk (Dataprev's AN invalid_disbursement_account)."""
    assert state.balance is not None
    paying, requested = paying_account(state.balance), request.disbursement_accounts
    if not requested:
        if paying is None:
            why = "the request gave no disbursement account and the consultation named no paying account"
            decided.failures.append(RuleFailure(rule="disbursement_account", message=why, source=PAYING_ACCOUNT_SOURCE))
        else:
            decided.accounts = [paying]
        return
    decided.accounts = list(requested)
    if paying is not None and not any(same_account(a, paying) for a in requested):
        decided.risks.append(
            RuleFailure(
                rule="disbursement_account",
                message="differs from the account the benefit is paid into: Dataprev may answer AN "
                "invalid_disbursement_account",
                source=PAYING_ACCOUNT_SOURCE,
            )
        )


def signer_mismatch(request: LoanRequest, signers: list[Signer]) -> str | None:
    """Why the CCB's signers are not who must sign it (the legal representative for a represented
    beneficiary, seed 004 §6), or None. An answer without signers says nothing."""
    if not signers:
        return None
    role, cpf = expected_signer(request)
    if any(s.role == role and s.document_number == cpf for s in signers):
        return None
    roles = ", ".join(sorted({s.role or "?" for s in signers}))
    return f"signer_role: the CCB lists {roles}, not the {role} who must sign it"


@dataclass(frozen=True)
class PortabilityReduction:
    installment: Decimal  # the largest installment that fits (rounded down: a cent over is HW again)
    automatic: bool  # within what the rules let the loan lower by itself


def portability_reduction(
    current: Decimal, released: Decimal | None, free_margin: Decimal | None, max_reduction: Decimal
) -> PortabilityReduction | None:
    """Dataprev answered HW (margin exceeded) for the portability leg: the origin bank released less
    than the new installment needs (seed 002 §13). The installment that fits is what it released plus
    the margin the consultation found free; None when that is unknown or not below the current one
    (then the margin is not the origin bank's doing, and the provider's teimosinha goes on)."""
    if released is None:
        return None
    fits = (released + (free_margin or Decimal(0))).quantize(CENT, rounding=ROUND_DOWN)
    if fits >= current or fits <= 0:
        return None
    return PortabilityReduction(installment=fits, automatic=fits >= current * (1 - max_reduction))


PRICE_FIELDS = (
    "first_due_date",
    "installment_value",
    "issue_amount",
    "released_amount",
    "total_iof",
    "monthly_cet",
    "annual_cet",
)
"""The figures of an option the provider's price and ours are compared on."""

NO_PRICE = "the provider's answer gives no figure to check"


def _shown(value: object) -> str | None:
    return None if value is None else str(value)


def checked(mismatches: list[PriceMismatch], compared: int) -> PricingCheck:
    """The verdict: a match only when something was compared and nothing differs."""
    if not compared and not mismatches:
        return PricingCheck(matches=False, differences=[NO_PRICE])
    return PricingCheck(matches=not mismatches, differences=[m.text() for m in mismatches], mismatches=mismatches)


def price_check(
    provider: Sequence[PricedOption], local: Sequence[PricedOption], fields: Sequence[str] = PRICE_FIELDS
) -> PricingCheck:
    """The provider's options against the local engine's, option by option, field by field, to the
    cent. A figure the provider does not give is not compared; an answer that gives none is no match."""
    mismatches: list[PriceMismatch] = []
    compared = 0
    by_date = {o.disbursement_date: o for o in local}
    for theirs in provider:
        ours = by_date.get(theirs.disbursement_date)
        if ours is None:
            mismatches.append(
                PriceMismatch(
                    field="disbursement_date",
                    ours=None,
                    theirs=str(theirs.disbursement_date),
                    disbursement_date=theirs.disbursement_date,
                )
            )
            continue
        for name in fields:
            mine, their = getattr(ours, name), getattr(theirs, name)
            if their is None:
                continue
            compared += 1
            if mine != their:
                mismatches.append(
                    PriceMismatch(
                        field=name, ours=_shown(mine), theirs=_shown(their), disbursement_date=theirs.disbursement_date
                    )
                )
    return checked(mismatches, compared)


def portability_pricing_check(local: PortabilityPriced, provider: Proposed) -> PricingCheck:
    """The provider's price of the proposal against the local engine's, to the cent."""
    pairs = [
        ("portability installment", provider.portability_installment, local.installment),
        ("troco", provider.troco, local.troco),
    ]
    given = [(what, theirs, mine) for what, theirs, mine in pairs if theirs is not None]
    mismatches = [
        PriceMismatch(field=what, ours=_shown(mine), theirs=_shown(theirs))
        for what, theirs, mine in given
        if theirs != mine
    ]
    return checked(mismatches, len(given))


REQUESTER_KEY_NAMESPACE = b"consignado-orchestrator/requester_identifier_key/"


def requester_identifier_key(request_key: str) -> str:
    """The provider's ``requester_identifier_key`` for a loan: a UUID (the provider publishes it as a
    UUID4 — docs.qitech.com.br/documentation/emissao_de_divida/consulta_por_requester_identifier_key)
    derived from the caller's request key, so every retry of the issuance sends the same one.

    SHA-256 of the key under a fixed namespace, with the version (4) and variant bits set: the shape
    of a UUID4, without its randomness (which would defeat the retry)."""
    digest = bytearray(hashlib.sha256(REQUESTER_KEY_NAMESPACE + request_key.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))
