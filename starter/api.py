"""The starter API another service imports: start a loan, read it, and act on it.

    service = await LoanService.connect()            # TEMPORAL_* settings
    started = await service.start(request)           # idempotent by request.request_key
    state = await service.state(request.request_key)
    await service.submit_signature(request.request_key, submission)

Bad input raises LoanInputError naming every field and why, and nothing starts. Operator actions
go through Workflow Updates whose validators refuse what the loan cannot take (the error says why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from domain.documents import InvalidDocumentError, keyed_hash, normalize_cpf
from domain.loan import (
    CancelRequest,
    CollateralFix,
    Documents,
    InstallmentReduction,
    LoanRequest,
    Reapresentacao,
    SignatureSubmission,
)
from provider.tolerant import SAO_PAULO
from runtime.settings import CodecSettings, PiiSettings, TemporalSettings
from runtime.temporal import connect
from workflows.loan import LoanWorkflow
from workflows.search import BORROWER_CPF_HASH, LOAN_PRODUCT, LOAN_STAGE, LOAN_STATUS
from workflows.state import LoanInput, LoanOutcome, LoanPolicy, LoanState, Stage, Status


def loan_workflow_id(request_key: str) -> str:
    return f"loan-{request_key}"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class LoanInputError(ValueError):
    """The request cannot start a loan; ``errors`` names each field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class LoanActionRefused(Exception):
    """The loan refused an operator action (wrong stage, bad value, or the provider said no)."""


class LoanNotFound(LookupError):
    pass


@dataclass(frozen=True)
class StartedLoan:
    workflow_id: str
    run_id: str | None
    already_existed: bool


def field_errors(error: ValidationError) -> list[FieldError]:
    errors = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-"))
        message = str(item["msg"]).removeprefix("Value error, ")
        field, _, rest = message.partition(": ")
        if not location and rest and " " not in field:
            location, message = field, rest
        errors.append(FieldError(location or "(request)", message))
    return errors


def validate_request(payload: LoanRequest | dict[str, Any], *, today: date | None = None) -> LoanRequest:
    """Every field check, including the ones that need today's date (which the workflow cannot do)."""
    try:
        request = payload if isinstance(payload, LoanRequest) else LoanRequest.model_validate(payload)
    except ValidationError as error:
        raise LoanInputError(field_errors(error)) from None
    today = today or datetime.now(SAO_PAULO).date()
    errors = []
    terms = request.financial
    if terms.disbursement_date < today:
        errors.append(FieldError("financial.disbursement_date", f"{terms.disbursement_date} is in the past"))
    signed = request.authorization_term.signed_at.astimezone(SAO_PAULO).date()
    if signed > today:
        errors.append(FieldError("authorization_term.signed_at", "is in the future"))
    elif (today - signed).days > 30:
        errors.append(FieldError("authorization_term.signed_at", "the term is valid 30 days after signing"))
    if errors:
        raise LoanInputError(errors)
    return request


def summary(request: LoanRequest) -> str:
    """The Web UI's static summary: product and terms, no CPF, no name."""
    terms = request.financial
    amount = (
        f"{terms.number_of_installments} x R$ {terms.installment_value}"
        if terms.installment_value
        else f"R$ {terms.disbursed_amount} released in {terms.number_of_installments} installments"
    )
    return f"INSS {request.product.value.replace('_', ' ')} · {amount} · benefit ••••{request.benefit.number[-4:]}"


class LoanService:
    def __init__(self, client: Client, task_queue: str, *, pii_hash_key: bytes | None = None) -> None:
        self.client = client
        self.task_queue = task_queue
        self._pii_hash_key = pii_hash_key

    @classmethod
    async def connect(
        cls,
        settings: TemporalSettings | None = None,
        *,
        codec: CodecSettings | None = None,
        pii: PiiSettings | None = None,
    ) -> LoanService:
        settings = settings or TemporalSettings()
        key = (pii or PiiSettings()).hash_key.get_secret_value().encode() or None
        return cls(await connect(settings, codec=codec, identity="starter"), settings.task_queue, pii_hash_key=key)

    def cpf_hash(self, cpf: str) -> str:
        if not self._pii_hash_key:
            raise LoanInputError([FieldError("cpf", "PII_HASH_KEY is not set: loans cannot be found by CPF")])
        try:
            return keyed_hash(normalize_cpf(cpf), self._pii_hash_key)
        except InvalidDocumentError as error:
            raise LoanInputError([FieldError("cpf", str(error))]) from None

    def handle(self, request_key: str) -> WorkflowHandle[LoanWorkflow, LoanOutcome]:
        return self.client.get_workflow_handle_for(LoanWorkflow.run, loan_workflow_id(request_key))

    async def start(self, payload: LoanRequest | dict[str, Any], *, policy: LoanPolicy | None = None) -> StartedLoan:
        """Start a loan, or find the one this request key already started (never a second loan)."""
        request = validate_request(payload)
        workflow_id = loan_workflow_id(request.request_key)
        try:
            handle = await self.client.start_workflow(
                LoanWorkflow.run,
                LoanInput(request=request, policy=policy or LoanPolicy()),
                id=workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(LOAN_STAGE, Stage.CONSULTATION.value),
                        SearchAttributePair(LOAN_STATUS, Status.IN_PROGRESS.value),
                        SearchAttributePair(LOAN_PRODUCT, request.product.value),
                        *(
                            [SearchAttributePair(BORROWER_CPF_HASH, self.cpf_hash(request.borrower.cpf))]
                            if self._pii_hash_key
                            else []
                        ),
                    ]
                ),
                static_summary=summary(request),
                static_details=f"request key `{request.request_key}` · product `{request.product.value}`",
            )
        except WorkflowAlreadyStartedError:
            return StartedLoan(workflow_id=workflow_id, run_id=None, already_existed=True)
        return StartedLoan(workflow_id=workflow_id, run_id=handle.result_run_id, already_existed=False)

    async def state(self, request_key: str) -> LoanState:
        try:
            state: LoanState = await self.handle(request_key).query("state", result_type=LoanState)
        except RPCError as error:
            if "not found" in str(error).lower():
                raise LoanNotFound(request_key) from None
            raise
        return state

    async def outcome(self, request_key: str) -> LoanOutcome:
        try:
            return await self.handle(request_key).result()
        except WorkflowFailureError as error:
            raise LoanActionRefused(str(error.cause)) from None

    async def wait_until(
        self,
        request_key: str,
        predicate: Callable[[LoanState], bool],
        *,
        seconds: float = 60.0,
        poll: float = 0.2,
        on_progress: Callable[[LoanState], None] | None = None,
    ) -> LoanState:
        """Poll the loan's state until ``predicate`` holds (or the loan closes)."""
        deadline = asyncio.get_running_loop().time() + seconds
        last_stage: Stage | None = None
        while True:
            state = await self.state(request_key)
            if on_progress and state.stage != last_stage:
                on_progress(state)
                last_stage = state.stage
            if predicate(state) or state.closed:
                return state
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"loan {request_key} still in {state.stage.value} after {seconds} s")
            await asyncio.sleep(poll)

    async def _update(self, request_key: str, name: str, argument: BaseModel) -> LoanState:
        try:
            state: LoanState = await self.handle(request_key).execute_update(name, argument, result_type=LoanState)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            raise LoanActionRefused(getattr(cause, "message", None) or str(cause)) from None
        return state

    async def provide_documents(self, request_key: str, documents: Documents) -> LoanState:
        return await self._update(request_key, "provide_documents", documents)

    async def submit_signature(self, request_key: str, submission: SignatureSubmission) -> LoanState:
        return await self._update(request_key, "submit_signature", submission)

    async def correct_collateral(self, request_key: str, fix: CollateralFix) -> LoanState:
        return await self._update(request_key, "correct_collateral", fix)

    async def reduce_installment(self, request_key: str, reduction: InstallmentReduction) -> LoanState:
        return await self._update(request_key, "reduce_installment", reduction)

    async def reapresentar(self, request_key: str, reapresentacao: Reapresentacao) -> LoanState:
        return await self._update(request_key, "reapresentar", reapresentacao)

    async def cancel(self, request_key: str, request: CancelRequest) -> LoanState:
        return await self._update(request_key, "cancel", request)

    async def list(
        self,
        *,
        stage: str | None = None,
        status: str | None = None,
        cpf: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Loans by stage/status (or CPF, through its keyed hash), from the search attributes."""
        clauses = ["WorkflowType = 'LoanWorkflow'"]
        if stage:
            clauses.append(f"LoanStage = '{_quote(stage)}'")
        if status:
            clauses.append(f"LoanStatus = '{_quote(status)}'")
        if cpf:
            clauses.append(f"BorrowerCpfHash = '{self.cpf_hash(cpf)}'")
        found = []
        async for execution in self.client.list_workflows(" AND ".join(clauses), limit=limit):
            attributes = execution.typed_search_attributes
            found.append(
                {
                    "request_key": execution.id.removeprefix("loan-"),
                    "workflow_id": execution.id,
                    "stage": attributes.get(LOAN_STAGE),
                    "status": attributes.get(LOAN_STATUS),
                    "product": attributes.get(LOAN_PRODUCT),
                    "running": execution.status == WorkflowExecutionStatus.RUNNING,
                    "started": execution.start_time,
                }
            )
        return found


def _quote(value: str) -> str:
    if not value.replace("_", "").isalnum():
        raise LoanInputError([FieldError("filter", f"{value!r} is not a stage or status name")])
    return value
