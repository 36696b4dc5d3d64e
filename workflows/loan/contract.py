"""What every caller of a loan agrees on, in any language: the workflow type, the id scheme and its
inverse, the input and the outcome, and the names of its signal, query and Updates.

Python callers use ``starter.client.LoanClient``, which references the Updates and the query by method;
the names here are for the rest (the ``temporal`` CLI, Go, TypeScript, Java services).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from domain.loan import REQUEST_KEY_PATTERN, LoanRequest, ProviderId
from domain.modeling import copy_fields
from workflows.loan.rules import LoanPolicy, LoanRules
from workflows.loan.state import LoanState, RuleFailure, Stage, Status

LOAN_WORKFLOW = "LoanWorkflow"
LOAN_ID_PREFIX = "loan-"

PROVIDER_EVENT_SIGNAL = "provider_event"
"""A provider webhook for this loan (``activities.qitech.models.webhooks.ReceivedWebhook``)."""

STATE_QUERY = "state"
"""The loan's whole state (``LoanState``)."""


class LoanUpdate(StrEnum):
    """The operator actions a running loan accepts, as Workflow Updates (each with a validator)."""

    PROVIDE_DOCUMENTS = "provide_documents"
    SUBMIT_SIGNATURE = "submit_signature"
    CORRECT_COLLATERAL = "correct_collateral"
    REDUCE_INSTALLMENT = "reduce_installment"
    REAPRESENTAR = "reapresentar"
    CANCEL = "cancel"
    APPROVE_CHANGE = "approve_change"  # a second operator's decision on a change of account (maker-checker)


def loan_workflow_id(request_key: str) -> str:
    """The loan's workflow id: one per caller's request key, so a second start finds the first."""
    return f"{LOAN_ID_PREFIX}{request_key}"


def request_key_of(workflow_id: str) -> str | None:
    """The inverse of :func:`loan_workflow_id`; None for an id that is not a loan's."""
    if not workflow_id.startswith(LOAN_ID_PREFIX):
        return None
    return workflow_id.removeprefix(LOAN_ID_PREFIX)


class LoanInput(BaseModel):
    """The workflow's one input. ``rules`` is pinned at start (``workflows.loan.rules.current_rules``);
    ``carried`` is the state handed over by continue-as-new."""

    request: LoanRequest
    rules: LoanRules | None = None
    """None only for loans started before rules were pinned, or by a caller that sent none: the
    worker then pins its current rules (recorded in the history) on the first run."""
    policy: LoanPolicy = LoanPolicy()
    """The durations of loans started before ``rules`` existed; new loans carry them in ``rules``."""
    carried: LoanState | None = None
    provider: ProviderId | None = None
    """Who issues the loan, chosen by the lender's routing when it started (``workflows.loan.routing``). None:
    the request's ``provider``, else ``qitech`` (loans started before there was a choice)."""
    in100: bool = True
    """The lender consults the benefit (IN100) before the loan goes on; False: the "Sem IN100" flow of
    seed 003 (observação 3), for a lender without a consulting provider (``workflows.loan.routing.consults``)."""


class LoanOutcome(BaseModel):
    request_key: str
    status: Status
    reason: str | None
    stage_reached: Stage
    debt_key: str | None
    contract_number: str | None
    rejection: list[RuleFailure] = Field(default_factory=list)

    @classmethod
    def of(cls, state: LoanState) -> LoanOutcome:
        return copy_fields(cls, state, reason=state.outcome_reason, stage_reached=state.stage)


__all__ = [
    "LOAN_ID_PREFIX",
    "LOAN_WORKFLOW",
    "PROVIDER_EVENT_SIGNAL",
    "REQUEST_KEY_PATTERN",
    "STATE_QUERY",
    "LoanInput",
    "LoanOutcome",
    "LoanUpdate",
    "loan_workflow_id",
    "request_key_of",
]
