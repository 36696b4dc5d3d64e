"""The facts reducer for a portability (Port+Refin): every webhook shape of the flow changes the
proposal's facts as the workflow reads them, without any Temporal server.

Bodies: seed 002's own JSON where it prints one (§10 last responses, §11 the portability leg's
collateral webhook), only the placeholder proposal key replaced by the loan's. Seed 002 prints no
``credit_transfer.proposal``, ``credit_transfer.portability_authorization`` or
``credit_transfer.proposal.credit_operation`` body: those follow the field names of
``activities.qitech.models.portability`` (the rejected one is the provider's public status-machine page's,
docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/maquinas-de-status §7.1.1).
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.models.webhooks import ReceivedWebhook, event_identity, parse_webhook
from activities.qitech.news import translate
from domain.calendar import SAO_PAULO
from domain.inss import LenderAction
from domain.loan import Product
from tests.seed_examples import examples
from workflows.loan.facts import receive
from workflows.loan.rules import current_rules
from workflows.loan.state import LoanState, PortabilityFacts

PROPOSAL_KEY = "5b7e3c1a-9f2d-4c3e-8a61-2f0d9c7b4e11"
PORTABILITY_LEG_KEY = "0c9a6f3e-1b2d-4e5f-8a7b-6c5d4e3f2a10"
REFINANCING_LEG_KEY = "7aa77bca-c724-4c1a-bfae-9b1b7bd81ab2"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SAO_PAULO)
RULES = current_rules()  # both averbação tables pinned: new credit's and Port+Refin's
SEED_002 = {e.line: e for e in examples("002")}


# ---------------------------------------------------------------- builders


def seed_002(line: int) -> dict[str, Any]:
    example = SEED_002[line]
    assert example.error is None and not example.truncated, f"002:{line} is not usable as a body"
    return copy.deepcopy(example.obj)


def delivered(body: dict[str, Any]) -> ReceivedWebhook:
    return ReceivedWebhook(event_id=event_identity(body), received_at=NOW, webhook=parse_webhook(body))


def loan(**facts: Any) -> LoanState:
    return LoanState(
        request_key="facts-portability-0001",
        product=Product.PORTABILITY,
        portability=PortabilityFacts(
            proposal_key=PROPOSAL_KEY,
            portability_leg_key=PORTABILITY_LEG_KEY,
            refinancing_leg_key=REFINANCING_LEG_KEY,
            **facts,
        ),
    )


def apply(state: LoanState, *bodies: dict[str, Any]) -> PortabilityFacts:
    for body in bodies:
        receive(state, translate(delivered(body)), rules=RULES, now=NOW)
    assert state.portability is not None
    return state.portability


def proposal(status: str, *, at: str = "2026-11-24T15:42:12", **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "webhook_type": "credit_transfer.proposal",
        "proposal_key": PROPOSAL_KEY,
        "proposal_status": status,
        "event_datetime": at,
    }
    if data:
        body["data"] = data
    return body


def consent(status: str, *, at: str = "2026-11-24T15:42:12", **data: Any) -> dict[str, Any]:
    return {
        "webhook_type": "credit_transfer.portability_authorization",
        "portability_authorization_key": "3f0e7d6c-5b4a-4938-8271-605f4e3d2c1b",
        "proposal_key": PROPOSAL_KEY,
        "portability_authorization_status": status,
        "event_datetime": at,
        "data": {"portability_number": "202611240000298096242", **data},
    }


def leg(operation_type: str, status: str, *, at: str = "2026-11-24T15:42:12") -> dict[str, Any]:
    key = REFINANCING_LEG_KEY if operation_type == "refinancing" else PORTABILITY_LEG_KEY
    return {
        "webhook_type": "credit_transfer.proposal.credit_operation",
        "proposal_key": PROPOSAL_KEY,
        "event_datetime": at,
        "data": {
            "credit_operation_type": operation_type,
            "credit_operation_key": key,
            "credit_operation_status": status,
        },
    }


def collateral_webhook(*enumerators: str, at: str = "2026-11-24T15:42:12") -> dict[str, Any]:
    """Seed 002 §11's portability-leg webhook (002:88), with the given Dataprev answers."""
    body = seed_002(88)
    body["proposal_key"] = PROPOSAL_KEY
    body["event_datetime"] = at
    body["data"]["credit_operation_key"] = PORTABILITY_LEG_KEY
    if enumerators:
        body["data"]["collateral_data"]["last_response"]["errors"] = [{"enumerator": e} for e in enumerators]
    return body


def collateral_from_last_response(line: int, *, at: str = "2026-11-24T15:42:12") -> dict[str, Any]:
    """Seed 002 §10's last response of the portability leg (002:28 success, 002:55 errors), delivered
    as §11's webhook delivers a leg's averbação: the same ``data`` object under the proposal's key."""
    return {
        "webhook_type": "credit_transfer.proposal.collateral",
        "proposal_key": PROPOSAL_KEY,
        "event_datetime": at,
        "data": {"credit_operation_type": "portability", "credit_operation_key": PORTABILITY_LEG_KEY, **seed_002(line)},
    }


# ---------------------------------------------------------------- the proposal: CTC and origin bank


def test_ctc_rejection_names_its_code_and_reason() -> None:
    # The status-machine page's example (§7.1.1): ECTC0023, "Contrato com portabilidade em andamento".
    state = loan()
    facts = apply(
        state, proposal("rejected", error={"code": "ECTC0023", "reason": "Contrato com portabilidade em andamento"})
    )
    assert facts.proposal_status == "rejected"
    assert facts.ctc_rejection is not None
    assert "ECTC0023" in facts.ctc_rejection and "Contrato com portabilidade em andamento" in facts.ctc_rejection
    assert state.events[-1].detail == facts.ctc_rejection  # operators see why


def test_ctc_rejection_with_a_description_only_still_names_it() -> None:
    facts = apply(loan(), proposal("rejected", error={"code": "ECTC0028", "description": "Portabilidade finalizada"}))
    assert facts.ctc_rejection is not None
    assert "ECTC0028" in facts.ctc_rejection and "Portabilidade finalizada" in facts.ctc_rejection


def test_pending_acceptance_carries_the_portability_number() -> None:
    facts = apply(loan(), proposal("pending_acceptance", portability_number="202611240000298096242"))
    assert facts.proposal_status == "pending_acceptance"
    assert facts.portability_number == "202611240000298096242"
    assert facts.ctc_rejection is None and facts.final_due_balance is None


def test_accepted_keeps_the_origin_banks_final_due_balance() -> None:
    facts = apply(
        loan(),
        proposal(
            "accepted",
            final_due_balance=Decimal("5321.87"),
            original_contract={"installment_number": 84, "installment_face_value": Decimal("165.73")},
        ),
    )
    assert facts.proposal_status == "accepted"
    assert facts.final_due_balance == Decimal("5321.87")
    assert facts.retention is None


@pytest.mark.parametrize("reason", ["issuer_retention", "wrong_original_financial_institution"])
def test_retained_keeps_the_retention_reason(reason: str) -> None:
    # Seed 002 §14 "Enumeradores Retention Reason": the first and the last row.
    state = loan()
    facts = apply(state, proposal("retained", retained_reason={"reason": reason, "description": "d"}))
    assert facts.proposal_status == "retained"
    assert facts.retention == reason
    assert state.events[-1].detail == reason


def test_paid_marks_the_payoff_done() -> None:
    facts = apply(loan(), proposal("accepted", final_due_balance=Decimal("5321.87")), proposal("paid"))
    assert facts.proposal_status == "paid" and facts.paid is True
    assert facts.final_due_balance == Decimal("5321.87")  # a later status does not erase the balance


def test_canceled_has_no_data_and_ends_the_proposal() -> None:
    facts = apply(loan(), proposal("canceled"))
    assert facts.proposal_status == "canceled"
    assert facts.paid is False and facts.ctc_rejection is None and facts.retention is None


def test_a_late_earlier_status_does_not_undo_the_origin_banks_answer() -> None:
    # The relay delivers at least once and in any order: pending_acceptance arriving after accepted
    # must not move the proposal back (the workflow would wait for an answer it already had).
    facts = apply(
        loan(),
        proposal("accepted", at="2026-11-24T15:42:12", final_due_balance=Decimal("5321.87")),
        proposal("pending_acceptance", at="2026-11-23T10:00:00", portability_number="202611240000298096242"),
    )
    assert facts.proposal_status == "accepted"
    assert facts.final_due_balance == Decimal("5321.87")
    assert facts.portability_number == "202611240000298096242"  # still learnt from the late one


@pytest.mark.parametrize("final", ["rejected", "retained", "canceled", "paid"])
def test_a_final_status_is_never_overwritten_by_a_late_one(final: str) -> None:
    data: dict[str, Any] = {}
    if final == "rejected":
        data = {"error": {"code": "ECTC0023", "reason": "em andamento"}}
    elif final == "retained":
        data = {"retained_reason": {"reason": "issuer_retention"}}
    facts = apply(
        loan(),
        proposal(final, at="2026-11-24T15:42:12", **data),
        proposal("pending_response", at="2026-11-20T08:00:00"),
    )
    assert facts.proposal_status == final


def test_a_status_no_table_knows_is_kept_visible() -> None:
    state = loan()
    facts = apply(state, proposal("pending_something_new"))
    assert facts.proposal_status == "pending_something_new"
    assert any("pending_something_new" in note for note in state.unknown_values)


# ---------------------------------------------------------------- the beneficiary's consent


def test_consent_awaiting_confirmation_sets_the_deadline() -> None:
    facts = apply(
        loan(),
        consent("awaiting_confirmation", requested_at="2026-11-24T15:40:00", expiration_date="2026-11-29"),
    )
    assert facts.consent_status == "awaiting_confirmation"
    assert facts.consent_deadline == date(2026, 11, 29)


def test_consent_confirmed_keeps_the_deadline_it_had() -> None:
    facts = apply(
        loan(),
        consent("awaiting_confirmation", at="2026-11-24T15:42:12", expiration_date="2026-11-29"),
        consent("confirmed", at="2026-11-25T09:00:00", confirmation_date="2026-11-25"),
    )
    assert facts.consent_status == "confirmed"
    assert facts.consent_deadline == date(2026, 11, 29)


def test_consent_expired() -> None:
    facts = apply(loan(), consent("expired", expiration_date="2026-11-29"))
    assert facts.consent_status == "expired"
    assert facts.consent_deadline == date(2026, 11, 29)


def test_a_late_awaiting_confirmation_does_not_undo_the_confirmation() -> None:
    # Else the workflow's deadline timer would later mark a confirmed consent expired.
    facts = apply(
        loan(),
        consent("confirmed", at="2026-11-25T09:00:00", confirmation_date="2026-11-25"),
        consent("awaiting_confirmation", at="2026-11-24T15:42:12", expiration_date="2026-11-29"),
    )
    assert facts.consent_status == "confirmed"
    assert facts.consent_deadline == date(2026, 11, 29)


# The authorization's published layout and statuses (docs.qitech.com.br/documentation/guides/INSS/
# portability+refinancing/webhook-autorizacao-de-portabilidade): pending_inclusion while QI registers it at
# Dataprev (no expiration_date: "preenchido a partir de awaiting_confirmation"), then awaiting_confirmation.


def test_pending_inclusion_is_no_answer_and_has_no_deadline_yet() -> None:
    state = loan()
    facts = apply(state, consent("pending_inclusion", requested_at="2026-11-24T15:40:00", expiration_date=None))
    assert facts.consent_status == "pending_inclusion"
    assert facts.consent_deadline is None
    assert state.unknown_values == []  # a published status: nothing to flag
    after = apply(state, consent("awaiting_confirmation", at="2026-11-24T18:00:00", expiration_date="2026-11-29"))
    assert (after.consent_status, after.consent_deadline) == ("awaiting_confirmation", date(2026, 11, 29))


def test_a_late_pending_inclusion_does_not_hide_the_deadline_or_the_answer() -> None:
    state = loan()
    facts = apply(
        state,
        consent("awaiting_confirmation", at="2026-11-24T18:00:00", expiration_date="2026-11-29"),
        consent("pending_inclusion", at="2026-11-24T15:42:12", expiration_date=None),
    )
    assert facts.consent_status == "awaiting_confirmation"
    apply(state, consent("confirmed", at="2026-11-25T09:00:00"), consent("pending_inclusion"))
    assert facts.consent_status == "confirmed"
    assert state.events[-1].effect == "ignored: consent pending_inclusion after confirmed"


def test_an_unknown_consent_status_is_kept_and_flagged() -> None:
    state = loan()
    facts = apply(state, consent("awaiting_confirmation", expiration_date="2026-11-29"), consent("under_review"))
    assert facts.consent_status == "under_review"
    assert any("under_review" in note for note in state.unknown_values)
    apply(state, consent("confirmed", at="2026-11-25T09:00:00"))  # a known word after it still counts
    assert facts.consent_status == "confirmed"


# ---------------------------------------------------------------- each leg


def test_refinancing_leg_disbursed_is_the_troco() -> None:
    facts = apply(loan(), leg("refinancing", "disbursed"))
    assert facts.troco_disbursed is True
    assert facts.legs_canceled == []


def test_portability_leg_disbursed_is_not_the_troco() -> None:
    # The portability leg's money goes to the origin bank; only the refinancing leg pays a troco.
    facts = apply(loan(), leg("portability", "disbursed"))
    assert facts.troco_disbursed is False


def test_canceled_legs_are_listed_once_each() -> None:
    facts = apply(
        loan(),
        leg("refinancing", "canceled", at="2026-11-24T15:42:12"),
        leg("refinancing", "canceled", at="2026-11-24T15:43:00"),  # a re-send: another event, same news
        leg("portability", "canceled"),
    )
    assert facts.legs_canceled == ["refinancing", "portability"]
    assert facts.troco_disbursed is False


# ---------------------------------------------------------------- the portability leg's averbação


def test_reservation_success_from_seed_002s_last_response() -> None:
    # 002:28: collateral_constituted true, "succesfully_included" (sic) with reservation_method portability.
    state = loan()
    facts = apply(state, collateral_from_last_response(28))
    assert facts.portability_reserved is True
    assert state.events[-1].effect == "portability leg reserved at Dataprev"


def test_reservation_success_enumerator_without_the_flag_still_counts() -> None:
    body = collateral_from_last_response(28)
    body["data"]["collateral_constituted"] = False  # BD (succesfully_included) is the inclusion itself
    facts = apply(loan(), body)
    assert facts.portability_reserved is True


def test_seed_002s_portability_webhook_is_teimosinha() -> None:
    # 002:88 as printed: consignable_margin_excceded (HW, Teimosinha): not reserved, answer named.
    state = loan()
    facts = apply(state, collateral_webhook())
    assert facts.portability_reserved is False
    assert facts.last_portability_answer == "consignable_margin_excceded"
    assert state.events[-1].detail == "consignable_margin_excceded"


def test_seed_002s_two_method_error_answer_names_both() -> None:
    # 002:55: benefit_blocked_by_tbm (IT) for the portability and the new_credit method.
    facts = apply(loan(), collateral_from_last_response(55))
    assert facts.portability_reserved is False
    assert facts.last_portability_answer is not None
    assert "benefit_blocked_by_tbm" in facts.last_portability_answer


def test_hx_reservation_already_included_confirms_the_averbacao() -> None:
    # Seed 002 §14: HX reservation_already_included → "Confirmar averbação".
    facts = apply(loan(), collateral_webhook("reservation_already_included"))
    assert facts.portability_reserved is True


def test_hx_confirms_wherever_it_is_in_the_answer() -> None:
    # 002:55's shape: one error per reservation method; HX on the portability method confirms even
    # when the new_credit method's answer, listed after it, is another error.
    body = collateral_from_last_response(55)
    errors = body["data"]["collateral_data"]["last_response"]["errors"]
    errors[0]["enumerator"] = "reservation_already_included"
    facts = apply(loan(), body)
    assert facts.portability_reserved is True


def test_the_portability_legs_answers_decide_by_the_port_refin_table_the_loan_pinned() -> None:
    # A loan that pinned a Port+Refin table in which HX were teimosinha is not reserved by HX: the
    # pinned table decides, not today's domain.inss.
    pinned = RULES.port_refin_averbacao_actions
    assert pinned is not None
    changed = RULES.model_copy(
        update={"port_refin_averbacao_actions": {**pinned, "reservation_already_included": LenderAction.RETRY}}
    )
    state = loan()
    receive(state, translate(delivered(collateral_webhook("reservation_already_included"))), rules=changed, now=NOW)
    assert state.portability is not None and state.portability.portability_reserved is False


def test_a_rule_set_pinned_before_the_port_refin_table_reads_seed_002s_as_it_always_did() -> None:
    older = RULES.model_copy(update={"port_refin_averbacao_actions": None})
    state = loan()
    receive(state, translate(delivered(collateral_webhook("reservation_already_included"))), rules=older, now=NOW)
    assert state.portability is not None and state.portability.portability_reserved is True


@pytest.mark.parametrize(
    "enumerator",
    # AN and IR: seed 002 keeps them in teimosinha (001/004 cancel them); PI: the table's last row.
    ["invalid_disbursement_account", "operation_not_allowed_IR", "invalid_contract_total_amount"],
)
def test_another_error_is_teimosinha_and_named(enumerator: str) -> None:
    state = loan()
    facts = apply(state, collateral_webhook(enumerator))
    assert facts.portability_reserved is False
    assert facts.last_portability_answer == enumerator
    assert state.status == "in_progress" and state.outcome_reason is None  # nothing ends the loan


def test_a_teimosinha_answer_after_the_reservation_does_not_undo_it() -> None:
    facts = apply(
        loan(),
        collateral_from_last_response(28, at="2026-11-24T15:42:12"),
        collateral_webhook("invalid_disbursement_account", at="2026-11-24T15:00:00"),
    )
    assert facts.portability_reserved is True


# ---------------------------------------------------------------- routing


def test_a_webhook_for_another_proposal_waits_in_the_buffer() -> None:
    state = loan()
    body = proposal("rejected", error={"code": "ECTC0023", "reason": "em andamento"})
    body["proposal_key"] = "another-proposal"
    receive(state, translate(delivered(body)), rules=RULES, now=NOW)
    assert state.portability is not None and state.portability.proposal_status is None
    assert [e.key for e in state.buffered] == ["another-proposal"]


def test_a_port_refin_webhook_on_a_loan_without_a_proposal_is_ignored() -> None:
    state = loan()
    state.portability = None
    state.debt_key = PROPOSAL_KEY  # the key is the loan's, but it is no portability
    receive(state, translate(delivered(proposal("paid"))), rules=RULES, now=NOW)
    assert state.events[-1].effect == "ignored: not a webhook of this product"


def test_a_duplicate_delivery_is_applied_once() -> None:
    state = loan()
    body = leg("refinancing", "canceled")
    apply(state, body, body)
    assert state.duplicate_events == 1
    assert state.portability is not None and state.portability.legs_canceled == ["refinancing"]


# ---------------------------------------------------------------- HW and the origin-contract query


def origin_answer(line: int) -> dict[str, Any]:
    """Seed 002 §12's webhook (002:162 success, 002:193 failure), keyed by the loan's query."""
    body = seed_002(line)
    body["webhook"]["key"] = ORIGIN_QUERY_KEY
    return body


ORIGIN_QUERY_KEY = "25e93655-4713-488b-8800-7ac4fddf745f"


def test_hw_anywhere_in_the_answer_marks_the_margin_exceeded() -> None:
    facts = apply(loan(), collateral_webhook("benefit_blocked_by_tbm", "consignable_margin_excceded"))
    assert facts.margin_exceeded is True and facts.portability_reserved is False
    other = apply(loan(), collateral_webhook("benefit_blocked_by_tbm"))
    assert other.margin_exceeded is False


def test_the_origin_contract_answer_says_what_the_origin_bank_released() -> None:
    # 002:162: one contract removed by CETELEM-BNP, period_amount 165.73.
    state = loan(origin_query_key=ORIGIN_QUERY_KEY)
    facts = apply(state, origin_answer(162))
    assert facts.released_installment == Decimal("165.73")
    assert facts.origin_query_failure is None
    assert state.events[-1].effect == "origin contract: released"


def test_the_origin_contract_failure_is_named() -> None:
    # 002:193: invalid_bank_code.
    state = loan(origin_query_key=ORIGIN_QUERY_KEY)
    facts = apply(state, origin_answer(193))
    assert facts.origin_query_failure == "invalid_bank_code"
    assert facts.released_installment is None


def test_an_origin_contract_answer_before_the_query_key_is_known_waits() -> None:
    state = loan()  # the activity has not returned the query's key yet
    facts = apply(state, origin_answer(162))
    assert facts.released_installment is None
    assert [b.key for b in state.buffered] == [ORIGIN_QUERY_KEY]
