"""Operators' Updates that reach the provider are taken once (issue 31), on the whole system as the run
command starts it: documents, signature, correction, reduction, reapresentação and cancel, each on a
loan the sandbox's scenarios bring to the stage the Update needs. A correction or a reapresentação that
changes the disbursement account reaches the provider through the second operator's ``approve_change``
(maker-checker): that approval is the Update retried there.

* a concurrent retry: the provider holds its answer to the first call while a second client sends the
  same Update again (another Update id, as after a client's timeout) — both get the first call's
  outcome, and the sandbox counts one call;
* a retry after the worker is killed (-9) mid-call: Temporal retries the activity on the restarted
  worker, which reads the provider's state first and finds the change made; a client's retry gets the
  outcome — and again the sandbox counts one call. The documents have nothing published to read back
  (no lookup lists a debt's documents): the killed attempt recorded, in a heartbeat, that its request
  went out in full, and the retry takes that as the documents attached.

The kill is done once for all the Updates in flight together (the activity's retry waits out its
60 s start-to-close timeout): one fixture, one wait, a result per Update.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from devtools.devstack.samples import (
    CHECKER,
    MAKER,
    NEW_ACCOUNT,
    SAMPLES,
    SampleRun,
    as_operator,
    sample_cpf,
    sample_request,
    sample_scenario,
    signature_now,
)
from devtools.devstack.stack import LocalStack, StackConfig
from domain.calendar import SAO_PAULO
from domain.loan import (
    CancelRequest,
    ChangeApproval,
    CollateralFix,
    Documents,
    InstallmentReduction,
    Reapresentacao,
)
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from tests.conftest import FAST_SANDBOX, TEST_CODEC_KEYS
from tests.support.clock import needs_real_clock
from tests.support.temporal import eventually
from workflows.loan.state import LoanState, Stage, Status

pytestmark = pytest.mark.integration

SAMPLE = {sample.name: sample for sample in SAMPLES}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own: these tests kill its worker."""
    needs_real_clock("Temporal's dev server")
    config = StackConfig.ephemeral(
        tmp_path_factory.mktemp("updates-once"), sandbox_env=FAST_SANDBOX, codec_keys=TEST_CODEC_KEYS
    )
    stack = LocalStack(config)
    try:
        yield stack.start()
    finally:
        stack.stop()


async def _service(stack: LocalStack) -> LoanService:
    """A client of its own (an Update sent through it has its own Update id), the starter as the run
    command sets it up: with the PII hash key, it admits the loan itself (routed, CPF hash published)."""
    settings = TemporalSettings(address=stack.config.temporal_address, task_queue=stack.config.task_queue)
    return LoanService(
        await connect(settings, codec=stack.config.codec_settings()),
        stack.config.task_queue,
        pii_hash_key=stack.config.pii_hash_key.encode(),
    )


# ---------------------------------------------------------------- the Updates and the stages they need


@dataclass
class Loan:
    """A loan waiting in the stage an Update needs, with what the test knows of it."""

    key: str
    cpf: str
    scenario: dict[str, Any]
    documents: Documents
    state: LoanState


@dataclass(frozen=True)
class Action:
    name: str
    update: str
    """The Update (and the LoanService method that sends it)."""
    sample: str
    """The sample whose sandbox scenario brings a loan to ``stage``."""
    stage: Stage
    kind: str
    """What the loan records of the operator's action (LoanState.operator_actions)."""
    call: Callable[[LoanState], str]
    """The provider call the Update makes, as the sandbox counts it: "METHOD /path"."""
    argument: Callable[[Loan], BaseModel]
    taken: Callable[[LoanState, Any], bool]
    """The loan's state once the Update is done."""
    proposal: tuple[str, Callable[[Loan], BaseModel]] | None = None
    """A change to where the money goes: what the maker proposes first (the Update under test is then
    the checker's approval, which is what reaches the provider)."""


def _today() -> date:
    return datetime.now(SAO_PAULO).date()


def _reduction(loan: Loan) -> InstallmentReduction:
    assert loan.state.installment_value is not None
    return InstallmentReduction(
        installment_value=(loan.state.installment_value * Decimal("0.8")).quantize(Decimal("0.01"))
    )


def _approval(loan: Loan) -> ChangeApproval:
    assert loan.state.pending_change is not None
    return ChangeApproval(change_id=loan.state.pending_change.id, note="checked")


def _corrected(state: LoanState, _: Any) -> bool:
    return state.corrections == 1 and state.pending_change is None


def _presented_again(state: LoanState, _: Any) -> bool:
    return state.reapresentacoes == 1 and state.refusal is None and state.pending_change is None


ACTIONS = (
    Action(
        "provide_documents",
        "provide_documents",
        "completes",
        Stage.AWAITING_DOCUMENTS,
        "provide_documents",
        lambda s: f"POST /debt/{s.debt_key}/related_party/{s.related_party_key}/attached_document",
        lambda loan: loan.documents,
        lambda s, _: s.documents_attached,
    ),
    Action(
        "submit_signature",
        "submit_signature",
        "completes",
        Stage.AWAITING_SIGNATURE,
        "submit_signature",
        lambda s: f"POST /debt/{s.debt_key}/signed",
        lambda loan: signature_now(),
        lambda s, _: s.signature_submitted_at is not None,
    ),
    Action(
        "correct_collateral",
        "correct_collateral",
        "an-corrected",
        Stage.AWAITING_COLLATERAL_CORRECTION,
        "correct_collateral",
        lambda s: f"PATCH /debt/{s.debt_key}/collateral",
        lambda loan: CollateralFix(name="Beneficiária de Exemplo Silva", note="name as in the benefit"),
        _corrected,
    ),
    Action(
        "approve_change-correction",
        "approve_change",
        "an-corrected",
        Stage.AWAITING_COLLATERAL_CORRECTION,
        "correct_collateral",
        lambda s: f"PATCH /debt/{s.debt_key}/collateral",
        _approval,
        _corrected,
        proposal=(
            "correct_collateral",
            lambda loan: CollateralFix.model_validate({"disbursement_account": NEW_ACCOUNT, "note": "new account"}),
        ),
    ),
    Action(
        "reduce_installment",
        "reduce_installment",
        "minimum-wage-increase",
        Stage.AWAITING_INSTALLMENT_REDUCTION,
        "reduce_installment",
        lambda s: f"POST /v2/credit_operation/{s.debt_key}/recalculate",
        _reduction,
        lambda s, reduction: s.installment_value == reduction.installment_value,
    ),
    Action(
        "reapresentar",
        "reapresentar",
        "ted-refusal",
        Stage.AWAITING_REAPRESENTACAO,
        "reapresentacao",
        lambda s: f"POST /debt/{s.debt_key}/change_disbursement_date",
        lambda loan: Reapresentacao(disbursement_date=_today(), note="same account, today"),
        _presented_again,
    ),
    Action(
        "approve_change-reapresentacao",
        "approve_change",
        "ted-refusal",
        Stage.AWAITING_REAPRESENTACAO,
        "reapresentacao",
        lambda s: f"POST /debt/{s.debt_key}/change_disbursement_date",
        _approval,
        _presented_again,
        proposal=(
            "reapresentar",
            lambda loan: Reapresentacao.model_validate(
                {"disbursement_date": _today().isoformat(), "disbursement_account": NEW_ACCOUNT, "note": "new account"}
            ),
        ),
    ),
    Action(
        "cancel",
        "cancel",
        "completes",
        Stage.AWAITING_SIGNATURE,
        "cancel",
        lambda s: f"POST /debt/{s.debt_key}/cancel_permanently",
        lambda loan: CancelRequest(reason="the borrower gave up"),
        lambda s, _: s.status == Status.CANCELED_PERMANENTLY,
    ),
)
NAMES = [action.name for action in ACTIONS]


async def _loan_at(stack: LocalStack, service: LoanService, action: Action, folder: Path) -> Loan:
    """A loan of the action's sample, signed where the way to its stage passes the signature."""
    sample = SAMPLE[action.sample]
    cpf = sample_cpf(sample.first_digit, random.Random())
    request = sample_request(sample, cpf=cpf, stamp=uuid.uuid4().hex[:12], documents_dir=folder)
    assert request.documents is not None
    documents = request.documents
    if action.stage == Stage.AWAITING_DOCUMENTS:
        request = request.model_copy(update={"documents": None})  # the operator sends them
    scenario = sample_scenario(sample, SampleRun(cpf=cpf, folder=folder)) or {}
    await _scenario(stack, cpf, scenario)
    await service.start(request)
    key = request.request_key

    def there(state: LoanState) -> bool:
        return state.stage == action.stage or (
            state.stage == Stage.AWAITING_SIGNATURE and state.signature_submitted_at is None
        )

    while True:
        state = await service.wait_until(key, there, seconds=60)
        assert not state.closed, (state.status, state.outcome_reason)
        if state.stage == action.stage:
            break
        await service.submit_signature(key, signature_now())
    loan = Loan(key, cpf, scenario, documents, state)
    if action.proposal is not None:
        proposed, argument = action.proposal
        maker = as_operator(service, MAKER)
        loan.state = await getattr(maker, proposed)(key, argument(loan))
        assert loan.state.pending_change is not None  # nothing reaches the provider before the checker
    return loan


async def _scenario(stack: LocalStack, cpf: str, scenario: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        (await sandbox.put(f"/_sandbox/scenarios/{cpf}", json=scenario)).raise_for_status()


async def _hold(stack: LocalStack, loan: Loan, seconds: float) -> None:
    """The provider does each call of this loan at once and holds its answer ``seconds``."""
    await _scenario(stack, loan.cpf, {**loan.scenario, "faults": {"timeout_s": seconds}})


async def _release(stack: LocalStack, loan: Loan) -> None:
    await _scenario(stack, loan.cpf, loan.scenario)


async def _calls(stack: LocalStack, call: str) -> int:
    path = call.split(" ", 1)[1]
    async with httpx.AsyncClient(base_url=stack.config.sandbox_url, timeout=10) as sandbox:
        counted: dict[str, int] = (await sandbox.get("/_sandbox/calls", params={"path": path})).json()
    return counted.get(call, 0)


async def _first_arrives(stack: LocalStack, call: str, *, seconds: float) -> None:
    async def arrived() -> bool | None:
        return True if await _calls(stack, call) >= 1 else None

    await eventually(arrived, seconds=seconds, what=f"the first {call}")


async def _update(service: LoanService, action: Action, key: str, argument: BaseModel) -> LoanState:
    """The Update under test; an approval comes from the checker (another operator than the maker)."""
    sender = as_operator(service, CHECKER) if action.proposal is not None else service
    send: Callable[[str, Any], Awaitable[LoanState]] = getattr(sender, action.update)
    return await send(key, argument)


async def _gone_on(service: LoanService, action: Action, key: str) -> LoanState:
    """The loan past the action's stage (its provider answered, the loan took the next step)."""
    return await service.wait_until(key, lambda s: s.stage != action.stage, seconds=60)


def _kinds(state: LoanState, action: Action) -> int:
    return [a.kind for a in state.operator_actions].count(action.kind)


# ---------------------------------------------------------------- a concurrent retry


@pytest.mark.parametrize("action", ACTIONS, ids=NAMES)
async def test_an_update_retried_while_the_provider_holds_its_answer_calls_the_provider_once(
    own_stack: LocalStack, tmp_path: Path, action: Action
) -> None:
    """The provider holds its answer to the first call; a second client sends the same Update: both
    get the first call's outcome, the provider is asked once."""
    stack = own_stack
    service = await _service(stack)
    loan = await _loan_at(stack, service, action, tmp_path)
    argument, call = action.argument(loan), action.call(loan.state)
    await _hold(stack, loan, 2)
    first = asyncio.create_task(_update(service, action, loan.key, argument))
    await _first_arrives(stack, call, seconds=30)
    retry = await _service(stack)  # another client, another Update id
    second = await asyncio.wait_for(_update(retry, action, loan.key, argument), 30)
    first_state = await asyncio.wait_for(first, 30)
    assert action.taken(first_state, argument) and action.taken(second, argument)
    assert _kinds(second, action) == 1  # the loan took the operator's action once
    assert await _calls(stack, call) == 1
    await _release(stack, loan)
    later = await _gone_on(service, action, loan.key)
    assert _kinds(later, action) == 1
    assert await _calls(stack, call) == 1


# ---------------------------------------------------------------- a retry after the worker died mid-call


@dataclass
class AfterKill:
    """What one Update came to after the worker died while the provider held its answer."""

    argument: BaseModel
    call: str
    retried: LoanState | BaseException
    first: LoanState | BaseException
    later: LoanState | None = None
    calls: int = 0
    notes: list[str] = field(default_factory=list)


HOLD_SECONDS = 30
"""How long the provider holds each answer of these loans (the uploads are not the loan's calls and
are not held): every call arrives within seconds, and the kill comes before any answer."""


@pytest.fixture(scope="module")
async def killed_mid_call(own_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, AfterKill]:
    stack = own_stack
    folder = tmp_path_factory.mktemp("kill-documents")
    service = await _service(stack)
    loans = await asyncio.gather(*(_loan_at(stack, service, action, folder) for action in ACTIONS))
    arguments = [action.argument(loan) for action, loan in zip(ACTIONS, loans, strict=True)]
    calls = [action.call(loan.state) for action, loan in zip(ACTIONS, loans, strict=True)]
    for loan in loans:
        await _hold(stack, loan, HOLD_SECONDS)
    firsts = [
        asyncio.create_task(_update(service, action, loan.key, argument))
        for action, loan, argument in zip(ACTIONS, loans, arguments, strict=True)
    ]
    for call in calls:
        await _first_arrives(stack, call, seconds=40)
    await asyncio.sleep(1)  # what the worker records of a call in flight (a heartbeat) reaches Temporal
    [worker] = [p for p in stack.processes if p.name == "worker-0"]
    worker.popen.kill()  # -9 while the provider holds every answer
    worker.popen.wait()
    stack.processes.remove(worker)
    for loan in loans:
        await _release(stack, loan)
    stack.start_worker(0)
    retry = await _service(stack)
    # Each activity is retried once its start-to-close timeout (60 s) passes without the dead worker.
    retried = await asyncio.gather(
        *(
            asyncio.wait_for(_update(retry, action, loan.key, argument), 150)
            for action, loan, argument in zip(ACTIONS, loans, arguments, strict=True)
        ),
        return_exceptions=True,
    )
    first = await asyncio.gather(*(asyncio.wait_for(task, 30) for task in firsts), return_exceptions=True)
    results: dict[str, AfterKill] = {}
    for index, (action, loan) in enumerate(zip(ACTIONS, loans, strict=True)):
        result = AfterKill(arguments[index], calls[index], retried[index], first[index])
        if isinstance(result.retried, LoanState):
            try:
                result.later = await _gone_on(service, action, loan.key)
            except TimeoutError as error:
                result.notes.append(str(error))
        result.calls = await _calls(stack, calls[index])
        results[action.name] = result
    return results


@pytest.mark.parametrize("action", ACTIONS, ids=NAMES)
async def test_an_update_retried_after_the_worker_died_mid_call_calls_the_provider_once(
    killed_mid_call: dict[str, AfterKill], action: Action
) -> None:
    """SIGKILL while the provider holds the answer: the activity's retry finds the change made at the
    provider (the documents: that the killed attempt sent them in full) and does not make it again; a
    client's retry gets the outcome."""
    result = killed_mid_call[action.name]
    assert isinstance(result.retried, LoanState), repr(result.retried)
    assert action.taken(result.retried, result.argument)
    assert isinstance(result.first, LoanState), repr(result.first)  # the first client hears it too
    assert result.later is not None, result.notes
    assert _kinds(result.later, action) == 1
    assert result.calls == 1, f"{result.call} arrived {result.calls} times"
