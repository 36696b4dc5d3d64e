"""Provider actions made once, over real HTTP against the sandbox: when the provider applied a change
and its answer was lost (the sandbox's ``lose_answers`` fault: the work done, a 504 back), the
retried activity finds the change in place and succeeds instead of reporting "refused" for what the
provider did — while on a first attempt the same refusal is still a refusal. A correction, a
recalculation, a reapresentação and a cancel read the provider's state first on a retry and are not
sent again (the sandbox counts the calls it receives); one that never reached the provider is."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.mapping import LenderTerms
from devtools.devstack.samples import signature_now
from domain.loan import CollateralFix, Documents
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from tests.conftest import SandboxUnderTest
from tests.devtools.sandbox.test_scenarios import _scenario, _signed_debt, _upload
from tests.support.builders import attached, balance_request, issuance_request, today
from tests.support.data import jpeg, make_cpf
from workflows.loan.activity_models import (
    ConfirmBalanceInput,
    CorrectionInput,
    DebtKeyInput,
    DocumentsInput,
    ReapresentacaoInput,
    RecalculateInput,
    SignInput,
)
from workflows.loan.news import DebtMoved, DebtPhase

pytestmark = pytest.mark.integration


class NoRoutes:
    """The webhook router is not what these tests exercise."""

    async def claim(self, key: str, loan_id: str) -> None:
        return None

    async def release(self, keys: list[str], loan_id: str) -> None:
        return None


def _attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


def _activities(provider: ProviderClient) -> LoanActivities:
    return LoanActivities(provider, NoRoutes(), LenderTerms(purchaser_cnpj="32402502000135"), INSS_DEFAULT_PRODUCT)


async def _lost_then_retried(call: Any, argument: Any) -> Any:
    with pytest.raises(ApplicationError) as lost:
        await _attempt(1).run(call, argument)
    assert lost.value.type == "ProviderUnavailable" and not lost.value.non_retryable  # Temporal retries it
    return await _attempt(2).run(call, argument)  # the retry: done, not refused


def _calls(sandbox: SandboxUnderTest, call: str) -> int:
    """How many times the sandbox received ``call`` ("METHOD /path")."""
    with httpx.Client(base_url=sandbox.url, timeout=10) as admin:
        counted: dict[str, int] = admin.get("/_sandbox/calls", params={"path": call.split(" ", 1)[1]}).json()
    return counted.get(call, 0)


async def test_a_balance_confirmation_whose_answer_was_lost_is_done_on_retry(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf, benefit = make_cpf(1), "1112223334"
    steps = ["pending:success_balance_request_not_found", "success"]
    _scenario(sandbox, cpf, averbacao=steps)
    key = await _signed_debt(provider, cpf, benefit_number=benefit)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "pending_requester_action")
    balance = await provider.request_balance(balance_request(cpf, benefit), idempotency_key=str(uuid.uuid4()))
    sandbox.receiver.wait_for(balance.balance_request_key)
    _scenario(sandbox, cpf, averbacao=steps, faults={"lose_answers": 1})
    confirmation = ConfirmBalanceInput(debt_key=key, balance_request_key=balance.balance_request_key)
    await _lost_then_retried(_activities(provider).confirm_balance_request, confirmation)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
    # A first attempt meeting the same answer is the refusal it is (nothing of ours was applied).
    with pytest.raises(ApplicationError) as refused:
        await _attempt(1).run(_activities(provider).confirm_balance_request, confirmation)
    assert refused.value.non_retryable and "COL000020" in str(refused.value)


async def test_a_reapresentacao_whose_answer_was_lost_is_done_on_retry(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, disbursement=["ted_refusal", "success"])
    key = await _signed_debt(provider, cpf)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled")
    _scenario(sandbox, cpf, disbursement=["ted_refusal", "success"], faults={"lose_answers": 1})
    present = ReapresentacaoInput(
        debt_key=key,
        disbursement_date=today() + timedelta(days=1),
        account=None,
        account_holder_name="Maria da Silva",
        account_holder_cpf=cpf,
    )
    await _lost_then_retried(_activities(provider).change_disbursement_date, present)
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)
    assert _calls(sandbox, f"POST /debt/{key}/change_disbursement_date") == 1  # the retry read the debt


NEW_ACCOUNT = {"bank_code": "237", "branch_number": "1234", "account_number": "765432", "account_digit": "1"}


def _answered(enumerator: str) -> Any:
    """A collateral webhook carrying Dataprev's ``enumerator``."""
    return lambda w: w.get("webhook_type") == "credit_operation.collateral" and enumerator in json.dumps(w)


async def _refused_account(
    sandbox: SandboxUnderTest, provider: ProviderClient, cpf: str, steps: list[str]
) -> tuple[str, CorrectionInput]:
    """A signed debt whose averbação refused the disbursement account, and the operator's correction of it."""
    _scenario(sandbox, cpf, averbacao=steps, cancel_grace_seconds=60)
    key = await _signed_debt(provider, cpf)
    sandbox.receiver.wait_for(key, _answered("invalid_disbursement_account"))
    view = await provider.get_collateral(key)
    assert view.collateral_data is not None and isinstance(view.collateral_data.last_response_event_datetime, datetime)
    correction = CorrectionInput(
        debt_key=key,
        fix=CollateralFix.model_validate({"disbursement_account": NEW_ACCOUNT}),
        account_holder_name="Maria da Silva",
        account_holder_cpf=cpf,
        answered_at=view.collateral_data.last_response_event_datetime,
    )
    return key, correction


async def test_a_correction_whose_answer_was_lost_is_not_sent_again(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    """AN (cancel: the provider waits for a correction), corrected, the answer lost; the provider asks
    Dataprev again (HW, teimosinha: nothing constituted). The retry sees an answer later than the one it
    corrected and does not send the correction again."""
    cpf = make_cpf(1)
    steps = ["invalid_disbursement_account", "consignable_margin_excceded"]
    key, correction = await _refused_account(sandbox, provider, cpf, steps)
    _scenario(sandbox, cpf, averbacao=steps, cancel_grace_seconds=60, faults={"lose_answers": 1})
    activities = _activities(provider)
    await asyncio.sleep(1.1)  # the provider prints its answers' times in whole seconds: the next one later
    with pytest.raises(ApplicationError):
        await _attempt(1).run(activities.correct_collateral, correction)
    sandbox.receiver.wait_for(key, _answered("consignable_margin_excceded"))  # asked again: it took it
    await _attempt(2).run(activities.correct_collateral, correction)
    assert _calls(sandbox, f"PATCH /debt/{key}/collateral") == 1


async def test_a_correction_that_never_reached_the_provider_is_sent_on_retry(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    steps = ["invalid_disbursement_account", "success"]
    key, correction = await _refused_account(sandbox, provider, cpf, steps)
    _scenario(sandbox, cpf, averbacao=steps, cancel_grace_seconds=60, faults={"fail_5xx": 1})
    activities = _activities(provider)
    with pytest.raises(ApplicationError):
        await _attempt(1).run(activities.correct_collateral, correction)  # a 503: nothing applied
    await _attempt(2).run(activities.correct_collateral, correction)
    assert _calls(sandbox, f"PATCH /debt/{key}/collateral") == 2
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)


async def test_a_recalculation_whose_answer_was_lost_returns_the_new_schedule_on_retry(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    """Asked again, the provider would refuse (COP000489: no reduction pending any more): the retry
    reads the debt's schedule instead, already at the new installment."""
    cpf = make_cpf(1)
    steps = ["pending:margin_exceeded_for_minimum_wage_increase", "success"]
    _scenario(sandbox, cpf, averbacao=steps)
    key = await _signed_debt(provider, cpf)  # 10 x 101.84
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "pending_requester_action")
    _scenario(sandbox, cpf, averbacao=steps, faults={"lose_answers": 1})
    reduction = RecalculateInput(debt_key=key, installment_value=Decimal("90.00"))
    recalculated = await _lost_then_retried(_activities(provider).recalculate, reduction)
    assert [o.installment_value for o in recalculated.options] == [Decimal("90.00")]
    assert _calls(sandbox, f"POST /v2/credit_operation/{key}/recalculate") == 1
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "disbursed", timeout=20)


TEIMOSINHA = ["consignable_margin_excceded"]
"""Dataprev keeps answering HW: the debt waits for its averbação (and can be canceled) while a test runs."""


async def test_a_cancel_whose_answer_was_lost_is_not_sent_again(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, averbacao=TEIMOSINHA)
    key = await _signed_debt(provider, cpf)
    _scenario(sandbox, cpf, averbacao=TEIMOSINHA, faults={"lose_answers": 1})
    await _lost_then_retried(_activities(provider).cancel_permanently, DebtKeyInput(debt_key=key))
    assert _calls(sandbox, f"POST /debt/{key}/cancel_permanently") == 1
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled_permanently")


async def test_a_cancel_that_never_reached_the_provider_is_sent_on_retry(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    cpf = make_cpf(1)
    _scenario(sandbox, cpf, averbacao=TEIMOSINHA)
    key = await _signed_debt(provider, cpf)
    _scenario(sandbox, cpf, averbacao=TEIMOSINHA, faults={"fail_5xx": 1})
    with pytest.raises(ApplicationError):
        await _attempt(1).run(_activities(provider).cancel_permanently, DebtKeyInput(debt_key=key))
    await _attempt(2).run(_activities(provider).cancel_permanently, DebtKeyInput(debt_key=key))
    assert _calls(sandbox, f"POST /debt/{key}/cancel_permanently") == 2
    sandbox.receiver.wait_for(key, lambda w: w.get("status") == "canceled_permanently")


async def test_the_signatures_answer_comes_back_as_the_news_it_is(
    sandbox: SandboxUnderTest, provider: ProviderClient
) -> None:
    # Seed 001 §6: POST /debt/{key}/signed answers signature_received; the activity returns it as news.
    cpf = make_cpf(1)
    answer = await provider.issue_debt(issuance_request(cpf, str(uuid.uuid4())))
    assert answer.data.borrower and answer.data.borrower.related_party_key
    keys = [await _upload(provider, d) for d in (jpeg(), jpeg(color=(1, 2, 3)), jpeg(320, 400))]
    await provider.attach_documents(answer.key, answer.data.borrower.related_party_key, attached(*keys))
    signing = SignInput(debt_key=answer.key, submission=signature_now())
    answered = await _attempt(1).run(_activities(provider).sign, signing)
    [news] = answered.events
    assert (news.key, news.source, news.status) == (answer.key, "debt", "signature_received")
    assert isinstance(news.fact, DebtMoved) and news.fact.phase == DebtPhase.SIGNATURE_ACCEPTED
    assert news.event_id == f"answer:{answer.key}:signed:signature_received"  # not the webhook's identity


# ---------------------------------------------------------------- documents: nothing to read back


def _documents_input(folder: Path, debt_key: str, related_party_key: str) -> DocumentsInput:
    """Three JPEGs in a local store (file:// URIs; the test allows that scheme)."""
    refs = {}
    for role, content in (
        ("identity_front", jpeg()),
        ("identity_back", jpeg(color=(1, 2, 3))),
        ("selfie", jpeg(320, 400)),
    ):
        path = folder / f"{role}.jpg"
        path.write_bytes(content)
        refs[role] = {"uri": path.as_uri()}
    return DocumentsInput(
        request_key=str(uuid.uuid4()),
        debt_key=debt_key,
        related_party_key=related_party_key,
        documents=Documents.model_validate(refs),
    )


def _attachment_call(attachment: DocumentsInput) -> str:
    return f"POST /debt/{attachment.debt_key}/related_party/{attachment.related_party_key}/attached_document"


async def _attach_twice(provider: ProviderClient, attachment: DocumentsInput) -> None:
    """Attempt 1 fails; attempt 2 runs with the heartbeat attempt 1 left, as Temporal hands it over."""
    first = _attempt(1)
    beats: list[Sequence[Any]] = []
    first.on_heartbeat = lambda *details: beats.append(details)
    with pytest.raises(ApplicationError) as failed:
        await first.run(_activities(provider).attach_documents, attachment)
    assert not failed.value.non_retryable  # Temporal retries it
    second = _attempt(2)
    second.info = dataclasses.replace(second.info, heartbeat_details=beats[-1] if beats else [])
    await second.run(_activities(provider).attach_documents, attachment)


async def test_documents_whose_answer_was_lost_are_not_attached_again(
    sandbox: SandboxUnderTest, provider: ProviderClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No published lookup lists a debt's documents: the attempt that sent them in full records so, and
    the retry after a lost answer (a gateway's 504 after the work) does not send them again."""
    monkeypatch.setenv("DOCUMENTS_ALLOWED_SCHEMES", "file")
    cpf = make_cpf(1)
    answer = await provider.issue_debt(issuance_request(cpf, str(uuid.uuid4())))
    assert answer.data.borrower and answer.data.borrower.related_party_key
    attachment = _documents_input(tmp_path, answer.key, answer.data.borrower.related_party_key)
    _scenario(sandbox, cpf, faults={"lose_answers": 1})
    await _attach_twice(provider, attachment)
    assert (
        _calls(sandbox, f"POST /debt/{answer.key}/related_party/{attachment.related_party_key}/attached_document") == 1
    )


async def test_documents_the_provider_refused_to_take_are_sent_on_retry(
    sandbox: SandboxUnderTest, provider: ProviderClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 is an answer: nothing attached, and the retry sends the documents."""
    monkeypatch.setenv("DOCUMENTS_ALLOWED_SCHEMES", "file")
    cpf = make_cpf(1)
    answer = await provider.issue_debt(issuance_request(cpf, str(uuid.uuid4())))
    assert answer.data.borrower and answer.data.borrower.related_party_key
    attachment = _documents_input(tmp_path, answer.key, answer.data.borrower.related_party_key)
    _scenario(sandbox, cpf, faults={"fail_5xx": 1})
    await _attach_twice(provider, attachment)
    assert (
        _calls(sandbox, f"POST /debt/{answer.key}/related_party/{attachment.related_party_key}/attached_document") == 2
    )
