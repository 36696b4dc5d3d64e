"""The sandbox's fault switches, as the integration tests of the gateway and workflow will use them."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from activities.qitech.client import ProviderClient, Signer
from devtools.sandbox.scenarios import benefit_number_for
from tests.conftest import SandboxUnderTest, lender_credentials
from tests.support.builders import benefits_request, issuance_request
from tests.support.data import make_cpf

pytestmark = pytest.mark.integration


def _scenario(sandbox: SandboxUnderTest, cpf: str, **faults: object) -> None:
    with sandbox.admin() as admin:
        admin.put(f"/_sandbox/scenarios/{cpf}", json={"faults": faults}).raise_for_status()


async def test_duplicate_webhooks_deliver_the_same_body_twice(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, duplicate_webhooks=True)
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    first, second = sandbox.receiver.wait_for(created.benefits_request_key, count=2)
    assert first.body == second.body


async def test_out_of_order_delivers_newest_first(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, out_of_order_webhooks=True)
    answer = await provider.issue_debt(issuance_request(cpf, str(uuid.uuid4())))
    await provider.cancel_permanently(answer.key)
    arrived = sandbox.receiver.wait_for(answer.key, count=2)
    assert [r.inner["status"] for r in arrived] == ["canceled_permanently", "waiting_signature"]


async def test_webhook_before_response_arrives_before_the_answer(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, webhook_before_response=True)
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    answered_at = time.time()
    [arrived] = sandbox.receiver.for_key(created.benefits_request_key)  # already there, no waiting
    assert arrived.at <= answered_at


async def test_failed_deliveries_are_retried_until_acknowledged(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, webhook_delivery_failures=2)
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    [arrived] = sandbox.receiver.wait_for(created.benefits_request_key, timeout=20)
    with sandbox.admin() as admin:
        [delivery] = admin.get("/_sandbox/webhooks", params={"key": created.benefits_request_key}).json()
    assert delivery["attempts"] == 3 and delivery["delivered"]
    assert arrived.authentic


async def test_a_refusing_receiver_gets_the_webhook_again(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    # This CPF's benefits answer names its benefit: refuse that one (not another test's webhook).
    sandbox.receiver.refuse_containing[benefit_number_for(cpf).encode()] = 1
    created = await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    sandbox.receiver.wait_for(created.benefits_request_key, timeout=20)
    with sandbox.admin() as admin:
        [delivery] = admin.get("/_sandbox/webhooks", params={"key": created.benefits_request_key}).json()
    assert delivery["attempts"] >= 2


async def test_latency_and_5xx_bursts_per_cpf(sandbox: SandboxUnderTest, provider: ProviderClient) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, latency_ms=300, fail_5xx=2)
    from activities.qitech.errors import ProviderUnavailable

    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    started = time.perf_counter()
    await provider.request_benefits(benefits_request(cpf), idempotency_key=str(uuid.uuid4()))
    assert time.perf_counter() - started >= 0.3


def test_unknown_fault_names_are_refused(sandbox: SandboxUnderTest) -> None:
    with sandbox.admin() as admin:
        response = admin.put(f"/_sandbox/scenarios/{make_cpf(1)}", json={"faults": {"explode": True}})
    assert response.status_code == 422


def test_the_header_form_is_validated(sandbox: SandboxUnderTest) -> None:
    body = json.dumps(benefits_request(make_cpf(1)).model_dump(mode="json")).encode()
    path = "/social_security/benefits_request"
    signed = Signer(lender_credentials()).headers("POST", path, body)
    bad = httpx.post(f"{sandbox.url}{path}", content=body, headers={**signed, "X-Sandbox-Faults": '{"latency_ms": -1}'})
    assert bad.status_code == 400 and bad.json()["code"] == "SBX000001"
