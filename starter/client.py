"""The typed client of a namespace's loans: start one, read it, act on it.

Every signal, query and Update is referenced by the workflow's method, so a renamed handler is a
type error here rather than a string that silently stops matching. Validation of a caller's
request, PII hashing and friendly errors belong to the starter API built on top (``starter.api``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.loan import (
    CancelRequest,
    ChangeApproval,
    CollateralFix,
    Documents,
    InstallmentReduction,
    LoanRequest,
    ProviderId,
    Reapresentacao,
    SignatureSubmission,
)
from workflows.loan.contract import LOAN_WORKFLOW, LoanInput, LoanOutcome, loan_workflow_id
from workflows.loan.rules import LoanRules
from workflows.loan.state import LoanState, Stage, Status
from workflows.loan.visibility import LOAN_PRODUCT, LOAN_PROVIDER, LOAN_STAGE, LOAN_STATUS, summary
from workflows.loan.workflow import LoanWorkflow

A = TypeVar("A", bound=BaseModel)


class LoanActionRefused(Exception):
    """The loan refused an operator action (wrong stage, bad value, or the provider said no)."""


@dataclass(frozen=True)
class StartedLoan:
    workflow_id: str
    run_id: str | None
    already_existed: bool


class LoanClient:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    def handle(self, request_key: str) -> WorkflowHandle[LoanWorkflow, LoanOutcome]:
        return self.client.get_workflow_handle_for(LoanWorkflow.run, loan_workflow_id(request_key))

    async def start(
        self,
        request: LoanRequest,
        *,
        rules: LoanRules,
        provider: ProviderId | None = None,
        search_attributes: list[SearchAttributePair[Any]] | None = None,
        in100: bool = True,
    ) -> StartedLoan:
        """Start a loan with its rules (and its provider, when routing chose one, and whether it has an
        IN100 consultation) pinned, or find the one its request key already started."""
        workflow_id = loan_workflow_id(request.request_key)
        pairs: list[SearchAttributePair[Any]] = [
            SearchAttributePair(LOAN_STAGE, Stage.CONSULTATION.value),
            SearchAttributePair(LOAN_STATUS, Status.IN_PROGRESS.value),
            SearchAttributePair(LOAN_PRODUCT, request.product.value),
            *([SearchAttributePair(LOAN_PROVIDER, provider.value)] if provider else []),
            *(search_attributes or []),
        ]
        try:
            handle = await start_loan_workflow(
                self.client,
                LoanInput(request=request, rules=rules, policy=rules.policy, provider=provider, in100=in100),
                id=workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(pairs),
                static_summary=summary(request, provider),
                static_details=f"request key `{request.request_key}` · product `{request.product.value}` · "
                f"rules `{rules.name}`",
            )
        except WorkflowAlreadyStartedError:
            return StartedLoan(workflow_id=workflow_id, run_id=None, already_existed=True)
        return StartedLoan(workflow_id=workflow_id, run_id=handle.result_run_id, already_existed=False)

    async def state(self, request_key: str) -> LoanState:
        return await self.handle(request_key).query(LoanWorkflow.query_state)

    async def outcome(self, request_key: str) -> LoanOutcome:
        return await self.handle(request_key).result()

    async def provide_documents(self, request_key: str, documents: Documents) -> LoanState:
        return await self._update(request_key, LoanWorkflow.provide_documents, documents)

    async def submit_signature(self, request_key: str, submission: SignatureSubmission) -> LoanState:
        return await self._update(request_key, LoanWorkflow.submit_signature, submission)

    async def correct_collateral(self, request_key: str, fix: CollateralFix) -> LoanState:
        return await self._update(request_key, LoanWorkflow.correct_collateral, fix)

    async def reduce_installment(self, request_key: str, reduction: InstallmentReduction) -> LoanState:
        return await self._update(request_key, LoanWorkflow.reduce_installment, reduction)

    async def reapresentar(self, request_key: str, reapresentacao: Reapresentacao) -> LoanState:
        return await self._update(request_key, LoanWorkflow.reapresentar, reapresentacao)

    async def cancel(self, request_key: str, request: CancelRequest) -> LoanState:
        return await self._update(request_key, LoanWorkflow.cancel, request)

    async def approve_change(self, request_key: str, approval: ChangeApproval) -> LoanState:
        return await self._update(request_key, LoanWorkflow.approve_change, approval)

    async def _update(self, request_key: str, update: Any, argument: A) -> LoanState:
        try:
            state: LoanState = await self.handle(request_key).execute_update(update, argument)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            raise LoanActionRefused(getattr(cause, "message", None) or str(cause)) from None
        return state


async def start_loan_workflow(client: Client, loan: LoanInput, **options: Any) -> WorkflowHandle[Any, LoanOutcome]:
    """Start a loan workflow with this input. By name: the workflow reads its start itself (a RawValue,
    ``workflows.loan.admission``), so its run method's signature does not type what a caller sends."""
    return await client.start_workflow(LOAN_WORKFLOW, loan, result_type=LoanOutcome, **options)
