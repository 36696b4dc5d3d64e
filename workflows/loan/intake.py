"""The workflow's side of admission (``workflows.loan.admission`` reads the start; this completes it):
what the Python starter does for its callers, done on the loan's first task for the others — route the
loan, publish its product and CPF hash, check what JSON Schema cannot. Recorded in the history (a patch
marker and a local activity's answer), so a replay, or a worker with other settings, never decides
again."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calendar import SAO_PAULO
    from workflows.loan.activity_models import AdmissionInput
    from workflows.loan.admission import request_problems
    from workflows.loan.contract import LoanInput
    from workflows.loan.core import CALL_TIMEOUT, PROVIDER_RETRY, LoanRun
    from workflows.loan.port import ADMIT_LOAN, PIN_CURRENT_RULES
    from workflows.loan.visibility import BORROWER_CPF_HASH, LOAN_PRODUCT

RULES_PINNED_BY_WORKER = "rules-pinned-by-worker"
"""Patch: a loan started without rules pins the worker's current rules (recorded in its history);
loans started before this change keep the values they always used (``legacy_rules``)."""

ADMITTED_BY_WORKER = "admitted-by-worker"
"""Patch: a loan started without a provider (a CLI, Go or TypeScript caller) is routed by the worker,
its CPF hash and product published, and its request checked as the starter would."""


async def admit(run: LoanRun, loan: LoanInput) -> tuple[str | None, bool]:
    """(why the loan cannot start, or None; whether the worker chose its provider)."""
    started = workflow.info().typed_search_attributes
    route = loan.provider is None and loan.request.provider is None
    hash_cpf = started.get(BORROWER_CPF_HASH) is None
    if not (route or hash_cpf or started.get(LOAN_PRODUCT) is None) or not workflow.patched(ADMITTED_BY_WORKER):
        return None, False  # the Python starter did it all (loans started before this change: the same)
    problems = request_problems(loan.request, workflow.now().astimezone(SAO_PAULO).date())
    if problems:
        return "; ".join(str(p) for p in problems), False
    admitted = await workflow.execute_local_activity(
        ADMIT_LOAN.name,
        AdmissionInput(request=loan.request, route=route, hash_cpf=hash_cpf),
        start_to_close_timeout=CALL_TIMEOUT,
        retry_policy=PROVIDER_RETRY,
        result_type=ADMIT_LOAN.result_type,
    )
    if admitted.refusal is not None:
        return f"provider: {admitted.refusal}", False
    if admitted.provider is not None:
        run.provider = admitted.provider
        run.state.provider = admitted.provider.value
        run.in100 = admitted.in100
    pairs = [LOAN_PRODUCT.value_set(loan.request.product.value)]
    if admitted.cpf_hash is not None:
        pairs.append(BORROWER_CPF_HASH.value_set(admitted.cpf_hash))
    workflow.upsert_search_attributes(pairs)
    return None, admitted.provider is not None


def pins_rules(loan: LoanInput) -> bool:
    """Asked before any local activity of the run (see LoanRun.decide_patches): whether a start without
    rules takes the worker's current ones."""
    return loan.rules is None and workflow.patched(RULES_PINNED_BY_WORKER)


async def pin_rules(run: LoanRun, loan: LoanInput, pins: bool) -> None:
    """A start without rules decides by the worker's current ones, recorded as a local activity's answer."""
    if pins:
        run.rules = await workflow.execute_local_activity(
            PIN_CURRENT_RULES.name,
            loan.policy,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=PROVIDER_RETRY,
            result_type=PIN_CURRENT_RULES.result_type,
        )
