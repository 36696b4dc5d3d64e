"""What operators see of a loan — and nothing more: search attributes, the Web UI's summary and
current details. Never a CPF, a name or an account here: search attributes are not encrypted by
any codec, and the details are served in clear by a query.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from domain import ptbr
from domain.loan import LoanRequest, ProviderId
from domain.ptbr import stage_name
from workflows.loan.metrics import LoanMetrics
from workflows.loan.news import ConsentStatus, ProposalStatus
from workflows.loan.state import LoanState, PricingCheck, Stage, Status

LOAN_STAGE = SearchAttributeKey.for_keyword("LoanStage")
LOAN_STATUS = SearchAttributeKey.for_keyword("LoanStatus")
LOAN_PRODUCT = SearchAttributeKey.for_keyword("LoanProduct")
LOAN_PROVIDER = SearchAttributeKey.for_keyword("LoanProvider")
PROVIDER_DEBT_KEY = SearchAttributeKey.for_keyword("ProviderDebtKey")
DATAPREV_LAST_ANSWER = SearchAttributeKey.for_keyword("DataprevLastAnswer")
DISBURSEMENT_WINDOW_END = SearchAttributeKey.for_datetime("DisbursementWindowEnd")
MARGIN_RELEASE_AT = SearchAttributeKey.for_datetime("MarginReleaseAt")
# A keyed hash (HMAC-SHA256, PII_HASH_KEY) of the borrower's CPF: operators find a loan by CPF
# (python -m starter list --cpf ...) without the CPF ever being stored in visibility.
BORROWER_CPF_HASH = SearchAttributeKey.for_keyword("BorrowerCpfHash")
# A portability's proposal status (the CTC's and the origin bank's answers: pending_response,
# accepted, rejected, retained, paid, canceled) and, when retained, the origin bank's reason.
# Anuência: until when the beneficiary may confirm the loan in Meu INSS (set while the loan waits for it).
BENEFICIARY_CONFIRMATION_DEADLINE = SearchAttributeKey.for_datetime("BeneficiaryConfirmationDeadline")
PORTABILITY_STATUS = SearchAttributeKey.for_keyword("PortabilityStatus")
PORTABILITY_RETENTION = SearchAttributeKey.for_keyword("PortabilityRetention")
# What the loan holds a key for and the provider answers "not found" for (debt, proposal): an operator
# must look (`ProviderDoesNotKnow IS NOT NULL`); unset once the provider finds it again.
# A keyword list: a SQL visibility store (the dev server, PostgreSQL) takes at most 10 keywords.
PROVIDER_DOES_NOT_KNOW = SearchAttributeKey.for_keyword_list("ProviderDoesNotKnow")

LOAN_KEYS = (
    LOAN_STAGE,
    LOAN_STATUS,
    LOAN_PRODUCT,
    LOAN_PROVIDER,
    PROVIDER_DEBT_KEY,
    DATAPREV_LAST_ANSWER,
    DISBURSEMENT_WINDOW_END,
    MARGIN_RELEASE_AT,
    BORROWER_CPF_HASH,
    PORTABILITY_STATUS,
    PORTABILITY_RETENTION,
    BENEFICIARY_CONFIRMATION_DEADLINE,
    PROVIDER_DOES_NOT_KNOW,
)


KNOWN_PROPOSAL = frozenset(s.value for s in ProposalStatus)
KNOWN_CONSENT = frozenset(s.value for s in ConsentStatus)

STAGE_WORDS = {stage: stage_name(stage) for stage in Stage}
"""Each stage in words (``domain.ptbr.STAGE_NAMES``, the one table the CLI reads too)."""


def describe(state: LoanState, *, markdown: bool = True) -> str:
    """Where the loan is, what it waits for, until when: one paragraph. ``markdown`` for the Web UI
    (the stage in bold, a rejection's rules as a list); plain text for a terminal, where a rejection's
    rules are the caller's to print (the CLI lists them once, under the loan)."""
    bold = (lambda text: f"**{text}**") if markdown else (lambda text: text)
    if state.status != Status.IN_PROGRESS:
        line = bold(state.status.value)
        if state.rejection:  # the reason is the first rule's text: the rules say it, once
            count = len(state.rejection)
            line += f": {count} rule{'s' if count > 1 else ''} failed"
            if markdown:
                line += "\n\n" + "\n".join(f"- `{r.rule}`: {r.message}" for r in state.rejection)
        elif state.outcome_reason:
            line += f": {state.outcome_reason}"
        return line
    parts = [f"{bold(state.stage.value)}: {STAGE_WORDS[state.stage]}"]
    answer = state.last_dataprev
    if state.stage in {Stage.AVERBACAO, Stage.AWAITING_COLLATERAL_CORRECTION} and answer:
        mode = "teimosinha" if answer.action in {"retry", "unknown"} else answer.action
        code = f"{answer.code} " if answer.code else ""
        parts.append(
            f"{mode}, last answer {code}{answer.enumerator} at {ptbr.moment(answer.at)} "
            f"({state.averbacao_answers} answers)"
        )
    if state.stage == Stage.AWAITING_BENEFICIARY_CONFIRMATION:
        parts.append(f"deadline {ptbr.moment(state.confirmation_deadline)} ({state.confirmation_notices} notices)")
    if state.stage == Stage.BALANCE_RECHECK and state.balance_confirmation_refused:
        parts.append(
            f"the provider refused the new balance request's confirmation ({state.balance_confirmation_refused}): "
            "waiting for it to resume the averbação"
        )
    if state.stage == Stage.AWAITING_COLLATERAL_CORRECTION and state.correction_deadline:
        parts.append(f"cancels if not corrected by {ptbr.moment(state.correction_deadline)}")
    if state.stage == Stage.AWAITING_INSTALLMENT_REDUCTION and state.pending_reservation_amount:
        parts.append(f"Dataprev refused an installment of {ptbr.money(state.pending_reservation_amount)}")
    if state.stage == Stage.MARGIN_RELEASE and state.margin_release_at:
        parts.append(f"margin released on {ptbr.day(state.margin_release_at)}")
    if state.stage == Stage.AWAITING_REAPRESENTACAO and state.refusal:
        parts.append(f"refusal: {state.refusal}")
    if state.stage == Stage.AWAITING_DOCUMENTS and state.document_problem:
        parts.append(f"last problem: {state.document_problem}")
    if state.stage == Stage.CONSULTATION and state.consultation_deadline:
        parts.append(f"answer expected by {ptbr.moment(state.consultation_deadline)}")
    if state.disbursement_window_end:
        parts.append(ptbr.last_disbursement_day(state.disbursement_window_end))
    port = state.portability
    if state.stage == Stage.CONSENT and port and port.consent_deadline:
        parts[0] += f" until {ptbr.day(port.consent_deadline)}"
    if state.stage == Stage.CONSENT and port and port.consent_status == ConsentStatus.PENDING_INCLUSION:
        parts.append("the consent is being registered at Dataprev (its deadline comes with it)")
    if port:  # a status word no table of the loan's knows: shown, and waited through
        unknown = [
            f"{what} {word!r}"
            for what, word, known in (
                ("proposal", port.proposal_status, KNOWN_PROPOSAL),
                ("consent", port.consent_status, KNOWN_CONSENT),
            )
            if word is not None and word not in known
        ]
        if unknown:
            parts.append(f"unknown {' and '.join(unknown)}: still waiting")
    if state.stage == Stage.AVERBACAO and port and port.last_portability_answer:
        parts.append(f"portability leg: teimosinha, last answer {port.last_portability_answer}")
    if state.stage == Stage.TROCO and port and answer:
        # The refinancing leg's averbação answers arrive as a new credit's (credit_operation.collateral).
        parts.append(f"refinancing leg: last answer {answer.enumerator} at {ptbr.moment(answer.at)}")
    if state.stage == Stage.AWAITING_INSTALLMENT_REDUCTION and port:
        released = (
            f"the origin bank released {ptbr.money(port.released_installment)}" if port.released_installment else ""
        )
        offer = f"{ptbr.money(port.reduction_offer)} would fit" if port.reduction_offer else ""
        installment = f"installment {ptbr.money(port.installment)}"
        parts.append(" — ".join(p for p in (installment, released, offer) if p))
    if port and port.troco_disbursed:
        parts.append("troco disbursed")
    if state.provider_status:
        parts.append(f"{state.provider or 'provider'} says {state.provider_status!r} (asked {state.polls} times)")
    if state.provider_does_not_know and state.provider_does_not_know_since:
        parts.append(
            f"the provider answers not found for its {', '.join(state.provider_does_not_know)} since "
            f"{ptbr.moment(state.provider_does_not_know_since)}: an operator must check (nothing is issued again)"
        )
    if state.payoff and (state.payoff.differs or state.payoff.provider is None):
        parts.append(f"payoff: {state.payoff.text()}")
    if state.unknown_values:
        count = len(state.unknown_values)
        parts.append(f"{count} value{'s' if count > 1 else ''} no table knows, flagged (the loan's unknown_values)")
    if state.pricing_check and not state.pricing_check.matches:
        parts.append(pricing_words(state.pricing_check))
    return ", ".join(parts)


SHOWN_MISMATCHES = 6
"""Mismatches named in the details (the state has them all)."""


def pricing_words(check: PricingCheck) -> str:
    """The price check in words: each figure where the provider differs, ours and theirs."""
    named = [m.text() for m in check.mismatches] or check.differences
    shown = "; ".join(named[:SHOWN_MISMATCHES])
    more = f"; and {len(named) - SHOWN_MISMATCHES} more" if len(named) > SHOWN_MISMATCHES else ""
    return f"pricing differs from the provider's: {shown}{more}"


def summary(request: LoanRequest, provider: ProviderId | None = None) -> str:
    """The Web UI's static summary: product, terms and provider; no CPF, no name."""
    terms = request.financial
    at = f" at {ptbr.rate(terms.monthly_interest_rate)}" if terms.monthly_interest_rate is not None else ""
    amount = (
        ptbr.installments(terms.number_of_installments, terms.installment_value)
        if terms.installment_value
        else f"{ptbr.money(terms.disbursed_amount)} released in {terms.number_of_installments} installments"
    ) + at
    chosen = provider or request.provider
    via = f" · via {chosen.value}" if chosen else ""
    product = request.product.value.replace("_", " ")
    port = request.portability
    if port is not None:  # the ported balance and its origin bank, and the troco leg on the same entry
        amount = f"{ptbr.money(port.last_due_balance)} from ISPB {port.origin_bank_ispb}"
        amount += f" in {terms.number_of_installments} x{at}"
        if port.troco is not None:
            amount += f" + troco leg {ptbr.installments(terms.number_of_installments, port.troco.installment_value)}"
    return f"INSS {product} · {amount} · benefit ••••{request.benefit.number[-4:]}{via}"


def operators_line(state: LoanState) -> str:
    """Who acted last, and a change of account waiting for its second operator: names of the lender's
    operators (verified by the SSO, or marked as only claimed), never the borrower's data or the account."""
    lines = []
    pending = state.pending_change
    if pending is not None:
        lines.append(
            f"account change `{pending.id}` by {pending.proposed_by} at {ptbr.moment(pending.at)}: "
            "waits for a second operator's approval (approve_change)"
        )
    if state.operator_actions:
        last = state.operator_actions[-1]
        who = last.by or "someone unnamed"
        if not last.verified:
            who += " (not verified)"
        lines.append(f"last operator action: {last.kind} by {who} at {ptbr.moment(last.at)}")
    return "".join(f"\n\n{line}" for line in lines)


class Publisher:
    """Keeps a running loan's search attributes and current details in step with its state.

    Only what changed is upserted: each upsert is a history event. Called from workflow code only.
    """

    _KEYS: tuple[SearchAttributeKey[Any], ...] = (
        LOAN_STAGE,
        LOAN_STATUS,
        LOAN_PROVIDER,
        PROVIDER_DEBT_KEY,
        DATAPREV_LAST_ANSWER,
        DISBURSEMENT_WINDOW_END,
        MARGIN_RELEASE_AT,
        PORTABILITY_STATUS,
        PORTABILITY_RETENTION,
        BENEFICIARY_CONFIRMATION_DEADLINE,
        PROVIDER_DOES_NOT_KNOW,
    )

    def __init__(self) -> None:
        self._published: dict[str, Any] = {}
        self._seeded = False
        self.metrics = LoanMetrics()

    def publish(self, state: LoanState) -> None:
        if not self._seeded:
            # The starter sets LoanProvider when the loan starts: not published again unless it changes.
            self._seeded = True
            started_with = workflow.info().typed_search_attributes.get(LOAN_PROVIDER)
            if started_with is not None:
                self._published[LOAN_PROVIDER.name] = started_with
        answer = state.last_dataprev
        wanted: dict[str, Any] = {
            LOAN_STAGE.name: state.stage.value,
            LOAN_STATUS.name: state.status.value,
            LOAN_PROVIDER.name: state.provider,
            PROVIDER_DEBT_KEY.name: state.debt_key,
            DATAPREV_LAST_ANSWER.name: f"{answer.code or '-'} {answer.enumerator}" if answer else None,
            DISBURSEMENT_WINDOW_END.name: state.disbursement_window_end,
            MARGIN_RELEASE_AT.name: state.margin_release_at,
            PORTABILITY_STATUS.name: state.portability.proposal_status if state.portability else None,
            PORTABILITY_RETENTION.name: state.portability.retention if state.portability else None,
            BENEFICIARY_CONFIRMATION_DEADLINE.name: (
                state.confirmation_deadline if not state.collateral_constituted else None
            ),
            PROVIDER_DOES_NOT_KNOW.name: state.provider_does_not_know or None,
        }
        updates = [
            key.value_set(wanted[key.name]) if wanted[key.name] is not None else key.value_unset()
            for key in self._KEYS
            if self._published.get(key.name) != wanted[key.name]
            and not (wanted[key.name] is None and key.name not in self._published)
        ]
        if updates:
            workflow.upsert_search_attributes(updates)
            self._published.update(wanted)
        workflow.set_current_details(describe(state) + operators_line(state))
        self.metrics.observe(state, state.provider or "qitech")
