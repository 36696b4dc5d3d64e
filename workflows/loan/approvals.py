"""Maker-checker for where the money goes: a change of the disbursement account (``correct_collateral``
or ``reapresentar`` with an account) proposed by one operator is kept as the loan's ``pending_change``
and reaches the provider only when a second, different operator approves it (``approve_change``).

Both operators must be verified: their names come sealed by the codec server, which checked their SSO
token and group (``domain.loan.OperatorCommand.verified_operator``), never from what a caller wrote.
Workflow code: deterministic, no I/O.
"""

from __future__ import annotations

import hashlib

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.loan import ChangeApproval, CollateralFix, Reapresentacao, VerifiedOperator
    from workflows.loan.core import LoanRun, action_key
    from workflows.loan.state import LoanState, PendingChange

MAKER_CHECKER = "account-change-needs-a-second-operator"
"""Patch: a change of the disbursement account waits for a second operator's ``approve_change`` before it
reaches the provider; histories recorded before it took the change at once, and replay so."""

NEEDS_SIGNED_IN_OPERATOR = (
    "changing the disbursement account needs an operator signed in with the lender's SSO: send it through "
    "the codec server with your access token (CODEC_REMOTE_URL, README 'Who can do what')"
)


def check_proposal(state: LoanState, operator: VerifiedOperator | None) -> None:
    """A validator's check: a verified maker, and no other change already waiting."""
    if operator is None:
        raise ValueError(NEEDS_SIGNED_IN_OPERATOR)
    pending = state.pending_change
    if pending is not None:
        raise ValueError(
            f"change {pending.id} by {pending.proposed_by} waits for a second operator: approve or reject it first"
        )


def propose(
    run: LoanRun,
    action: str,
    operator: VerifiedOperator | None,
    *,
    fix: CollateralFix | None = None,
    reapresentacao: Reapresentacao | None = None,
) -> LoanState:
    """Keep the change for a second operator; nothing reaches the provider yet."""
    state = run.state
    assert operator is not None  # the validator refused an unverified proposal
    argument = fix if fix is not None else reapresentacao
    assert argument is not None
    # A new id for each proposal, even of the same account again: an approval names one proposal.
    proposal = f"{action_key(action, argument)}#{len(state.operator_actions)}"
    change_id = hashlib.sha256(proposal.encode()).hexdigest()[:12]
    state.pending_change = PendingChange(
        id=change_id, action=action, fix=fix, reapresentacao=reapresentacao, proposed_by=operator, at=workflow.now()
    )
    run.operator(f"propose_{action}", f"change {change_id}: waits for a second operator's approval", by=operator)
    run.publish()
    return state


def check_approval(state: LoanState, approval: ChangeApproval) -> PendingChange | None:
    """A validator's check: the change waiting, named by the checker, approved by someone else than its
    maker. Returns the change when it is approved (its stage is the caller's to check)."""
    pending, checker = state.pending_change, approval.verified_operator
    if pending is None:
        raise ValueError("no change waits for approval")
    if approval.change_id != pending.id:
        raise ValueError(f"change_id: the change waiting for approval is {pending.id}, not {approval.change_id}")
    if checker is None:
        raise ValueError(NEEDS_SIGNED_IN_OPERATOR)
    if not approval.approve:
        return None  # anyone signed in may turn a change down, its maker included
    if checker.subject == pending.proposed_by.subject:
        raise ValueError(f"{checker} proposed change {pending.id}: a second, different operator must approve it")
    return pending


def decide(run: LoanRun, approval: ChangeApproval) -> PendingChange | None:
    """Take the checker's decision: the change leaves the waiting place; returned when approved."""
    state = run.state
    pending, checker = state.pending_change, approval.verified_operator
    assert pending is not None and checker is not None  # the validator checked both
    state.pending_change = None
    kind = "approve_change" if approval.approve else "reject_change"
    run.operator(kind, f"change {pending.id} by {pending.proposed_by} {approval.note}".strip(), by=checker)
    if not approval.approve:
        run.publish()
        return None
    return pending


def forget(run: LoanRun, pending: PendingChange) -> None:
    """The approved change did not go through: its proposal no longer counts as done, so the same
    change can be proposed again (``LoanRun.once`` would otherwise answer it as a retry)."""
    argument = pending.fix if pending.fix is not None else pending.reapresentacao
    if argument is not None:
        key = action_key(pending.action, argument)
        run.state.actions_done = [done for done in run.state.actions_done if done != key]


def approved(note: str, checker: VerifiedOperator | None) -> str:
    return f"{note} (approved by {checker})".strip() if checker is not None else note
