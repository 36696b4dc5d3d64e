"""Loans end to end on the real stack: dev server, worker, sandbox provider, gateway, real HTTP.

The sandbox answers by the CPF's first digit, as the provider's Mocks (Sandbox) page says for the
benefit data (docs.qitech.com.br/documentation/guides/INSS/mocks-sandbox) and the older manual for the
averbação; each scenario must end in its documented final state.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack
from runtime.store.db import create_engine
from starter.api import LoanService
from tests.workflows.loan.conftest import record_history
from webhooks.inbox.store import DELIVERED, Inbox
from workflows.loan.state import LoanState, Stage, Status

pytestmark = pytest.mark.integration


@pytest.fixture
def service(stack: LocalStack, temporal_client: Client) -> LoanService:
    return LoanService(temporal_client, stack.config.task_queue, pii_hash_key=stack.config.pii_hash_key.encode())


def _scenario(stack: LocalStack, cpf: str, body: dict[str, Any]) -> None:
    httpx.put(f"{stack.config.sandbox_url}/_sandbox/scenarios/{cpf}", json=body, timeout=10).raise_for_status()


async def _run_loan(
    service: LoanService,
    stack: LocalStack,
    tmp_path: Path,
    first_digit: int,
    *,
    scenario: dict[str, Any] | None = None,
    record: bool = False,
) -> LoanState:
    cpf = sample_cpf(first_digit, random.Random())
    if scenario:
        _scenario(stack, cpf, scenario)
    request = sample_request(COMPLETES, cpf=cpf, stamp=str(random.randrange(10**9)), documents_dir=tmp_path)
    started = await service.start(request)
    assert not started.already_existed

    def settled(state: LoanState) -> bool:
        return state.closed or state.stage == Stage.AWAITING_SIGNATURE

    state = await service.wait_until(request.request_key, settled, seconds=60)
    if state.stage == Stage.AWAITING_SIGNATURE:
        await service.submit_signature(request.request_key, signature_now())
        state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=60)
    await service.outcome(request.request_key)
    if record:  # histories from the dev server, for the replay test
        await record_history(service.handle(request.request_key), suffix="dev_server")
    return await service.state(request.request_key)


@pytest.mark.parametrize(
    ("digit", "status", "reason"),
    [
        (1, Status.COMPLETED, "disbursed"),
        (2, Status.REJECTED, "balance request failed: inconsistent_balance_benefit_data"),  # D1
        (3, Status.CANCELED, "operation_not_allowed_IR"),  # reduced card margin; IR at the averbação
        (4, Status.COMPLETED, "disbursed"),
        (6, Status.REJECTED, "benefits request failed: mock_error"),
        (8, Status.COMPLETED, "disbursed"),
    ],
)
async def test_each_cpf_scenario_ends_in_its_documented_state(
    service: LoanService, stack: LocalStack, tmp_path: Path, digit: int, status: Status, reason: str
) -> None:
    state = await _run_loan(service, stack, tmp_path, digit, record=True)
    assert (state.status, state.outcome_reason) == (status, reason)
    if status == Status.COMPLETED:
        assert state.balance is not None and state.balance.loans_margin == Decimal("431.3")  # margemDisponivel
        assert state.collateral_constituted and state.disbursed and state.contract_number
        # The signature's answer (POST /signed: signature_received) is news too, besides its webhook.
        webhooks = [e.webhook_type for e in state.events if not e.event_id.startswith("answer:")]
        assert webhooks == [
            "social_security_benefits_request",
            "social_security_balance_request",
            "debt",
            "debt",
            "credit_operation.collateral",
            "debt",
        ]
        answers = [(e.event_id, e.status) for e in state.events if e.event_id.startswith("answer:")]
        assert answers == [(f"answer:{state.debt_key}:signed:signature_received", "signature_received")]


@pytest.mark.parametrize(
    ("digit", "enumerator"), [(2, "invalid_disbursement_account"), (3, "operation_not_allowed_IR")]
)
async def test_averbacao_cancel_scenarios_end_canceled_with_the_dataprev_reason(
    service: LoanService, stack: LocalStack, tmp_path: Path, digit: int, enumerator: str
) -> None:
    # Digit 2 stops at the consultation (D1); the sandbox switch lets it through (3 goes through anyway).
    state = await _run_loan(service, stack, tmp_path, digit, scenario={"consultation": "success"})
    assert (state.status, state.outcome_reason) == (Status.CANCELED, enumerator)
    assert state.last_dataprev is not None and state.last_dataprev.enumerator == enumerator


@pytest.mark.parametrize(
    "faults",
    [
        {"webhook_before_response": True},
        {"duplicate_webhooks": True},
        {"out_of_order_webhooks": True},
        {"webhook_delivery_failures": 2},
        {"fail_5xx": 2, "suspended": 0},
    ],
    ids=lambda f: next(iter(f)),
)
async def test_a_cpf_1_loan_completes_whatever_the_delivery_faults(
    service: LoanService, stack: LocalStack, tmp_path: Path, faults: dict[str, Any]
) -> None:
    state = await _run_loan(service, stack, tmp_path, 1, scenario={"faults": faults})
    assert state.status == Status.COMPLETED, state.outcome_reason
    assert [e.effect for e in state.events].count("disbursed") == 1
    if faults.get("duplicate_webhooks") and state.debt_key:
        # Each webhook came twice; the inbox stored each event once, and the loan saw each once.
        async with httpx.AsyncClient(timeout=10) as http:
            sent = (await http.get(f"{stack.config.sandbox_url}/_sandbox/webhooks")).json()
        debt_deliveries = [d for d in sent if d["key"] == state.debt_key]
        assert len(debt_deliveries) >= 2 * len({d["event_key"] for d in debt_deliveries}) >= 6
        engine = create_engine(stack.config.database_url)
        try:
            stored = [
                e for e in await Inbox(engine).listing(DELIVERED, limit=10_000) if e["route_key"] == state.debt_key
            ]
        finally:
            await engine.dispose()
        assert sorted(str(e["event_id"]) for e in stored) == sorted(
            f"event_key:{k}" for k in {d["event_key"] for d in debt_deliveries}
        )
        assert all(e["loan_id"] == service.handle(state.request_key).id for e in stored)
        assert state.duplicate_events == 0


async def test_starting_the_same_request_twice_returns_the_existing_loan(
    service: LoanService, stack: LocalStack, tmp_path: Path
) -> None:
    cpf = sample_cpf(2, random.Random())
    request = sample_request(COMPLETES, cpf=cpf, stamp="twice", documents_dir=tmp_path)
    first = await service.start(request)
    second = await service.start(request)
    assert (first.already_existed, second.already_existed) == (False, True)
    assert first.workflow_id == second.workflow_id
    await service.wait_until(request.request_key, lambda s: s.closed, seconds=60)
    third = await service.start(request)  # even after it closed: no second loan with this key
    assert third.already_existed
