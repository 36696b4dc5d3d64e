"""Provider actions made once, over real HTTP against the sandbox: when the provider applied a change
and its answer was lost (the sandbox's ``lose_answers`` fault: the work done, a 504 back), the
retried activity finds the change in place and succeeds instead of reporting "refused" for what the
provider did — while on a first attempt the same refusal is still a refusal."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.mapping import LenderTerms
from devtools.devstack.samples import signature_now
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from tests.conftest import SandboxUnderTest
from tests.devtools.sandbox.test_scenarios import _scenario, _signed_debt, _upload
from tests.support.builders import attached, balance_request, issuance_request, today
from tests.support.data import jpeg, make_cpf
from workflows.loan.activity_models import ConfirmBalanceInput, ReapresentacaoInput, SignInput
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


async def _lost_then_retried(call: Any, argument: Any) -> None:
    with pytest.raises(ApplicationError) as lost:
        await _attempt(1).run(call, argument)
    assert lost.value.type == "ProviderUnavailable" and not lost.value.non_retryable  # Temporal retries it
    await _attempt(2).run(call, argument)  # the retry: done, not refused


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
