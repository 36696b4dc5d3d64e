"""Anuência end to end on the whole stack (dev server, worker, gateway, relay, sandbox, real HTTP).

The provider's page (https://docs.qitech.com.br/documentation/guides/INSS/pending_confirmation, in
force since 19/05/2026 06:00): after a successful averbação of a new credit or a refinancing the
reservation goes to ``pending_confirmation`` and the provider sends
``laas.social_security.reservation.status_change`` with ``data.confirmation_deadline``; it asks Dataprev
every 3 hours and sends the webhook again each time; the beneficiary has 5 calendar days. Confirmed:
``credit_operation.collateral`` with ``collateral_constituted: true``. Refused: ``debt`` / ``canceled``,
``social_security_confirmation_denied_by_beneficiary``. Expired: ``debt`` / ``canceled``,
``social_security_confirmation_expired``. The sandbox plays each per CPF (scenario ``anuencia``).
"""

from __future__ import annotations

import random
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request, signature_now
from devtools.devstack.stack import LocalStack
from domain.calendar import SAO_PAULO
from domain.loan import LoanRequest
from starter.api import LoanService
from tests.support.temporal import eventually
from tests.workflows.loan.conftest import record_history
from workflows.loan.state import LoanState, Stage, Status
from workflows.loan.visibility import BENEFICIARY_CONFIRMATION_DEADLINE

pytestmark = pytest.mark.integration

STATUS_CHANGE = "laas.social_security.reservation.status_change"
PENDING_CONFIRMATION = "pending_confirmation"
DENIED = "social_security_confirmation_denied_by_beneficiary"
EXPIRED = "social_security_confirmation_expired"
CONFIRMATION_DAYS = 5  # "Prazo máximo: 5 dias corridos"
# The provider's notices come 3 hours apart ("a cada 3 horas"); here half a second, which also keeps
# them ahead of the answer (webhooks may arrive out of order: the loan copes, the test's counts would not).
SPACED = {"anuencia_every_seconds": 0.5}


@pytest.fixture
def service(stack: LocalStack, temporal_client: Client) -> LoanService:
    return LoanService(temporal_client, stack.config.task_queue)


async def _start(stack: LocalStack, service: LoanService, tmp_path: Path, scenario: dict[str, Any]) -> LoanRequest:
    cpf = sample_cpf(1, random.Random())  # 1: the sandbox's full-margin, eligible CPFs
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as http:
        (await http.put(f"/_sandbox/scenarios/{cpf}", json=scenario)).raise_for_status()
    request = sample_request(COMPLETES, cpf=cpf, stamp=str(random.randrange(10**9)), documents_dir=tmp_path)
    await service.start(request)
    return request


async def _signed(service: LoanService, request: LoanRequest) -> None:
    state = await service.wait_until(
        request.request_key, lambda s: s.closed or s.stage == Stage.AWAITING_SIGNATURE, seconds=60
    )
    assert state.stage == Stage.AWAITING_SIGNATURE, state.outcome_reason
    await service.submit_signature(request.request_key, signature_now())


async def _debt_at_sandbox(stack: LocalStack, debt_key: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as http:
        found = await http.get(f"/_sandbox/debts/{debt_key}")
        found.raise_for_status()
        debt: dict[str, Any] = found.json()
        return debt


def _notices(state: LoanState) -> list[Any]:
    return [e for e in state.events if e.webhook_type == STATUS_CHANGE]


def _deadline_is_five_calendar_days_on(state: LoanState) -> None:
    """The deadline the loan shows is the provider's: the end of the fifth calendar day after the
    averbação (São Paulo), counted from the first notice."""
    notices = _notices(state)
    assert notices and notices[0].status == PENDING_CONFIRMATION
    first = notices[0].occurred_at
    assert first is not None and state.confirmation_deadline is not None
    last_day = (state.confirmation_deadline - timedelta(microseconds=1)).astimezone(SAO_PAULO).date()
    assert last_day == first.astimezone(SAO_PAULO).date() + timedelta(days=CONFIRMATION_DAYS)


async def test_anuencia_confirmed_constitutes_the_collateral_and_disburses(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = await _start(stack, service, tmp_path, {"anuencia": "confirmed", **SPACED})
    await _signed(service, request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert state.collateral_constituted and state.disbursed
    _deadline_is_five_calendar_days_on(state)
    kinds = [e.webhook_type for e in state.events]
    # the notice came before the confirmation (the collateral), the money after it
    assert kinds.index(STATUS_CHANGE) < kinds.index("credit_operation.collateral") < len(kinds) - 1
    assert state.confirmation_notices == 2  # the sandbox's default: sent, then sent again
    await record_history(service.handle(request.request_key), suffix="dev_server")


@pytest.mark.parametrize(
    ("answer", "reason", "words"),
    [
        ("denied", DENIED, "the beneficiary refused the loan in Meu INSS"),
        ("expired", EXPIRED, "not confirmed in Meu INSS by"),
    ],
    ids=["denied", "expired"],
)
async def test_anuencia_not_given_ends_canceled_naming_the_providers_reason(
    stack: LocalStack, service: LoanService, tmp_path: Path, answer: str, reason: str, words: str
) -> None:
    request = await _start(stack, service, tmp_path, {"anuencia": answer, **SPACED})
    await _signed(service, request)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert state.status == Status.CANCELED
    assert state.outcome_reason is not None and state.outcome_reason.startswith(f"{reason}: {words}")
    assert not state.collateral_constituted and not state.disbursed
    _deadline_is_five_calendar_days_on(state)
    if answer == "expired":  # the deadline the provider gave, in the words operators read
        deadline = state.confirmation_deadline
        assert deadline is not None
        assert deadline.astimezone(SAO_PAULO).strftime("%d/%m/%Y") in state.outcome_reason
    # The provider de-averbou and canceled it itself: the loan asks nothing more of it.
    assert state.debt_key is not None
    assert (await _debt_at_sandbox(stack, state.debt_key))["status"] == "canceled"
    await record_history(service.handle(request.request_key), suffix="dev_server")


async def test_repeated_notices_keep_the_loan_waiting_visibly_until_the_answer(
    stack: LocalStack, service: LoanService, temporal_client: Client, tmp_path: Path
) -> None:
    # Four notices a second apart (the provider's 3 hours, compressed), each delivered twice.
    scenario = {
        "anuencia": "confirmed",
        "anuencia_notices": 4,
        "anuencia_every_seconds": 1.0,
        "faults": {"duplicate_webhooks": True},
    }
    request = await _start(stack, service, tmp_path, scenario)
    await _signed(service, request)
    waiting = await service.wait_until(
        request.request_key, lambda s: s.closed or s.stage == Stage.AWAITING_BENEFICIARY_CONFIRMATION, seconds=60
    )
    assert waiting.stage == Stage.AWAITING_BENEFICIARY_CONFIRMATION, waiting.outcome_reason
    assert waiting.confirmation_deadline is not None

    # Operators find it by its deadline (visibility is eventually consistent).
    since = waiting.confirmation_deadline - timedelta(days=CONFIRMATION_DAYS + 1)
    query = (
        f"WorkflowId = 'loan-{request.request_key}' AND LoanStage = 'awaiting_beneficiary_confirmation' "
        f"AND BeneficiaryConfirmationDeadline > '{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    )

    async def listed() -> list[Any] | None:
        return [e async for e in temporal_client.list_workflows(query)] or None

    [found] = await eventually(listed, seconds=20, what="the loan waiting in visibility")
    assert found.typed_search_attributes.get(BENEFICIARY_CONFIRMATION_DEADLINE) == waiting.confirmation_deadline

    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=90)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    notices = _notices(state)
    # Each notice is a new event (counted), each redelivery the same event (not counted again).
    assert state.confirmation_notices == len(notices) == 4
    assert len({e.event_id for e in notices}) == 4
    assert {e.effect for e in notices} == {"averbação waits for the beneficiary's confirmation in Meu INSS"}
    assert len({e.detail for e in notices}) == 1  # the same deadline each time
    _deadline_is_five_calendar_days_on(state)
