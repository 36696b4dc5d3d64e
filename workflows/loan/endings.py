"""How a loan ends, decided from its facts alone (pure: unit-tested without a Temporal server).

Precedence: an operator's cancel, then the provider's own final word (canceled permanently,
canceled), then the money (disbursed), then the disbursement window running out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.loan import CancelRequest
from workflows.loan.news import DebtMoved, DebtPhase, ProviderNews
from workflows.loan.state import LoanState, RuleFailure, Status


@dataclass(frozen=True)
class Ending:
    status: Status
    reason: str | None
    cancel_at_provider: bool = False
    """The debt must be canceled at the provider (it exists and the provider has not ended it)."""
    rejection: list[RuleFailure] = field(default_factory=list)


def ending_now(state: LoanState, *, cancel: CancelRequest | None, window_expired: bool) -> Ending | None:
    """The ending the facts call for now, or None while the loan goes on."""
    if cancel is not None:
        # The verified operator when the codec server sealed one; else the name the caller gave.
        who = cancel.verified_operator.name if cancel.verified_operator else cancel.operator
        return Ending(Status.CANCELED_PERMANENTLY, f"canceled by {who}: {cancel.reason}", cancel_at_provider=True)
    if state.provider_final_status == DebtPhase.CANCELED_PERMANENTLY:
        return Ending(Status.CANCELED_PERMANENTLY, state.provider_final_reason)
    if state.provider_final_status == DebtPhase.CANCELED:
        return Ending(Status.CANCELED, state.provider_final_reason)
    if state.disbursed:
        return Ending(Status.COMPLETED, "disbursed")
    if window_expired:
        return Ending(Status.CANCELED, "disbursement_window_expired", cancel_at_provider=True)
    return None


def provider_already_ended(state: LoanState) -> bool:
    """Nothing left to cancel at the provider: it canceled the debt for good, or paid it out."""
    return state.provider_final_status == DebtPhase.CANCELED_PERMANENTLY or state.disbursed


def paid_out(news: ProviderNews) -> bool:
    """The provider says the debt was paid out to the borrower."""
    return isinstance(news.fact, DebtMoved) and news.fact.phase == DebtPhase.DISBURSED
