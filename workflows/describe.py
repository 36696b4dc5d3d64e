"""A loan's state in words, for the Web UI's current details and the CLI. Pure and PII-free."""

from __future__ import annotations

from datetime import datetime

from provider.tolerant import SAO_PAULO

from .state import LoanState, Stage, Status

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
    Stage.AWAITING_COLLATERAL_CORRECTION: "averbação refused: waiting for an operator's correction",
    Stage.AWAITING_INSTALLMENT_REDUCTION: "margin exceeded: waiting for an operator to reduce the installment",
    Stage.BALANCE_RECHECK: "averbação needs a new balance consultation",
    Stage.DISBURSEMENT: "waiting for the disbursement",
    Stage.AWAITING_REAPRESENTACAO: "payment refused: waiting for an operator's reapresentação",
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
    if state.pricing_check and not state.pricing_check.matches:
        parts.append(f"provider pricing differs from ours ({len(state.pricing_check.differences)} figures)")
    return ", ".join(parts)
