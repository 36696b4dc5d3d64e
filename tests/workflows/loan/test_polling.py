"""A loan at a polled provider (the second provider's port), on a time-skipping server: consulted
through the first provider, created once, followed on durable timers through the provider's
statuses to its end; refusals end it naming the field; an outage delays it; history stays bounded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.loan import CancelRequest, ProviderId
from starter.client import start_loan_workflow
from tests.support.fake_provider import FakeProvider
from tests.support.loans import loan_request
from tests.support.temporal import current_details, eventually, task_queue
from tests.workflows.loan.conftest import Loan, signature
from workflows.loan.activity_models import Simulated, SimulateInput
from workflows.loan.contract import LoanInput, LoanOutcome
from workflows.loan.port import BUSINESS_ERROR, CreateOperationInput, FollowInput, OperationFacts, OperationPhase
from workflows.loan.rules import LoanPolicy, current_rules
from workflows.loan.state import LoanState, Stage, Status
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import workflow_runner

POLICY = LoanPolicy(poll_every=timedelta(minutes=1), poll_every_max=timedelta(minutes=8))


@dataclass
class FakeSecondProvider:
    """The polled provider's adapter, scripted: the statuses it answers, in order (the last repeats)."""

    statuses: list[tuple[OperationPhase, str]] = field(
        default_factory=lambda: [
            (OperationPhase.AWAITING_SIGNATURE, "AGUARDANDO FORMALIZAÇÃO"),
            (OperationPhase.AVERBACAO, "EM AVERBAÇÃO"),
            (OperationPhase.DISBURSED, "PAGO"),
        ]
    )
    refuse_creation: str | None = None
    failing_polls: int = 0
    prices: dict[str, Any] = field(default_factory=dict)  # what the provider's simulation prices its own way
    creations: list[CreateOperationInput] = field(default_factory=list)
    polls: list[FollowInput] = field(default_factory=list)
    debt_key: str = field(default_factory=lambda: f"op-{uuid.uuid4()}")

    def activities(self, first: FakeProvider) -> list[Any]:
        fake = self

        @activity.defn(name="provider_b.simulate")
        async def simulate(call: SimulateInput) -> Simulated:
            first.prices = fake.prices
            return first.simulated(call.request)

        @activity.defn(name="provider_b.create_operation")
        async def create_operation(call: CreateOperationInput) -> OperationFacts:
            fake.creations.append(call)
            if fake.refuse_creation:
                raise ApplicationError(
                    fake.refuse_creation,
                    {"code": "LEG000041", "description": fake.refuse_creation, "field": "client.person_name"},
                    type=BUSINESS_ERROR,
                    non_retryable=True,
                )
            phase, status = fake.statuses[0]
            return OperationFacts(
                debt_key=fake.debt_key,
                phase=phase,
                provider_status=status,
                contract_number="0142115893/T",
                formalization_link=f"https://formalizacao.example/{fake.debt_key}",
            )

        @activity.defn(name="provider_b.follow_operation")
        async def follow_operation(call: FollowInput) -> OperationFacts:
            fake.polls.append(call)
            if fake.failing_polls > 0:
                fake.failing_polls -= 1
                raise ApplicationError("provider answered 503", type="ProviderUnavailable", non_retryable=True)
            phase, status = fake.statuses[min(len(fake.polls), len(fake.statuses) - 1)]
            return OperationFacts(debt_key=call.debt_key, phase=phase, provider_status=status)

        return [simulate, create_operation, follow_operation, *first.activities()]


@pytest.fixture
async def started(env: WorkflowEnvironment) -> AsyncIterator[Any]:
    workers: list[Worker] = []

    async def start(second: FakeSecondProvider, **request: Any) -> tuple[Loan, WorkflowHandle[Any, Any]]:
        first = FakeProvider()
        queue = task_queue()
        worker = Worker(
            env.client,
            task_queue=queue,
            workflows=[LoanWorkflow],
            workflow_runner=workflow_runner(),
            activities=second.activities(first),
        )
        await worker.__aenter__()
        workers.append(worker)
        loan_request_ = loan_request(**request)
        handle = await start_loan_workflow(
            env.client,
            LoanInput(request=loan_request_, rules=current_rules(POLICY), provider=ProviderId.PROVIDER_B),
            id=f"loan-{loan_request_.request_key}",
            task_queue=queue,
        )
        loan = Loan(env=env, fake=first, handle=handle, request=loan_request_)
        await loan.consulted()  # the lender's IN100 consultation, through the first provider
        return loan, handle

    yield start
    for worker in workers:
        await worker.__aexit__(None, None, None)


async def test_a_polled_loan_is_created_once_and_followed_to_disbursed(started: Any) -> None:
    second = FakeSecondProvider()
    loan, handle = await started(second)
    outcome: LoanOutcome = await asyncio.wait_for(handle.result(), 120)
    assert (outcome.status, outcome.reason) == (Status.COMPLETED, "disbursed")
    assert len(second.creations) == 1 and second.creations[0].benefit is not None  # the consultation's facts
    assert outcome.debt_key == second.debt_key and outcome.contract_number == "0142115893/T"
    state: LoanState = await loan.state()
    assert state.provider == "provider_b" and state.polls == 2 and state.provider_status == "PAGO"
    assert state.formalization_link == f"https://formalizacao.example/{second.debt_key}"
    # Nothing went to the first provider after the consultation.
    assert loan.fake.names() == ["request_benefits", "request_balance", "release_provider_keys"]


async def test_a_refusal_at_creation_ends_the_loan_with_the_providers_code_and_field(started: Any) -> None:
    second = FakeSecondProvider(refuse_creation="client.person_name: '' should be non-empty in borrower.name")
    _, handle = await started(second)
    outcome: LoanOutcome = await asyncio.wait_for(handle.result(), 120)
    assert outcome.status == Status.REJECTED
    assert outcome.reason is not None and "LEG000041" in outcome.reason and "client.person_name" in outcome.reason


async def test_an_outage_while_following_delays_the_loan_and_does_not_end_it(started: Any) -> None:
    second = FakeSecondProvider(failing_polls=3)
    loan, handle = await started(second)
    outcome: LoanOutcome = await asyncio.wait_for(handle.result(), 120)
    assert outcome.status == Status.COMPLETED
    state: LoanState = await loan.state()
    assert len(second.creations) == 1
    assert sum("following the operation failed" in note for note in state.unknown_values) == 3


async def test_a_status_no_table_knows_is_shown_and_followed_not_taken_as_an_end(started: Any) -> None:
    second = FakeSecondProvider(
        statuses=[
            (OperationPhase.AWAITING_SIGNATURE, "AGUARDANDO FORMALIZAÇÃO"),
            (OperationPhase.UNKNOWN, "EM AUDITORIA"),
            (OperationPhase.DISBURSED, "PAGO"),
        ]
    )
    loan, handle = await started(second)

    async def saw_unknown() -> LoanState | None:
        state: LoanState = await loan.state()
        return state if state.provider_status == "EM AUDITORIA" else None

    seen = await eventually(saw_unknown, what="the unknown status")
    assert seen.status == Status.IN_PROGRESS
    assert (await asyncio.wait_for(handle.result(), 120)).status == Status.COMPLETED


async def test_a_week_waiting_for_the_borrower_keeps_the_history_bounded(
    started: Any, env: WorkflowEnvironment
) -> None:
    second = FakeSecondProvider(statuses=[(OperationPhase.AWAITING_SIGNATURE, "AGUARDANDO FORMALIZAÇÃO")])
    loan, handle = await started(second, limit_days=10)
    await loan.at(Stage.AWAITING_SIGNATURE)
    await env.sleep(timedelta(days=7))
    state: LoanState = await loan.state()
    # Back-off: 1, 2, 4, then every 8 minutes — about 180 polls a day, not 1,440.
    assert 1_000 < len(second.polls) < 1_500
    assert state.polls == len(second.polls) and state.runs > 1  # carried across continue-as-new
    events = [e async for e in handle.fetch_history_events()]
    assert len(events) < 2_100  # the current run, continued as new before it grew past the limit


async def test_operator_actions_other_than_cancel_belong_to_the_provider(started: Any) -> None:
    second = FakeSecondProvider(statuses=[(OperationPhase.AWAITING_SIGNATURE, "AGUARDANDO FORMALIZAÇÃO")])
    loan, handle = await started(second)
    await loan.at(Stage.AWAITING_SIGNATURE)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("submit_signature", signature())
    assert "taken at the provider" in str(refused.value.cause)
    await handle.execute_update("cancel", CancelRequest(reason="the borrower gave up"))
    outcome: LoanOutcome = await asyncio.wait_for(handle.result(), 120)
    assert outcome.status == Status.CANCELED
    assert outcome.reason is not None and "cancel it at provider_b" in outcome.reason


async def test_the_operation_goes_on_the_providers_price_and_each_difference_is_shown(started: Any) -> None:
    """The provider's simulation prices the issue amount and the IOF its own way: the loan goes on
    with its figures (the operation is created with them) and names each one where ours differ."""
    second = FakeSecondProvider(prices={"issue_amount": Decimal("12000.05"), "total_iof": Decimal("400.02")})
    loan, handle = await started(second)
    outcome: LoanOutcome = await asyncio.wait_for(handle.result(), 120)
    assert outcome.status == Status.COMPLETED
    [creation] = second.creations
    assert creation.priced is not None and creation.priced.issue_amount == Decimal("12000.05")
    state: LoanState = await loan.state()
    check = state.pricing_check
    assert check is not None and not check.matches
    named = {
        (m.field, m.ours, m.theirs)
        for m in check.mismatches
        if m.disbursement_date == loan.request.financial.disbursement_date
    }
    # Ours are the fake engine's figures (FakeProvider._options): 12000.00 issued, IOF 400.00.
    assert named == {("issue_amount", "12000.00", "12000.05"), ("total_iof", "400.00", "400.02")}
    assert state.chosen_option is not None and state.chosen_option.issue_amount == Decimal("12000.05")


async def test_while_it_waits_the_details_name_the_price_difference(started: Any) -> None:
    second = FakeSecondProvider(
        prices={"issue_amount": Decimal("12000.05")},
        statuses=[(OperationPhase.AWAITING_SIGNATURE, "AGUARDANDO FORMALIZAÇÃO")],
    )
    loan, handle = await started(second)
    await loan.at(Stage.AWAITING_SIGNATURE)
    day = loan.request.financial.disbursement_date
    details = await current_details(handle)
    assert f"{day} issue_amount: ours 12000.00, theirs 12000.05" in details, details


async def test_a_provider_that_agrees_is_a_computed_match(started: Any) -> None:
    second = FakeSecondProvider()
    loan, handle = await started(second)
    await asyncio.wait_for(handle.result(), 120)
    state: LoanState = await loan.state()
    assert state.pricing_check is not None and state.pricing_check.matches and not state.pricing_check.mismatches
    assert state.pricing_check.differences == []


async def test_a_second_provider_only_lender_goes_without_the_consultation(env: WorkflowEnvironment) -> None:
    """No consulting provider (``in100`` False, as the starter pins it for such a lender): nothing goes
    to the first provider, the operation is created "Sem IN100" with the request's assistance type and
    account, eligibility states what only the provider can check, and the loan completes."""
    second, first = FakeSecondProvider(), FakeProvider()
    queue = task_queue()
    request = loan_request(benefit={"number": "2052711150", "state": "SP", "assistance_type": "retirement_by_age"})
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[LoanWorkflow],
        workflow_runner=workflow_runner(),
        activities=second.activities(first),
    ):
        handle = await start_loan_workflow(
            env.client,
            LoanInput(request=request, rules=current_rules(POLICY), provider=ProviderId.PROVIDER_B, in100=False),
            id=f"loan-{request.request_key}",
            task_queue=queue,
        )
        outcome: LoanOutcome = await asyncio.wait_for(handle.result(), 120)
        state: LoanState = await handle.query(LoanWorkflow.query_state)
    assert (outcome.status, outcome.reason) == (Status.COMPLETED, "disbursed")
    assert [name for name in first.names() if name != "release_provider_keys"] == []  # no IN100
    [creation] = second.creations
    assert creation.in100 is False and creation.benefit is None
    assert state.balance is None and state.benefits_request_key is None
    assert [r.rule for r in state.eligibility_risks] == ["consultation"]
    assert state.disbursement_accounts == list(request.disbursement_accounts)
