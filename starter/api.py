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
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.common import SearchAttributePair
from temporalio.service import RPCError, RPCStatusCode

from domain.calendar import SAO_PAULO
from domain.documents import InvalidDocumentError, keyed_hash, normalize_cpf
from domain.loan import (
    CancelRequest,
    ChangeApproval,
    CollateralFix,
    Documents,
    InstallmentReduction,
    LoanRequest,
    Reapresentacao,
    SignatureSubmission,
)
from runtime.codec.settings import CodecSettings
from runtime.settings import PiiSettings, TemporalSettings
from runtime.temporal import connect
from starter.client import LoanActionRefused, LoanClient, StartedLoan
from starter.routing import RoutingSettings
from workflows.loan.admission import (
    FieldError,
    LoanInputError,
    field_errors,
    request_problems,
    without_consultation,
)
from workflows.loan.contract import LOAN_WORKFLOW, LoanOutcome, loan_workflow_id, request_key_of
from workflows.loan.routing import NoProvider, ProviderRouting, choose_provider, consults
from workflows.loan.rules import LoanPolicy, current_rules
from workflows.loan.state import LoanState, Stage
from workflows.loan.visibility import BORROWER_CPF_HASH, LOAN_PRODUCT, LOAN_PROVIDER, LOAN_STAGE, LOAN_STATUS
from workflows.loan.workflow import LoanWorkflow

__all__ = [
    "FieldError",
    "LoanActionRefused",
    "LoanClosed",
    "LoanInputError",
    "LoanNotFound",
    "LoanService",
    "StartedLoan",
    "field_errors",
    "loan_workflow_id",
    "validate_request",
]


CLOSED_STATE_WAIT = 5.0
"""Seconds an action on a closed loan waits for its final state (to say how it ended)."""


class LoanNotFound(LookupError):
    """No loan has this request key (in the namespace's retention)."""


class LoanClosed(LoanNotFound):
    """The loan has ended: it takes no more actions (``status`` says how it ended)."""

    def __init__(self, request_key: str, status: str) -> None:
        super().__init__(request_key)
        self.request_key = request_key
        self.status = status


def validate_request(payload: LoanRequest | dict[str, Any], *, today: date | None = None) -> LoanRequest:
    """Every field check, including the ones that need today's date (the worker checks them again for a
    start it did not see: ``workflows.loan.admission``)."""
    try:
        request = payload if isinstance(payload, LoanRequest) else LoanRequest.model_validate(payload)
    except ValidationError as error:
        raise LoanInputError(field_errors(error)) from None
    errors = request_problems(request, today or datetime.now(SAO_PAULO).date())
    if errors:
        raise LoanInputError(errors)
    return request


class LoanService:
    """The starter API: validates a caller's request before anything starts, pins today's rules,
    hashes the CPF for operators' searches, and turns refusals into errors that name the field."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        pii_hash_key: bytes | None = None,
        routing: ProviderRouting | None = None,
        remote_cpf_hash: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.loans = LoanClient(client, task_queue)
        self._pii_hash_key = pii_hash_key
        # An operator's machine without PII_HASH_KEY asks the codec server for a CPF's hash.
        self._remote_cpf_hash = None if pii_hash_key else remote_cpf_hash
        self.routing = routing or RoutingSettings().routing()

    @classmethod
    async def connect(
        cls,
        settings: TemporalSettings | None = None,
        *,
        codec: CodecSettings | None = None,
        pii: PiiSettings | None = None,
    ) -> LoanService:
        settings = settings or TemporalSettings()
        codec = codec or CodecSettings()
        key = (pii or PiiSettings()).hash_key.get_secret_value().encode() or None
        # With CODEC_REMOTE_URL (an operator's machine): no codec key, no PII_HASH_KEY; the codec server
        # encodes, decodes and hashes for the operator's token, and seals their name into what they send.
        client = await connect(settings, codec=codec, identity="starter", remote_codec=True)
        remote = codec.remote()
        return cls(
            client,
            settings.task_queue,
            pii_hash_key=key,
            remote_cpf_hash=remote.cpf_hash if remote is not None else None,
        )

    def with_routing(self, routing: ProviderRouting) -> LoanService:
        """The same service for a lender with other routing rules (the run command plays several)."""
        return LoanService(self.client, self.task_queue, pii_hash_key=self._pii_hash_key, routing=routing)

    def cpf_hash(self, cpf: str) -> str:
        if not self._pii_hash_key:
            raise LoanInputError([FieldError("cpf", "PII_HASH_KEY is not set: loans cannot be found by CPF")])
        try:
            return keyed_hash(normalize_cpf(cpf), self._pii_hash_key)
        except InvalidDocumentError as error:
            raise LoanInputError([FieldError("cpf", str(error))]) from None

    @property
    def finds_by_cpf(self) -> bool:
        return bool(self._pii_hash_key) or self._remote_cpf_hash is not None

    async def hash_cpf(self, cpf: str) -> str:
        """A CPF's keyed hash: with the local PII_HASH_KEY, or from the codec server (CODEC_REMOTE_URL)."""
        if self._remote_cpf_hash is None:
            return self.cpf_hash(cpf)
        try:
            return await self._remote_cpf_hash(cpf)
        except (ValueError, LookupError) as error:
            raise LoanInputError([FieldError("cpf", str(error))]) from None

    def handle(self, request_key: str) -> WorkflowHandle[LoanWorkflow, LoanOutcome]:
        return self.loans.handle(request_key)

    async def start(self, payload: LoanRequest | dict[str, Any], *, policy: LoanPolicy | None = None) -> StartedLoan:
        """Start a loan, or find the one this request key already started (never a second loan)."""
        request = validate_request(payload)
        pairs = (
            [SearchAttributePair(BORROWER_CPF_HASH, await self.hash_cpf(request.borrower.cpf))]
            if self.finds_by_cpf
            else []
        )
        try:
            provider = choose_provider(request, self.routing)
        except NoProvider as error:
            raise LoanInputError([FieldError("provider", str(error))]) from None
        in100 = consults(provider, self.routing)
        if not in100:
            missing = without_consultation(request)
            if missing:
                raise LoanInputError(missing)
        return await self.loans.start(
            request, rules=current_rules(policy), provider=provider, search_attributes=pairs, in100=in100
        )

    async def state(self, request_key: str) -> LoanState:
        try:
            return await self.loans.state(request_key)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise LoanNotFound(request_key) from None
            raise

    async def _act(self, request_key: str, action: Awaitable[LoanState]) -> LoanState:
        """An operator action; a loan that does not exist raises LoanNotFound, one that has ended
        LoanClosed (the server answers both NOT_FOUND: the loan's description tells them apart)."""
        try:
            return await action
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            refused = error
        try:
            described = await self.handle(request_key).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise LoanNotFound(request_key) from None
            raise
        if described.status in (None, WorkflowExecutionStatus.RUNNING):
            raise refused
        try:  # how the loan ended, in its own words; a worker answers the query of a closed loan
            status = (await asyncio.wait_for(self.loans.state(request_key), CLOSED_STATE_WAIT)).status.value
        except (RPCError, TimeoutError):
            status = described.status.name.lower()  # Temporal's word for it, when no worker answers
        raise LoanClosed(request_key, status)

    async def outcome(self, request_key: str) -> LoanOutcome:
        try:
            return await self.loans.outcome(request_key)
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

    async def provide_documents(self, request_key: str, documents: Documents) -> LoanState:
        return await self._act(request_key, self.loans.provide_documents(request_key, documents))

    async def submit_signature(self, request_key: str, submission: SignatureSubmission) -> LoanState:
        return await self._act(request_key, self.loans.submit_signature(request_key, submission))

    async def correct_collateral(self, request_key: str, fix: CollateralFix) -> LoanState:
        return await self._act(request_key, self.loans.correct_collateral(request_key, fix))

    async def reduce_installment(self, request_key: str, reduction: InstallmentReduction) -> LoanState:
        return await self._act(request_key, self.loans.reduce_installment(request_key, reduction))

    async def reapresentar(self, request_key: str, reapresentacao: Reapresentacao) -> LoanState:
        return await self._act(request_key, self.loans.reapresentar(request_key, reapresentacao))

    async def cancel(self, request_key: str, request: CancelRequest) -> LoanState:
        return await self._act(request_key, self.loans.cancel(request_key, request))

    async def approve_change(self, request_key: str, approval: ChangeApproval) -> LoanState:
        """A second operator's decision on a change of account another operator proposed (maker-checker)."""
        return await self.loans.approve_change(request_key, approval)

    def loan_query(
        self,
        query: str | None = None,
        *,
        stage: str | None = None,
        status: str | None = None,
        product: str | None = None,
        cpf: str | None = None,
        running: bool = False,
        cpf_hash: str | None = None,
    ) -> str:
        """The visibility query for loans with these filters, ANDed with a caller's own ``query``
        (``cpf_hash``: a CPF already hashed, e.g. by ``hash_cpf``)."""
        clauses = [f"WorkflowType = '{LOAN_WORKFLOW}'"]
        if running:
            clauses.append("ExecutionStatus = 'Running'")
        if stage:
            clauses.append(f"LoanStage = '{_quote(stage)}'")
        if status:
            clauses.append(f"LoanStatus = '{_quote(status)}'")
        if product:
            clauses.append(f"LoanProduct = '{_quote(product)}'")
        if cpf or cpf_hash:
            clauses.append(f"BorrowerCpfHash = '{_quote(cpf_hash) if cpf_hash else self.cpf_hash(cpf or '')}'")
        if query and query.strip():
            clauses.append(f"({query.strip()})")
        return " AND ".join(clauses)

    async def count(self, query: str) -> int:
        """How many workflows a visibility query matches."""
        return (await self.client.count_workflows(query)).count

    async def list(
        self,
        *,
        stage: str | None = None,
        status: str | None = None,
        cpf: str | None = None,
        product: str | None = None,
        query: str | None = None,
        running: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Loans by stage/status/product (or CPF, through its keyed hash, or a visibility query of
        the caller's), from the search attributes."""
        hashed = await self.hash_cpf(cpf) if cpf else None
        selection = self.loan_query(
            query, stage=stage, status=status, product=product, cpf_hash=hashed, running=running
        )
        found = []
        async for execution in self.client.list_workflows(selection, limit=limit):
            attributes = execution.typed_search_attributes
            found.append(
                {
                    "request_key": request_key_of(execution.id),
                    "workflow_id": execution.id,
                    "stage": attributes.get(LOAN_STAGE),
                    "status": attributes.get(LOAN_STATUS),
                    "product": attributes.get(LOAN_PRODUCT),
                    "provider": attributes.get(LOAN_PROVIDER),
                    "running": execution.status == WorkflowExecutionStatus.RUNNING,
                    "started": execution.start_time,
                }
            )
        return found


def _quote(value: str) -> str:
    if not value.replace("_", "").isalnum():
        raise LoanInputError([FieldError("filter", f"{value!r} is not a stage, status or product name")])
    return value
