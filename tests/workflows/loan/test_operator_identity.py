"""Who acted, as verified where the action entered: an operator's Update goes through the codec server
with their SSO access token; the codec server checks the token and the operators' group and seals the
operator's name inside the encrypted payload; the worker reads the seal, and the loan records that name
in its state, its details and its history, never a name the caller wrote itself.

Also maker-checker: a change of the disbursement account waits for a second, different operator's
approval before it reaches the provider.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.loan import CancelRequest, ChangeApproval, CollateralFix, SignatureSubmission
from runtime.codec.aes import AesGcmCodec, parse_keys
from runtime.codec.oidc import AccessTokenVerifier, OperatorGroups
from runtime.codec.operator_seal import OPERATOR_SEAL
from runtime.codec.remote import CodecServerRefused, RemotePayloadCodec, token_from
from runtime.codec.server import create_app
from runtime.temporal import data_converter
from starter.client import start_loan_workflow
from tests.conftest import TEST_CODEC_KEYS
from tests.support import webhooks
from tests.support.fake_provider import FakeProvider
from tests.support.loans import document_files, loan_request
from tests.support.oidc import AUDIENCE, OPERATORS, READERS, FakeIssuer
from tests.support.temporal import task_queue
from tests.workflows.loan.conftest import Loan, signature
from workflows.loan.contract import LoanInput
from workflows.loan.rules import current_rules
from workflows.loan.state import LoanState, Stage, Status
from workflows.loan.visibility import operators_line
from workflows.loan.workflow import LoanWorkflow
from workflows.runner import workflow_runner

SERVICE_TOKEN = "the-codec-servers-own-token"
NEW_ACCOUNT = {"bank_code": "341", "branch_number": "155", "account_number": "59923", "account_digit": "6"}


def _client(env: WorkflowEnvironment, converter: DataConverter) -> Client:
    """A client of the test server with its own data converter."""
    config = env.client.config()
    config["data_converter"] = converter
    return Client(**config)


@pytest.fixture(scope="module")
def issuer() -> Iterator[FakeIssuer]:
    fake = FakeIssuer()
    with fake.server:
        yield fake


@dataclass
class Desk:
    """The lender's side: the worker and a service hold the codec keys; operators hold only their token."""

    env: WorkflowEnvironment
    issuer: FakeIssuer
    codec: AesGcmCodec
    service: Client
    codec_server: Any

    def operator(self, token: str) -> Client:
        """An operator's client: no codec key, only the codec server with their bearer token."""
        remote = RemotePayloadCodec(
            "http://codec", token_from(token=token), transport=httpx.ASGITransport(app=self.codec_server)
        )
        return _client(self.env, data_converter(remote))

    async def start(self, tmp_path: Any, fake: FakeProvider) -> Loan:
        request = loan_request(documents=document_files(tmp_path))
        queue = task_queue()
        worker = Worker(
            self.service,
            task_queue=queue,
            workflows=[LoanWorkflow],
            workflow_runner=workflow_runner(),
            activities=fake.activities(),
        )
        await worker.__aenter__()
        self._workers.append(worker)
        handle = await start_loan_workflow(
            self.service,
            LoanInput(request=request, rules=current_rules()),
            id=f"loan-{request.request_key}",
            task_queue=queue,
        )
        return Loan(env=self.env, fake=fake, handle=handle, request=request)

    _workers: list[Worker]


@pytest.fixture
async def desk(env: WorkflowEnvironment, issuer: FakeIssuer) -> AsyncIterator[Desk]:
    codec = AesGcmCodec(parse_keys(TEST_CODEC_KEYS), "test-only-2026")
    service = _client(env, data_converter(codec))
    app = create_app(
        codec,
        token=SERVICE_TOKEN,
        ui_origins=set(),
        oidc=AccessTokenVerifier(issuer.url, AUDIENCE),
        groups=OperatorGroups(decode=READERS, encode=OPERATORS),
    )
    desk = Desk(env=env, issuer=issuer, codec=codec, service=service, codec_server=app, _workers=[])
    yield desk
    for worker in desk._workers:
        await worker.__aexit__(None, None, None)


async def _sealed_operators(desk: Desk, loan: Loan, update: str) -> list[dict[str, Any]]:
    """The operator sealed in each accepted ``update``'s argument, read from the loan's history."""
    history = await loan.handle.fetch_history()
    found = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            continue
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        if request.input.name != update:
            continue
        [payload] = await desk.codec.decode(list(request.input.args.payloads))
        found.append(json.loads(payload.metadata[OPERATOR_SEAL]) if OPERATOR_SEAL in payload.metadata else {})
    return found


async def test_an_update_is_recorded_with_the_verified_operators_name_not_the_one_it_claims(
    desk: Desk, tmp_path: Any
) -> None:
    loan = await desk.start(tmp_path, FakeProvider())
    await loan.consulted()
    await loan.at(Stage.AWAITING_SIGNATURE)
    # A caller holding the keys (a service) writes a "verified" operator into the argument itself: not a seal.
    forged = SignatureSubmission.model_validate(
        {**signature().model_dump(mode="json"), "verified_operator": {"name": "boss", "subject": "boss"}}
    )
    await loan.handle.execute_update(LoanWorkflow.submit_signature, forged)
    ana = desk.operator(desk.issuer.operator("ana", "sub-ana"))
    handle = ana.get_workflow_handle_for(LoanWorkflow.run, loan.handle.id)
    # ana's client claims to be "mallory"; her token says who she is.
    state: LoanState = await handle.execute_update(
        LoanWorkflow.cancel, CancelRequest(reason="customer gave up", operator="mallory")
    )
    assert (state.status, state.outcome_reason) == (Status.CANCELED_PERMANENTLY, "canceled by ana: customer gave up")
    signed, canceled = state.operator_actions[-2:]
    assert (signed.kind, signed.by, signed.verified) == ("submit_signature", None, False)
    assert (canceled.kind, canceled.by, canceled.verified) == ("cancel", "ana (sub-ana)", True)
    assert "last operator action: cancel by ana (sub-ana)" in operators_line(state)
    # In the history: ana's Update argument carries the codec server's seal; the forged one none.
    [cancel_seal] = await _sealed_operators(desk, loan, "cancel")
    assert (cancel_seal["name"], cancel_seal["subject"], cancel_seal["via"]) == ("ana", "sub-ana", "sso")
    assert await _sealed_operators(desk, loan, "submit_signature") == [{}]


async def test_an_operator_outside_the_operators_group_cannot_act(desk: Desk, tmp_path: Any) -> None:
    loan = await desk.start(tmp_path, FakeProvider())
    reader = desk.operator(desk.issuer.operator("rui", "sub-rui", groups=(READERS,)))
    handle = reader.get_workflow_handle_for(LoanWorkflow.run, loan.handle.id)
    with pytest.raises(CodecServerRefused, match="refused to encode"):
        await handle.execute_update(LoanWorkflow.cancel, CancelRequest(reason="not mine to cancel"))
    assert (await loan.state()).status == Status.IN_PROGRESS


# ---------------------------------------------------------------- maker-checker


async def test_an_account_change_reaches_the_provider_only_after_a_second_operator_approves(
    desk: Desk, tmp_path: Any
) -> None:
    loan = await desk.start(tmp_path, FakeProvider())
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, "invalid_disbursement_account"))
    await loan.at(Stage.AWAITING_COLLATERAL_CORRECTION)
    ana = desk.operator(desk.issuer.operator("ana", "sub-ana")).get_workflow_handle_for(
        LoanWorkflow.run, loan.handle.id
    )
    bia = desk.operator(desk.issuer.operator("bia", "sub-bia")).get_workflow_handle_for(
        LoanWorkflow.run, loan.handle.id
    )
    fix = CollateralFix.model_validate({"disbursement_account": NEW_ACCOUNT, "note": "customer's new bank"})

    proposed: LoanState = await ana.execute_update(LoanWorkflow.correct_collateral, fix)
    pending = proposed.pending_change
    assert pending is not None and str(pending.proposed_by) == "ana (sub-ana)"
    assert proposed.stage == Stage.AWAITING_COLLATERAL_CORRECTION
    assert "correct_collateral" not in loan.fake.names()
    assert f"account change `{pending.id}` by ana (sub-ana)" in operators_line(proposed)
    assert NEW_ACCOUNT["account_number"] not in operators_line(proposed)

    # The maker cannot approve their own change, not even with another client name.
    with pytest.raises(WorkflowUpdateFailedError) as own:
        await ana.execute_update(LoanWorkflow.approve_change, ChangeApproval(change_id=pending.id))
    assert "a second, different operator must approve it" in str(own.value.cause)
    # Nor can a service holding the keys (no operator's seal), nor an approval of another change.
    with pytest.raises(WorkflowUpdateFailedError) as unsigned:
        await loan.handle.execute_update(LoanWorkflow.approve_change, ChangeApproval(change_id=pending.id))
    assert "signed in" in str(unsigned.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as other:
        await bia.execute_update(LoanWorkflow.approve_change, ChangeApproval(change_id="not-that-one"))
    assert "change_id" in str(other.value.cause)
    assert "correct_collateral" not in loan.fake.names()

    approved: LoanState = await bia.execute_update(
        LoanWorkflow.approve_change, ChangeApproval(change_id=pending.id, note="checked with the customer")
    )
    [call] = [c for c in loan.fake.calls if c[0] == "correct_collateral"]
    assert call[1].fix.disbursement_account.account_number == NEW_ACCOUNT["account_number"]
    assert approved.pending_change is None
    assert approved.disbursement_accounts is not None
    assert approved.disbursement_accounts[0].account_number == NEW_ACCOUNT["account_number"]
    kinds = [(a.kind, a.by) for a in approved.operator_actions]
    assert kinds[-3:] == [
        ("propose_correct_collateral", "ana (sub-ana)"),
        ("approve_change", "bia (sub-bia)"),
        ("correct_collateral", "ana (sub-ana)"),
    ]
    assert "approved by bia (sub-bia)" in approved.operator_actions[-1].note
    await loan.at(Stage.AVERBACAO)
    await loan.send(webhooks.collateral_success(loan.fake.debt_key))
    await loan.at(Stage.DISBURSEMENT)
    await loan.send(webhooks.debt(loan.fake.debt_key, "disbursed"))
    assert (await loan.outcome()).status == Status.COMPLETED  # its history is kept for the replay test


async def test_a_correction_without_a_new_account_goes_through_at_once(desk: Desk, tmp_path: Any) -> None:
    loan = await desk.start(tmp_path, FakeProvider())
    await loan.averbada()
    await loan.send(webhooks.collateral_error(loan.fake.debt_key, "operation_not_allowed_IR"))
    await loan.at(Stage.AWAITING_COLLATERAL_CORRECTION)
    ana = desk.operator(desk.issuer.operator("ana", "sub-ana")).get_workflow_handle_for(
        LoanWorkflow.run, loan.handle.id
    )
    state: LoanState = await ana.execute_update(LoanWorkflow.correct_collateral, CollateralFix(name="Maria da Silva"))
    assert state.pending_change is None
    assert [c for c in loan.fake.names() if c == "correct_collateral"] == ["correct_collateral"]
    assert (state.operator_actions[-1].kind, state.operator_actions[-1].by) == ("correct_collateral", "ana (sub-ana)")
