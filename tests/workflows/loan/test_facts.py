"""The facts reducer, without any Temporal server: every webhook kind the loan applies, from the
seeds' own bodies (004, the newer manual; 001 where 004 prints none), with only the placeholder
keys replaced by the loan's."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.models.webhooks import ReceivedWebhook, event_identity, parse_webhook
from activities.qitech.news import translate
from domain.calendar import SAO_PAULO
from domain.inss import LenderAction
from domain.loan import Product
from tests.seed_examples import examples
from workflows.loan.facts import drain, needs_correction, provider_moved_on, receive
from workflows.loan.rules import current_rules
from workflows.loan.state import LoanState, Stage

BENEFITS_KEY, BALANCE_KEY, DEBT_KEY = "benefits-key-1", "balance-key-1", "debt-key-1"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SAO_PAULO)
RULES = current_rules()
AN = "invalid_disbursement_account"
SEED = {(e.seed, e.line): e.obj for seed in ("001", "004") for e in examples(seed)}


def seed_body(seed: str, line: int, key: str, **data_changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(SEED[(seed, line)])
    inner = body.get("webhook", body)
    inner["key"] = key
    if data_changes:
        inner["data"].update(data_changes)
    return body


def delivered(body: dict[str, Any]) -> ReceivedWebhook:
    return ReceivedWebhook(event_id=event_identity(body), received_at=NOW, webhook=parse_webhook(body))


def loan(**changes: Any) -> LoanState:
    state = LoanState(
        request_key="facts-test-0001",
        product=Product.NEW_CREDIT,
        benefits_request_key=BENEFITS_KEY,
        balance_request_keys=[BALANCE_KEY],
        debt_key=DEBT_KEY,
    )
    return state.model_copy(update=changes)


def apply(state: LoanState, body: dict[str, Any], *, now: datetime = NOW) -> LoanState:
    receive(state, translate(delivered(body)), rules=RULES, now=now)
    return state


# ---------------------------------------------------------------- consultation


def test_benefits_success_lists_the_benefits_of_the_cpf() -> None:
    body = seed_body("004", 80, BENEFITS_KEY)
    body["data"][0]["benefit_number"] = "2052711150"
    state = apply(loan(), body)
    assert state.listed_benefits == ["2052711150"]
    assert state.consultation_failure is None


def test_benefits_failure_keeps_dataprevs_enumerator() -> None:
    state = apply(loan(), seed_body("004", 96, BENEFITS_KEY))
    assert state.consultation_failure == "not_found_legal_representative"
    assert state.listed_benefits is None


def test_balance_success_becomes_the_benefits_facts() -> None:
    state = apply(loan(), seed_body("004", 181, BALANCE_KEY))
    facts = state.balance
    assert facts is not None
    assert facts.benefit_number == "22255220"
    assert facts.grant_date == date(2022, 9, 2)
    assert facts.benefit_status == "elegible" and facts.block_type == "not_blocked"
    assert facts.benefit_situation == "active"
    assert facts.assistance_type == "retirement_by_age" and facts.assistance_type_known
    assert facts.available_total_balance == Decimal(1000) and facts.loans_margin == Decimal(1000)
    assert facts.benefit_end_date == date(2020, 12, 1)
    assert facts.has_entity_representation is False


def test_balance_answer_to_an_earlier_request_is_ignored() -> None:
    state = loan(balance_request_keys=[BALANCE_KEY, "balance-key-2"])
    apply(state, seed_body("004", 181, BALANCE_KEY))
    assert state.balance is None
    assert state.events[-1].effect == "ignored: answer to an earlier balance request"


def test_balance_failure_keeps_dataprevs_enumerator() -> None:
    state = apply(loan(), seed_body("004", 257, BALANCE_KEY))
    assert state.balance_failure == "not_found_legal_representative"


# ---------------------------------------------------------------- debt


def test_waiting_signature_is_only_noted() -> None:
    state = apply(loan(), seed_body("004", 1599, DEBT_KEY))
    assert state.events[-1].effect == "noted: debt waiting_signature"
    assert not provider_moved_on(state)


def test_signature_received_moves_the_loan_past_the_signature() -> None:
    state = apply(loan(), seed_body("004", 3566, DEBT_KEY))
    assert state.signature_received and provider_moved_on(state)


def test_the_manual_cancel_at_the_window_end_reads_as_window_expired() -> None:
    window_end = NOW + timedelta(minutes=30)
    state = apply(loan(disbursement_window_end=window_end), seed_body("004", 3502, DEBT_KEY))
    assert state.provider_final_status == "canceled"
    assert state.provider_final_reason == "disbursement_window_expired"


def test_a_manual_cancel_long_before_the_window_end_keeps_its_reason() -> None:
    state = apply(loan(disbursement_window_end=NOW + timedelta(days=3)), seed_body("004", 3502, DEBT_KEY))
    assert state.provider_final_reason == "manual"


def test_a_ted_refusal_waits_for_a_reapresentacao() -> None:
    state = apply(loan(), seed_body("004", 3684, DEBT_KEY))
    assert state.refusal == "ted_refusal: agencia_conta_invalida"
    assert state.refusals == 1
    assert state.provider_final_status is None


def test_a_pix_refusal_waits_for_a_reapresentacao() -> None:
    state = apply(loan(), seed_body("004", 3725, DEBT_KEY))
    assert state.refusal == "pix_refusal: invalid_document_number"


def test_a_refusal_after_the_disbursement_is_ignored() -> None:
    state = apply(loan(disbursed=True), seed_body("004", 3725, DEBT_KEY))
    assert state.refusal is None and state.events[-1].effect == "ignored: already disbursed"


def test_canceled_permanently_without_a_reason_during_signature_means_documents() -> None:
    # Seed 001 §6: document or assistance_type validation fails after signing → canceled_permanently, data {}.
    state = apply(loan(stage=Stage.SIGNATURE_VALIDATION), seed_body("004", 3578, DEBT_KEY))
    assert state.provider_final_status == "canceled_permanently"
    assert state.provider_final_reason == "provider validation of the documents or assistance_type failed"


def test_canceled_permanently_for_the_ddb_rule_keeps_the_providers_reason() -> None:
    reason = "social_security_margin_release_after_disbursement_end_date"
    body = seed_body("004", 3673, DEBT_KEY, cancel_reason=reason, cancel_reason_enumerator=reason)
    state = apply(loan(stage=Stage.AVERBACAO), body)
    assert state.provider_final_reason == reason


# ---------------------------------------------------------------- averbação


def test_collateral_constituted_is_the_averbacao() -> None:
    state = apply(loan(), seed_body("004", 3638, DEBT_KEY))
    assert state.collateral_constituted
    assert state.last_dataprev is not None and state.last_dataprev.code == "BD"


def test_margin_exceeded_is_teimosinha_with_the_answer_visible() -> None:
    state = apply(loan(), seed_body("004", 3857, DEBT_KEY))
    answer = state.last_dataprev
    assert answer is not None
    assert (answer.code, answer.enumerator, answer.action) == ("HW", "consignable_margin_excceded", "retry")
    assert not state.collateral_constituted and not needs_correction(state)
    assert state.averbacao_answers == 1


@pytest.mark.parametrize(
    ("enumerator", "code", "action"),
    [
        ("invalid_disbursement_account", "AN", "cancel"),
        ("operation_not_allowed_IR", "IR", "cancel"),
        ("benefit_blocked_by_beneficiary", "IE", "retry"),
        ("benefit_blocked_by_tbm", "IT", "retry"),
        ("reservation_already_included", "HX", "confirm"),
    ],
)
def test_each_dataprev_answer_takes_the_action_of_seed_004s_table(enumerator: str, code: str, action: str) -> None:
    body = seed_body("004", 3857, DEBT_KEY)
    body["data"]["collateral_data"]["last_response"]["errors"] = [{"enumerator": enumerator}]
    state = apply(loan(), body)
    assert state.last_dataprev is not None
    assert (state.last_dataprev.code, state.last_dataprev.action) == (code, action)
    assert needs_correction(state) == (action == "cancel")
    assert state.collateral_constituted == (action == "confirm")


def test_the_loans_pinned_table_decides_not_todays() -> None:
    body = seed_body("004", 3857, DEBT_KEY)
    body["data"]["collateral_data"]["last_response"]["errors"] = [{"enumerator": "invalid_disbursement_account"}]
    pinned = RULES.model_copy(update={"averbacao_actions": {**RULES.averbacao_actions, AN: LenderAction.RETRY}})
    state = loan()
    receive(state, translate(delivered(body)), rules=pinned, now=NOW)
    assert state.last_dataprev is not None and state.last_dataprev.action == "retry"


def test_an_enumerator_in_no_table_is_flagged_and_waits() -> None:
    body = seed_body("004", 3857, DEBT_KEY)
    body["data"]["collateral_data"]["last_response"]["errors"] = [{"enumerator": "brand_new_dataprev_code"}]
    state = apply(loan(), body)
    assert state.last_dataprev is not None and state.last_dataprev.action == "unknown"
    assert any("brand_new_dataprev_code" in note for note in state.unknown_values)


def test_an_answer_after_the_averbacao_is_ignored() -> None:
    state = apply(loan(collateral_constituted=True), seed_body("004", 3857, DEBT_KEY))
    assert state.last_dataprev is None and state.events[-1].effect == "ignored: averbação already done"


@pytest.mark.parametrize(
    ("line", "enumerator", "amount"),
    [
        (3592, "margin_exceeded_for_new_beneficiary", Decimal("551.18")),
        (3604, "margin_exceeded_for_minimum_wage_increase", Decimal("551.18")),
        (3619, "success_balance_request_not_found", None),
    ],
)
def test_pending_requester_actions_wait_for_the_lender(line: int, enumerator: str, amount: Decimal | None) -> None:
    state = apply(loan(), seed_body("004", line, DEBT_KEY))
    assert state.pending_action == enumerator
    assert state.pending_reservation_amount == amount


# ---------------------------------------------------------------- delivery


def test_a_duplicate_delivery_is_applied_once() -> None:
    state = loan()
    body = seed_body("004", 3725, DEBT_KEY)
    apply(state, body)
    apply(state, body)
    assert state.refusals == 1 and state.duplicate_events == 1


def test_an_event_before_its_key_waits_and_is_applied_once_the_key_is_known() -> None:
    state = loan(debt_key=None)
    apply(state, seed_body("004", 3566, DEBT_KEY))
    assert not state.signature_received and len(state.buffered) == 1
    state.debt_key = DEBT_KEY
    drain(state, rules=RULES, now=NOW)
    assert state.signature_received and state.buffered == []


def test_a_closed_loan_records_and_ignores_events() -> None:
    state = loan(status="completed", stage=Stage.CLOSED)
    apply(state, seed_body("004", 3502, DEBT_KEY))
    assert state.provider_final_status is None and state.events[-1].effect == "ignored: the loan is closed"


def test_a_desaverbacao_is_told_apart_from_the_averbacao() -> None:
    # Seed 004 §12's success table: BF (removed) answers a desaverbação, not an inclusion.
    body = seed_body("004", 3857, DEBT_KEY)
    body["data"]["collateral_data"]["last_response"] = {
        "errors": [],
        "success": [{"enumerator": "successfully_removed"}],
    }
    state = apply(loan(), body)
    assert not state.collateral_constituted
    assert state.reservation_status == "successfully_removed"
    assert state.events[-1].effect == "reservation removed at Dataprev (desaverbação)"
    included = seed_body("004", 3857, DEBT_KEY)
    included["data"]["collateral_data"]["last_response"] = {
        "errors": [],
        "success": [{"enumerator": "succesfully_included"}],
    }
    assert apply(loan(), included).collateral_constituted  # the manuals' misspelling too


# ---------------------------------------------------------------- anuência (pending_confirmation)

# docs.qitech.com.br/documentation/guides/INSS/pending_confirmation: the notice's layout as the page prints it.
ANUENCIA_NOTICE = {
    "key": DEBT_KEY,
    "webhook_type": "laas.social_security.reservation.status_change",
    "status": "pending_confirmation",
    "event_datetime": "2026-05-19 06:15:00",
    "data": {"confirmation_deadline": "2026-05-24 23:59:59"},
}


def test_anuencia_notices_keep_the_deadline_and_count_each_notice() -> None:
    state = apply(loan(stage=Stage.AVERBACAO), ANUENCIA_NOTICE)
    again = {**ANUENCIA_NOTICE, "event_datetime": "2026-05-19 09:15:00"}  # asked Dataprev again, 3 h later
    apply(state, again)
    assert state.confirmation_deadline == datetime(2026, 5, 24, 23, 59, 59, tzinfo=SAO_PAULO)
    assert state.confirmation_notices == 2
    assert not state.collateral_constituted


def test_an_expiry_that_overtakes_every_notice_still_names_the_providers_reason() -> None:
    expired = {
        "key": DEBT_KEY,
        "webhook_type": "debt",
        "status": "canceled",
        "event_datetime": "2026-05-25 00:00:10",
        "data": {"cancel_reason_enumerator": "social_security_confirmation_expired"},
    }
    state = apply(loan(stage=Stage.AVERBACAO), expired)
    assert (
        state.provider_final_reason
        == "social_security_confirmation_expired: not confirmed in Meu INSS by its deadline (5 days)"
    )


def test_a_notice_after_the_confirmation_changes_nothing() -> None:
    state = apply(loan(stage=Stage.DISBURSEMENT, collateral_constituted=True), ANUENCIA_NOTICE)
    assert state.confirmation_notices == 0 and state.confirmation_deadline is None
    assert state.events[-1].effect == "ignored: averbação already done"
