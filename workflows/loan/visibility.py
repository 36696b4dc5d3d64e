"""What operators see of a loan — and nothing more: search attributes, the Web UI's summary and
current details. Never a CPF, a name or an account here: search attributes are not encrypted by
any codec, and the details are served in clear by a query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from domain.calendar import SAO_PAULO
from domain.loan import LoanRequest, ProviderId
from workflows.loan.metrics import LoanMetrics
from workflows.loan.state import LoanState, Stage, Status

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
)


STAGE_WORDS = {
    Stage.CONSULTATION: "consulting the benefit (IN100)",
    Stage.SIMULATION: "simulating with the provider",
    Stage.ELIGIBILITY: "checking eligibility",
    Stage.ISSUANCE: "issuing the CCB",
    Stage.DOCUMENTS: "sending the documents",
    Stage.AWAITING_DOCUMENTS: "waiting for valid documents",
    Stage.AWAITING_SIGNATURE: "waiting for the borrower's signature",
    Stage.SIGNATURE_VALIDATION: "provider validating signature and documents",
    Stage.MARGIN_RELEASE: "waiting for the margin release (DDB + 90 days)",
    Stage.AVERBACAO: "averbação at Dataprev",
    Stage.AWAITING_BENEFICIARY_CONFIRMATION: "waiting for the beneficiary to confirm the loan in Meu INSS (anuência)",
    Stage.AWAITING_COLLATERAL_CORRECTION: "averbação refused: waiting for an operator's correction",
    Stage.AWAITING_INSTALLMENT_REDUCTION: "margin exceeded: waiting for an operator to reduce the installment",
    Stage.BALANCE_RECHECK: "averbação needs a new balance consultation",
    Stage.DISBURSEMENT: "waiting for the disbursement",
    Stage.AWAITING_REAPRESENTACAO: "payment refused: waiting for an operator's reapresentação",
    Stage.PROPOSAL: "sending the portability proposal",
    Stage.CTC_ANSWER: "waiting for the CTC's answer to the portability",
    Stage.CONSENT: "waiting for the beneficiary's consent in Meu INSS",
    Stage.ORIGIN_BANK: "waiting for the origin bank's answer (balance or retention)",
    Stage.PAYOFF: "paying off the origin bank",
    Stage.TROCO: "troco: the refinancing's averbação and disbursement",
    Stage.CLOSED: "closed",
}


def _when(moment: datetime | None) -> str:
    return moment.astimezone(SAO_PAULO).strftime("%Y-%m-%d %H:%M") if moment else "?"


def _day(moment: datetime | None) -> str:
    return moment.astimezone(SAO_PAULO).strftime("%Y-%m-%d") if moment else "?"


def describe(state: LoanState) -> str:
    """One markdown paragraph: where the loan is, what it waits for, until when."""
    if state.status != Status.IN_PROGRESS:
        line = f"**{state.status.value}**"
        if state.outcome_reason:
            line += f": {state.outcome_reason}"
        if state.rejection:
            line += "\n\n" + "\n".join(f"- `{r.rule}`: {r.message}" for r in state.rejection)
        return line
    parts = [f"**{state.stage.value}**: {STAGE_WORDS[state.stage]}"]
    answer = state.last_dataprev
    if state.stage in {Stage.AVERBACAO, Stage.AWAITING_COLLATERAL_CORRECTION} and answer:
        mode = "teimosinha" if answer.action in {"retry", "unknown"} else answer.action
        code = f"{answer.code} " if answer.code else ""
        parts.append(
            f"{mode}, last answer {code}{answer.enumerator} at {_when(answer.at)} ({state.averbacao_answers} answers)"
        )
    if state.stage == Stage.AWAITING_BENEFICIARY_CONFIRMATION:
        parts.append(f"deadline {_when(state.confirmation_deadline)} ({state.confirmation_notices} notices)")
    if state.stage == Stage.AWAITING_COLLATERAL_CORRECTION and state.correction_deadline:
        parts.append(f"cancels if not corrected by {_when(state.correction_deadline)}")
    if state.stage == Stage.AWAITING_INSTALLMENT_REDUCTION and state.pending_reservation_amount:
        parts.append(f"Dataprev refused an installment of {state.pending_reservation_amount}")
    if state.stage == Stage.MARGIN_RELEASE and state.margin_release_at:
        parts.append(f"margin released on {_day(state.margin_release_at)}")
    if state.stage == Stage.AWAITING_REAPRESENTACAO and state.refusal:
        parts.append(f"refusal: {state.refusal}")
    if state.stage == Stage.AWAITING_DOCUMENTS and state.document_problem:
        parts.append(f"last problem: {state.document_problem}")
    if state.stage == Stage.CONSULTATION and state.consultation_deadline:
        parts.append(f"answer expected by {_when(state.consultation_deadline)}")
    if state.disbursement_window_end:
        parts.append(f"window ends {_day(state.disbursement_window_end)}")
    port = state.portability
    if state.stage == Stage.CONSENT and port and port.consent_deadline:
        parts[0] += f" until {port.consent_deadline.isoformat()}"
    if state.stage == Stage.AVERBACAO and port and port.last_portability_answer:
        parts.append(f"portability leg: teimosinha, last answer {port.last_portability_answer}")
    if state.stage == Stage.TROCO and port and answer:
        # The refinancing leg's averbação answers arrive as a new credit's (credit_operation.collateral).
        parts.append(f"refinancing leg: last answer {answer.enumerator} at {_when(answer.at)}")
    if state.stage == Stage.AWAITING_INSTALLMENT_REDUCTION and port:
        released = f"the origin bank released {port.released_installment}" if port.released_installment else ""
        offer = f"{port.reduction_offer} would fit" if port.reduction_offer else ""
        parts.append(" — ".join(p for p in (f"installment {port.installment}", released, offer) if p))
    if port and port.troco_disbursed:
        parts.append("troco disbursed")
    if state.provider_status:
        parts.append(f"{state.provider or 'provider'} says {state.provider_status!r} (asked {state.polls} times)")
    if state.pricing_check and not state.pricing_check.matches:
        parts.append(f"provider pricing differs from ours ({len(state.pricing_check.differences)} figures)")
    return ", ".join(parts)


def summary(request: LoanRequest, provider: ProviderId | None = None) -> str:
    """The Web UI's static summary: product, terms and provider; no CPF, no name."""
    terms = request.financial
    amount = (
        f"{terms.number_of_installments} x R$ {terms.installment_value}"
        if terms.installment_value
        else f"R$ {terms.disbursed_amount} released in {terms.number_of_installments} installments"
    )
    chosen = provider or request.provider
    via = f" · via {chosen.value}" if chosen else ""
    product = request.product.value.replace("_", " ")
    port = request.portability
    if port is not None:  # the ported balance and its origin bank, and the troco leg on the same entry
        amount = f"R$ {port.last_due_balance} from ISPB {port.origin_bank_ispb} in {terms.number_of_installments} x"
        amount += f" at {terms.monthly_interest_rate}"
        if port.troco is not None:
            amount += f" + troco leg {terms.number_of_installments} x R$ {port.troco.installment_value}"
    return f"INSS {product} · {amount} · benefit ••••{request.benefit.number[-4:]}{via}"


def operators_line(state: LoanState) -> str:
    """Who acted last, and a change of account waiting for its second operator: names of the lender's
    operators (verified by the SSO, or marked as only claimed), never the borrower's data or the account."""
    lines = []
    pending = state.pending_change
    if pending is not None:
        lines.append(
            f"account change `{pending.id}` by {pending.proposed_by} at {_when(pending.at)}: "
            "waits for a second operator's approval (approve_change)"
        )
    if state.operator_actions:
        last = state.operator_actions[-1]
        who = last.by or "someone unnamed"
        if not last.verified:
            who += " (not verified)"
        lines.append(f"last operator action: {last.kind} by {who} at {_when(last.at)}")
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
