"""The second provider over real HTTP on the whole stack (dev server, worker, both sandboxes): an
operation whose creation answer is lost is found, not created twice; following survives a worker
killed with SIGKILL and a provider outage; a provider marked unavailable before issuance sends the
loan to the first provider."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from devtools.devstack.samples import COMPLETES, POLLING_POLICY, sample_cpf, sample_request
from devtools.devstack.stack import ROOT, LocalStack
from domain.loan import LoanRequest, ProviderId
from starter.api import LoanService
from tests.support.temporal import eventually
from workflows.loan.routing import ProviderRouting
from workflows.loan.state import LoanState, Status

pytestmark = pytest.mark.integration


def _request(tmp_path: Path, **changes: Any) -> LoanRequest:
    request = sample_request(
        COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    )
    return request.model_copy(update={"provider": ProviderId.PROVIDER_B, **changes})


async def _operations(stack: LocalStack, cpf: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.config.sandbox_b_url, timeout=10) as http:
        found: list[dict[str, Any]] = (await http.get("/_sandbox/operations", params={"document_number": cpf})).json()
    return found


async def _scenario(stack: LocalStack, cpf: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=stack.config.sandbox_b_url, timeout=10) as http:
        (await http.put(f"/_sandbox/scenarios/{cpf}", json=body)).raise_for_status()


@pytest.fixture
def service(stack: LocalStack, temporal_client: Client) -> LoanService:
    return LoanService(temporal_client, stack.config.task_queue)


async def test_a_lost_creation_answer_is_found_not_created_twice(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = _request(tmp_path)
    await _scenario(stack, request.borrower.cpf, {"faults": {"lose_creation_answer": 1}})
    await service.start(request, policy=POLLING_POLICY)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    [operation] = await _operations(stack, request.borrower.cpf)  # one, although created "twice"
    assert state.debt_key == operation["debt_key"]
    assert any("an earlier attempt created" in note for note in state.unknown_values)


async def test_following_survives_a_killed_worker_and_a_provider_outage(
    stack: LocalStack, service: LoanService, tmp_path: Path
) -> None:
    request = _request(tmp_path)
    # Slow enough to be followed for a while; three polls answered 503 on the way.
    await _scenario(stack, request.borrower.cpf, {"step_seconds": 1.5, "faults": {"fail_5xx": 3}})
    await service.start(request, policy=POLLING_POLICY)

    def created(state: LoanState) -> bool:
        return state.debt_key is not None

    await service.wait_until(request.request_key, created, seconds=60)
    [worker] = [p for p in stack.processes if p.name == "worker-0"]
    worker.popen.kill()
    worker.popen.wait()
    stack.processes.remove(worker)
    stack.start_worker(0)
    state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed")
    assert len(await _operations(stack, request.borrower.cpf)) == 1
    async with httpx.AsyncClient(base_url=stack.config.sandbox_b_url, timeout=10) as http:
        left = (await http.get(f"/_sandbox/budgets/{request.borrower.cpf}")).json()
    assert left["fail_5xx"] == 0  # the three 503s were answered (and retried through)


async def test_a_provider_marked_unavailable_sends_new_loans_to_the_other(
    stack: LocalStack, temporal_client: Client, tmp_path: Path
) -> None:
    routing = ProviderRouting(default=ProviderId.PROVIDER_B, unavailable=frozenset({ProviderId.PROVIDER_B}))
    service = LoanService(temporal_client, stack.config.task_queue, routing=routing)
    request = _request(tmp_path, provider=None)
    await service.start(request)

    async def listed() -> list[dict[str, Any]] | None:
        return await service.list(query=f"WorkflowId = 'loan-{request.request_key}'") or None

    [loan] = await eventually(listed, seconds=20, what="the loan in visibility")
    assert loan["provider"] == "qitech"  # the LoanProvider search attribute operators filter by
    assert (await service.state(request.request_key)).provider == "qitech"
    assert await _operations(stack, request.borrower.cpf) == []


async def test_a_worker_without_the_first_provider_completes_a_second_provider_only_loan(
    stack: LocalStack, temporal_client: Client, tmp_path: Path
) -> None:
    """A second-provider-only lender's worker: no PROVIDER_BASE_URL, so none of the first provider's
    secrets or activities; its loans have no IN100 consultation (the starter pins it) and complete
    through the second provider alone."""
    queue = f"second-only-{random.randrange(10**9)}"
    worker = stack.start_polling_process(
        "worker-second-only",
        [sys.executable, str(ROOT / "worker.py")],
        {
            "TEMPORAL_TASK_QUEUE": queue,
            "PROVIDER_BASE_URL": "",
            "PROVIDER_API_CLIENT_KEY": "",
            "PROVIDER_SIGNING_KEY": "",
            "PROVIDER_PUBLIC_KEY": "",
            "PROVIDER_B_BASE_URL": stack.config.sandbox_b_url,
            "PROVIDER_B_USERNAME": stack.config.provider_b_username,
            "PROVIDER_B_PASSWORD": stack.config.provider_b_password,
        },
    )
    try:
        routing = ProviderRouting(default=ProviderId.PROVIDER_B, providers=frozenset({ProviderId.PROVIDER_B}))
        service = LoanService(temporal_client, queue, routing=routing)
        request = _request(tmp_path, provider=None)
        request = request.model_copy(
            update={"benefit": request.benefit.model_copy(update={"assistance_type": "retirement_by_age"})}
        )
        await service.start(request, policy=POLLING_POLICY)
        state = await service.wait_until(request.request_key, lambda s: s.closed, seconds=120)
    finally:
        stack.stop_process(worker)
    assert (state.status, state.outcome_reason) == (Status.COMPLETED, "disbursed"), state.outcome_reason
    assert state.provider == "provider_b" and state.benefits_request_key is None and state.balance is None
    [operation] = await _operations(stack, request.borrower.cpf)
    assert operation["in100"] is False and operation["debt_key"] == state.debt_key
    assert "does not speak to the first provider" in worker.log.read_text()
