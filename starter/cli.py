"""``python -m starter``: the operators' and scripts' command line, over the starter API.

Human-readable output by default (plain text, figures as Brazilians write them: R$ 1.234,56,
1,85 % a.m., 08/12/2026), ``--json`` for scripts.

Exit codes, for every command:
  0  done
  1  anything else (Temporal unreachable, an unexpected error)
  2  invalid input: the message names the field (nothing was sent to the loan)
  3  refused by the loan (wrong stage, a bad value), the provider or the product's rules;
     ``wait``: the loan closed without reaching the stage
  4  no such loan, or the loan has closed and takes no more actions
  5  timed out waiting
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError, RPCStatusCode

from activities.wire import encode
from domain import ptbr
from domain.calendar import SAO_PAULO
from domain.loan import (
    CancelRequest,
    ChangeApproval,
    CollateralFix,
    Documents,
    InstallmentReduction,
    Product,
    Reapresentacao,
    SignatureSubmission,
)
from runtime.codec.remote import CodecServerRefused
from runtime.telemetry import setup_tracing
from starter.api import (
    FieldError,
    LoanActionRefused,
    LoanClosed,
    LoanInputError,
    LoanNotFound,
    LoanService,
    field_errors,
    validate_request,
)
from starter.simulate import HELP as SIMULATE_HELP
from starter.simulate import SimulationInputError, load_json_file, load_product, simulate
from workflows.loan.state import LoanState, PricedOption, Stage, Status
from workflows.loan.visibility import describe, operators_line

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_REFUSED_BY_RULES = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 5

LOCAL_SECRETS = Path(__file__).resolve().parent.parent / "data" / "secrets.env"


def _load_local_secrets() -> None:
    """For an operator on the machine running ``dev.py run``: its generated secrets, unless set."""
    if LOCAL_SECRETS.exists():
        for line in LOCAL_SECRETS.read_text().splitlines():
            name, _, value = line.partition("=")
            if name and name not in os.environ:
                os.environ[name] = value


def _print_json(value: Any) -> None:
    body = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    sys.stdout.write(encode(body).decode() + "\n")


# ------------------------------------------------------------------ human output
# Figures, dates and stages come from domain.ptbr, as in the Web UI and the rule texts: an operator
# reads the same R$ 10.849,97, 1,76 % a.m. and 08/12/2026 wherever they look.

_AVERAGE_MONTH_DAYS = 365.25 / 12


def installment_count(option: PricedOption) -> int | None:
    """How many monthly installments an option has, from its first and last due dates (the state
    keeps no count; due dates move by a few business days at most, so the months round exactly)."""
    if option.first_due_date is None or option.last_due_date is None:
        return None
    return round((option.last_due_date - option.first_due_date).days / _AVERAGE_MONTH_DAYS) + 1


def _terms(state: LoanState, option: PricedOption) -> list[str]:
    installments = ptbr.installments(installment_count(option), state.installment_value or option.installment_value)
    due = (
        f", installments due {ptbr.day(option.first_due_date)} to {ptbr.day(option.last_due_date)}"
        if option.first_due_date and option.last_due_date
        else ""
    )
    return [
        f"{installments}, released {ptbr.money(option.released_amount)} "
        f"(issued {ptbr.money(option.issue_amount)}, IOF {ptbr.money(option.total_iof)})",
        f"rate {ptbr.rate(option.monthly_rate)}, CET {ptbr.rate(option.monthly_cet)} "
        f"({ptbr.rate(option.annual_cet, ptbr.PER_YEAR)})",
        f"disbursement {ptbr.day(option.disbursement_date)}{due}",
    ]


def print_state(state: LoanState) -> None:
    """The loan for a person at a terminal: plain text (no markdown), each rule of a rejection once."""
    print(f"loan {state.request_key}  [{state.status.value}]  stage {state.stage.value}")
    print(f"  {describe(state, markdown=False)}")
    for failure in state.rejection:
        print(f"  rule {failure.rule}: {failure.message}")
    if state.debt_key:
        print(f"  debt {state.debt_key}  contract {state.contract_number or '-'}")
    if state.chosen_option:
        for line in _terms(state, state.chosen_option):
            print(f"  {line}")
    if state.margin_release_at:
        print(f"  margin release {ptbr.day(state.margin_release_at)}")
    if state.signature_submitted_at:
        print(f"  signature submitted {ptbr.moment(state.signature_submitted_at)}")
    if state.events:
        last = state.events[-1]
        print(
            f"  {len(state.events)} provider events, last: {last.webhook_type} {last.effect} "
            f"({ptbr.moment(last.received_at)})"
        )
    for line in filter(None, operators_line(state).replace("`", "").split("\n\n")):
        print(f"  {line}")
    for note in state.unknown_values[-5:]:  # values no table knows: flagged, not guessed at
        print(f"  flagged: {note}")


def _model(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise LoanInputError(field_errors(error)) from None


def _account(args: argparse.Namespace) -> dict[str, Any] | None:
    if not args.bank:
        return None
    return {
        "bank_code": args.bank,
        "branch_number": args.branch,
        "account_number": args.account,
        "account_digit": args.digit,
    }


class TemporalUnreachable(Exception):
    """The CLI could not connect to Temporal (exit 1, the reason named, no traceback)."""


async def _connect() -> LoanService:
    _load_local_secrets()
    setup_tracing("starter-cli")
    try:
        return await LoanService.connect()
    except RuntimeError as error:  # the SDK's "Failed client connect: ..."
        raise TemporalUnreachable(str(error)) from None


# ------------------------------------------------------------------ commands


async def cmd_start(args: argparse.Namespace) -> int:
    payload = load_json_file(args.request, "request")
    request = validate_request(payload)
    service = await _connect()
    started = await service.start(request)
    if args.json:
        _print_json({"workflow_id": started.workflow_id, "already_existed": started.already_existed})
    else:
        verb = "already existed" if started.already_existed else "started"
        print(f"loan {request.request_key} {verb} (workflow {started.workflow_id})")
    if args.wait:
        return await _wait(service, request.request_key, args.wait, args.timeout, args.json)
    return EXIT_OK


async def cmd_status(args: argparse.Namespace) -> int:
    state = await (await _connect()).state(args.request_key)
    _print_json(state) if args.json else print_state(state)
    return EXIT_OK


async def cmd_list(args: argparse.Namespace) -> int:
    service = await _connect()
    found = await _selected(
        service.list(
            stage=args.stage,
            status=args.status,
            cpf=args.cpf,
            product=args.product,
            query=args.query,
            limit=args.limit,
        )
    )
    if args.json:
        _print_json(found)
    else:
        for loan in found:
            print(
                f"{loan['request_key']:<48} {loan['status'] or '-':<22} {loan['stage'] or '-':<32} "
                f"{loan['product'] or '-':<22} started {ptbr.moment(loan['started'])}"
            )
        print(f"{len(found)} loan(s)")
    return EXIT_OK


async def _selected(selection: Awaitable[T]) -> T:
    """A visibility query's answer; a query the server cannot parse is the caller's bad input."""
    try:
        return await selection
    except RPCError as error:
        if error.status == RPCStatusCode.INVALID_ARGUMENT:
            raise LoanInputError([FieldError("query", error.message)]) from None
        raise


async def _wait(service: LoanService, key: str, target: str, seconds: float, as_json: bool) -> int:
    def reached(state: LoanState) -> bool:
        return state.closed if target == "closed" else state.stage.value == target

    def progress(state: LoanState) -> None:
        if not as_json and not state.closed:  # a closed loan is printed once, in full, below
            print(f"  ... {describe(state, markdown=False)}", flush=True)

    try:
        state = await service.wait_until(key, reached, seconds=seconds, on_progress=progress)
    except TimeoutError as error:
        print(str(error), file=sys.stderr)
        return EXIT_TIMEOUT
    _print_json(state) if as_json else print_state(state)
    return EXIT_OK if reached(state) else EXIT_REFUSED


async def cmd_wait(args: argparse.Namespace) -> int:
    return await _wait(await _connect(), args.request_key, args.until, args.timeout, args.json)


def _action(
    build: Callable[[argparse.Namespace], BaseModel],
    call: Callable[[LoanService, str, Any], Coroutine[Any, Any, LoanState]],
) -> Callable[[argparse.Namespace], Coroutine[Any, Any, int]]:
    async def run(args: argparse.Namespace) -> int:
        argument = build(args)
        state = await call(await _connect(), args.request_key, argument)
        _print_json(state) if args.json else print_state(state)
        return EXIT_OK

    return run


def _signature(args: argparse.Namespace) -> BaseModel:
    moment = args.at or datetime.now(SAO_PAULO).isoformat()
    return _model(
        SignatureSubmission,
        {
            "ip_address": args.ip,
            "signature_datetime": moment,
            "similarity_score": args.score,
            "biometry_analysis_reference": args.biometry,
        },
    )


def _documents(args: argparse.Namespace) -> BaseModel:
    return _model(
        Documents,
        {"identity_front": {"uri": args.front}, "identity_back": {"uri": args.back}, "selfie": {"uri": args.selfie}},
    )


def _correction(args: argparse.Namespace) -> BaseModel:
    return _model(
        CollateralFix,
        {"disbursement_account": _account(args), "benefit_number": args.benefit, "name": args.name, "note": args.note},
    )


def _reduction(args: argparse.Namespace) -> BaseModel:
    return _model(InstallmentReduction, {"installment_value": args.installment, "note": args.note})


def _reapresentacao(args: argparse.Namespace) -> BaseModel:
    return _model(
        Reapresentacao,
        {"disbursement_date": args.date, "disbursement_account": _account(args), "note": args.note},
    )


def _approval(args: argparse.Namespace) -> BaseModel:
    return _model(ChangeApproval, {"change_id": args.change, "approve": not args.reject, "note": args.note})


def _cancel(args: argparse.Namespace) -> BaseModel:
    return _model(CancelRequest, {"reason": args.reason, "operator": args.operator})


def cmd_simulate(args: argparse.Namespace) -> int:
    product = load_product(args.product)
    payload = load_json_file(args.request, "request")
    body, violations = simulate(payload, product)
    sys.stdout.write(encode(body).decode() + "\n")
    for violation in violations:
        print(f"refused by product rule: {violation.field}: {violation.message} ({violation.source})", file=sys.stderr)
    return EXIT_REFUSED_BY_RULES if violations else EXIT_OK


# ------------------------------------------------------------------ batch operator actions

DONE, REFUSED, FAILED, TIMED_OUT, WOULD_ACT = "done", "refused", "failed", "timed out", "would act"


@dataclass
class BatchResult:
    request_key: str
    workflow_id: str
    outcome: str  # DONE, REFUSED, FAILED, TIMED_OUT or (dry run) WOULD_ACT
    stage: str | None
    status: str | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in {DONE, WOULD_ACT}


class RateLimiter:
    """At most ``rate`` calls started per second, evenly spaced: the provider sees a steady trickle
    however many loans a batch selects."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise LoanInputError([FieldError("rate", "must be above 0 (calls per second)")])
        self.interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class Progress:
    """Progress of a batch on stderr: a bar redrawn in place on a terminal, a line now and then
    (at most ~50, and the last) in a log."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.done = 0
        self.failed = 0
        self._tty = self.stream.isatty()
        self._every = max(1, total // 50)

    def advance(self, result: BatchResult) -> None:
        self.done += 1
        self.failed += not result.ok
        failed = f", {self.failed} failed" if self.failed else ""
        if self._tty:
            filled = round(30 * self.done / self.total)
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}{failed}{end}")
        elif self.done % self._every == 0 or self.done == self.total:
            self.stream.write(f"progress {self.done}/{self.total}{failed}\n")
        self.stream.flush()


async def run_batch(
    loans: Sequence[dict[str, Any]],
    act: Callable[[str], Awaitable[LoanState]],
    *,
    limiter: RateLimiter,
    parallel: int = 4,
    seconds_each: float = 120.0,
    progress: Progress | None = None,
) -> list[BatchResult]:
    """Act on each loan (by request key): calls start at the limiter's pace, at most ``parallel``
    at a time, each bounded by ``seconds_each``; one loan's failure never stops the others."""
    slots = asyncio.Semaphore(parallel)

    async def one(loan: dict[str, Any]) -> BatchResult:
        key = str(loan["request_key"])
        result = BatchResult(key, str(loan["workflow_id"]), FAILED, loan.get("stage"), loan.get("status"))
        try:
            state = await asyncio.wait_for(act(key), seconds_each)
        except LoanActionRefused as error:
            result.outcome, result.detail = REFUSED, str(error)
        except LoanClosed as error:  # it ended between the selection and the call
            result.outcome, result.detail = REFUSED, f"the loan is closed ({error.status})"
        except TimeoutError:
            result.outcome, result.detail = TIMED_OUT, f"no answer in {seconds_each:g} s (the loan may still act on it)"
        except Exception as error:  # reported per loan: the batch goes on
            result.detail = f"{type(error).__name__}: {error}"
        else:
            result.outcome, result.stage, result.status = DONE, state.stage.value, state.status.value
            result.detail = state.outcome_reason or ""
        finally:
            slots.release()
        if progress:
            progress.advance(result)
        return result

    tasks = []
    for loan in loans:
        await slots.acquire()
        await limiter.wait()
        tasks.append(asyncio.create_task(one(loan)))
    return list(await asyncio.gather(*tasks))


def batch_exit_code(results: Sequence[BatchResult]) -> int:
    """0 when every loan took the action; else 3 if every failure was a refusal, 5 if every one
    timed out, 1 otherwise."""
    failures = {result.outcome for result in results if not result.ok}
    if not failures:
        return EXIT_OK
    if failures == {REFUSED}:
        return EXIT_REFUSED
    if failures == {TIMED_OUT}:
        return EXIT_TIMEOUT
    return EXIT_FAILED


def _batch_argument(args: argparse.Namespace) -> BaseModel:
    return _reapresentacao(args) if args.action == "reapresentar" else _cancel(args)


def _describe_argument(argument: BaseModel) -> str:
    if isinstance(argument, Reapresentacao):
        account = " to a new account" if argument.disbursement_account else ""
        return f"reapresentar on {argument.disbursement_date}{account}"
    assert isinstance(argument, CancelRequest)
    return f"cancel (reason {argument.reason!r}, operator {argument.operator})"


async def cmd_batch(args: argparse.Namespace) -> int:
    argument = _batch_argument(args)  # a bad argument stops here, before anything is selected
    if not (args.query or args.stage or args.status or args.product):
        raise LoanInputError(
            [FieldError("selection", "give --query or --stage/--status/--product: a batch never acts on every loan")]
        )
    limiter = RateLimiter(args.rate)
    if args.parallel < 1:
        raise LoanInputError([FieldError("parallel", "must be at least 1")])
    service = await _connect()
    selection = service.loan_query(args.query, stage=args.stage, status=args.status, product=args.product, running=True)
    matching = await _selected(service.count(selection))
    loans = await _selected(
        service.list(
            query=args.query, stage=args.stage, status=args.status, product=args.product, running=True, limit=args.limit
        )
    )
    what = _describe_argument(argument)
    if matching > len(loans):
        print(f"{matching} running loans match; this run takes the first {len(loans)} (--limit)", file=sys.stderr)
    if args.dry_run:
        results = [
            BatchResult(str(loan["request_key"]), loan["workflow_id"], WOULD_ACT, loan["stage"], loan["status"])
            for loan in loans
        ]
    else:

        async def act(key: str) -> LoanState:
            if isinstance(argument, Reapresentacao):
                return await service.reapresentar(key, argument)
            assert isinstance(argument, CancelRequest)
            return await service.cancel(key, argument)

        progress = Progress(len(loans)) if loans else None
        results = await run_batch(
            loans, act, limiter=limiter, parallel=args.parallel, seconds_each=args.timeout, progress=progress
        )
    if args.json:
        _print_json(
            {
                "action": args.action,
                # What the caller asked; who they are is the codec server's to seal, not theirs to say.
                "argument": argument.model_dump(mode="json", exclude={"verified_operator"}),
                "query": selection,
                "dry_run": args.dry_run,
                "matching": matching,
                "results": [asdict(result) for result in results],
            }
        )
    else:
        _print_batch(what, selection, results, dry_run=args.dry_run)
    return batch_exit_code(results)


def _print_batch(what: str, selection: str, results: Sequence[BatchResult], *, dry_run: bool) -> None:
    print(f"{'dry run: would ' if dry_run else ''}{what}: {len(results)} loan(s) selected by {selection}")
    for result in results:
        where = " ".join(filter(None, (result.status, result.stage)))
        detail = f"  {result.detail}" if result.detail else ""
        print(f"  {result.request_key:<48} {result.outcome:<10} {where}{detail}")
    if dry_run:
        print("nothing was changed")
        return
    counts = Counter(result.outcome for result in results)
    tally = [f"{counts[outcome]} {outcome}" for outcome in (DONE, REFUSED, TIMED_OUT, FAILED) if counts[outcome]]
    print(f"{len(results)} loan(s): {', '.join(tally) or 'nothing to do'}")


# ------------------------------------------------------------------ parser


def _selection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", choices=[s.value for s in Stage])
    parser.add_argument("--status", choices=[s.value for s in Status])
    parser.add_argument("--product", choices=[p.value for p in Product])
    parser.add_argument(
        "--query", help="a visibility query, ANDed with the filters (e.g. \"DataprevLastAnswer STARTS_WITH 'HW'\")"
    )


BATCH_HELP = """Act on every running loan a selection finds, one Workflow Update per loan.

Select with --query (a visibility query, as in the Web UI) and/or --stage/--status/--product; a
batch never runs without a selection, and only running loans are selected. --dry-run lists what
would change and changes nothing. Calls start at --rate per second (the provider behind every
action is not flooded), at most --parallel at a time; progress goes to stderr, a line per loan to
stdout. Exit code: 0 when every loan took the action; 3 when the others were refused (wrong stage,
the provider said no); 5 when they timed out; 1 otherwise; 2 for bad arguments or a bad query.
"""


def _account_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bank", help="bank code (3 digits)")
    parser.add_argument("--branch")
    parser.add_argument("--account")
    parser.add_argument("--digit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m starter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, handler: Any, *, key: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if key:
            sub.add_argument("request_key", metavar="REQUEST_KEY")
        sub.add_argument("--json", action="store_true", help="machine-readable output")
        sub.set_defaults(handler=handler)
        return sub

    start = command(
        "start", "start a loan from a LoanRequest JSON file (idempotent by request_key)", cmd_start, key=False
    )
    start.add_argument("request", type=Path, metavar="REQUEST.json")
    start.add_argument("--wait", metavar="STAGE|closed", help="follow the loan until this stage (or closed)")
    start.add_argument("--timeout", type=float, default=300.0)

    command("status", "the loan's state in words (or --json: the full typed state)", cmd_status)

    listing = command("list", "loans by stage and status (search attributes; never clear CPFs)", cmd_list, key=False)
    _selection_flags(listing)
    listing.add_argument("--cpf", help="find by CPF, through its keyed hash (needs PII_HASH_KEY)")
    listing.add_argument("--limit", type=int, default=100)

    wait = command("wait", "follow a loan until a stage (or closed), showing its progress", cmd_wait)
    wait.add_argument("until", metavar="STAGE|closed")
    wait.add_argument("--timeout", type=float, default=300.0)

    sign = command(
        "sign", "submit the borrower's signature evidence", _action(_signature, LoanService.submit_signature)
    )
    sign.add_argument("--ip", required=True)
    sign.add_argument("--score", type=Decimal, help="similarity score 0..1 (omit with --biometry not_found)")
    sign.add_argument("--biometry", choices=["serpro", "tse", "not_found"], required=True)
    sign.add_argument("--at", help="signature time, ISO 8601 with offset (default: now)")

    documents = command(
        "documents", "send new documents (JPEG, >= 250x250)", _action(_documents, LoanService.provide_documents)
    )
    documents.add_argument("--front", required=True, help="file:// or https:// URI")
    documents.add_argument("--back", required=True)
    documents.add_argument("--selfie", required=True)

    correct = command(
        "correct", "correct the averbação data (PATCH collateral)", _action(_correction, LoanService.correct_collateral)
    )
    _account_flags(correct)
    correct.add_argument("--benefit", help="benefit number")
    correct.add_argument("--name")
    correct.add_argument("--note", default="")

    reduce = command(
        "reduce",
        "reduce the installment after margin exceeded (a portability: its portability leg, a new CCB to sign)",
        _action(_reduction, LoanService.reduce_installment),
    )
    reduce.add_argument("--installment", type=Decimal, required=True)
    reduce.add_argument("--note", default="")

    again = command(
        "reapresentar", "present a refused disbursement again", _action(_reapresentacao, LoanService.reapresentar)
    )
    again.add_argument("--date", type=date.fromisoformat, required=True, help="new disbursement date YYYY-MM-DD")
    _account_flags(again)
    again.add_argument("--note", default="")

    approve = command(
        "approve",
        "approve (or --reject) a change of disbursement account another operator proposed (maker-checker)",
        _action(_approval, LoanService.approve_change),
    )
    approve.add_argument("--change", required=True, help="the change's id, as `status` shows it")
    approve.add_argument("--reject", action="store_true", help="turn the change down instead")
    approve.add_argument("--note", default="")

    cancel = command(
        "cancel",
        "cancel the loan (cancel_permanently at the provider; a portability: its proposal)",
        _action(_cancel, LoanService.cancel),
    )
    cancel.add_argument("--reason", required=True)
    cancel.add_argument("--operator", default=os.environ.get("USER", "operator"))

    batch = commands.add_parser(
        "batch",
        help="reapresentar or cancel every loan a query selects (rate-limited, --dry-run)",
        description=BATCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = batch.add_subparsers(dest="action", required=True)
    batch_again = actions.add_parser(
        "reapresentar",
        help="present the refused disbursements again",
        description=BATCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch_again.add_argument("--date", type=date.fromisoformat, required=True, help="new disbursement date YYYY-MM-DD")
    _account_flags(batch_again)
    batch_again.add_argument("--note", default="")
    batch_cancel = actions.add_parser(
        "cancel", help="cancel the loans", description=BATCH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    batch_cancel.add_argument("--reason", required=True)
    batch_cancel.add_argument("--operator", default=os.environ.get("USER", "operator"))
    for sub in (batch_again, batch_cancel):
        _selection_flags(sub)
        sub.add_argument("--dry-run", action="store_true", help="list what would change; change nothing")
        sub.add_argument("--rate", type=float, default=2.0, help="calls started per second (default 2)")
        sub.add_argument("--parallel", type=int, default=4, help="calls in flight at most (default 4)")
        sub.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each loan's answer")
        sub.add_argument("--limit", type=int, default=500, help="act on at most this many loans (default 500)")
        sub.add_argument("--json", action="store_true", help="machine-readable output")
        sub.set_defaults(handler=cmd_batch)

    simulate_cmd = commands.add_parser(
        "simulate",
        help="price a simulation request locally (provider-shaped JSON)",
        description=SIMULATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate_cmd.add_argument("request", type=Path, metavar="REQUEST.json")
    simulate_cmd.add_argument("--product", type=Path, metavar="PRODUCT.json")
    simulate_cmd.set_defaults(handler=cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        outcome = args.handler(args)
        if asyncio.iscoroutine(outcome):
            outcome = asyncio.run(outcome)
        return int(outcome)
    except LoanInputError as error:
        for field_error in error.errors:
            print(f"invalid: {field_error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimulationInputError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (LoanActionRefused, CodecServerRefused) as error:
        print(f"refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except LoanClosed as error:
        print(f"loan {error.request_key} is closed ({error.status}): it takes no more actions", file=sys.stderr)
        return EXIT_NOT_FOUND
    except LoanNotFound as error:
        print(f"no loan with request key {error}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except TemporalUnreachable as error:
        print(f"temporal: {error}", file=sys.stderr)
        return EXIT_FAILED
    except RPCError as error:  # Temporal said no for a reason of its own: named, without a traceback
        print(f"temporal: {error.status.name if error.status else 'error'}: {error.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
