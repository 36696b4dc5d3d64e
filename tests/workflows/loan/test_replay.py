"""Every recorded history replays against today's workflow code.

The histories in tests/histories were recorded from real runs (the time-skipping server, with the
scenario tests above: ``RECORD_HISTORIES=1 python -m pytest tests/loan -k <test>``; record only the
new test's history, never re-record an old one: the old ones are what proves that loans started on
earlier code still replay). A change to workflow code that would make a running loan take a
different path fails here; such changes go behind ``workflow.patched``: e.g. ``RULES_PINNED_BY_WORKER``
in workflows/loan/workflow.py, whose old path every history recorded before it replays, and whose new path
``test_a_loan_started_without_rules_pins_the_workers_rules`` replays.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from temporalio.client import HeaderCodecBehavior, WorkflowHistory
from temporalio.worker import Replayer

from runtime.codec.aes import AesGcmCodec, parse_keys
from runtime.temporal import data_converter
from tests.conftest import TEST_CODEC_KEYS
from workflows.loan.workflow import LoanWorkflow
from workflows.mailbox.workflow import ProviderKeyMailbox
from workflows.runner import strict_workflow_runner, workflow_runner

# Histories from the dev server were recorded through the stack's codec, with the committed test key.
TEST_CODEC = AesGcmCodec(parse_keys(TEST_CODEC_KEYS), "test-only-2026")

HISTORIES = sorted((Path(__file__).resolve().parents[2] / "histories").glob("*.json.gz"))


def _name(path: Path) -> str:
    return path.name.removesuffix(".json.gz")


def test_there_are_histories_for_the_main_scenarios() -> None:
    names = {_name(p) for p in HISTORIES}
    expected = {
        "test_a_loan_goes_from_consultation_to_disbursement",
        "test_a_loan_started_without_rules_pins_the_workers_rules",
        # The sales channel's events (patch sales-channel-events): recorded in the background, replayed.
        "test_a_complete_loan_records_each_borrower_stage_and_its_ending",
        "test_ineligible_names_every_failing_rule_and_issues_nothing",
        "test_ddb_refusal_when_the_window_ends_before_the_margin_release",
        "test_ddb_wait_holds_averbacao_until_ddb_plus_90_days",
        "test_teimosinha_keeps_waiting_with_the_last_answer_visible_then_succeeds",
        "test_ted_refusal_then_reapresentacao_then_disbursed",
        "test_a_loan_not_signed_by_the_end_of_the_window_is_canceled_at_the_provider",
        "test_a_long_teimosinha_continues_as_new_carrying_its_state.first_run",
        "test_each_cpf_scenario_ends_in_its_documented_state_1-completed-disbursed_.dev_server",
        "test_each_cpf_scenario_ends_in_its_documented_state_1-completed-disbursed_.debt_mailbox",
        # Portability (Port+Refin): its main paths, from the dev server through the stack's codec.
        "test_accepted_with_troco_ports_the_loan_and_pays_the_troco.dev_server",
        "test_rejected_by_the_ctc_ends_with_its_reason.dev_server",
        "test_retained_by_the_origin_bank_ends_naming_the_reason.dev_server",
        "test_consent_not_given_cancels_the_proposal_expired_.dev_server",
        "test_averbacao_teimosinha_then_success.dev_server",
        "test_less_margin_released_lowers_the_installment_by_itself_within_the_rules.dev_server",
        "test_a_reduction_beyond_the_rules_waits_for_the_operator.dev_server",
        "test_webhooks_lost_after_the_signature_are_found_by_reading_the_proposal_back.dev_server",
        "test_an_operator_cancel_before_the_payoff_cancels_the_proposal_at_the_provider.dev_server",
        # Maker-checker (MAKER_CHECKER in workflows/loan/approvals.py): an account change approved by a
        # second operator, both names sealed by the codec server (through the test key).
        "test_an_account_change_reaches_the_provider_only_after_a_second_operator_approves",
        # The portability's consent waiting through pending_inclusion (patch consent-as-published).
        "test_a_consent_pending_inclusion_keeps_the_portability_waiting.dev_server",
        # A portability refused by the eligibility rules before its proposal (patch portability-eligibility).
        "test_a_portability_the_eligibility_rules_refuse_is_never_proposed.dev_server",
        # Anuência (the beneficiary's confirmation in Meu INSS): confirmed, refused, expired.
        "test_anuencia_confirmed_constitutes_the_collateral_and_disburses.dev_server",
        "test_anuencia_not_given_ends_canceled_naming_the_providers_reason_denied_.dev_server",
        "test_anuencia_not_given_ends_canceled_naming_the_providers_reason_expired_.dev_server",
    }
    assert expected <= names, sorted(expected - names)


# The workers' runner (the project's modules passed through the sandbox), and the SDK's default
# sandbox, whose import-time restrictions raise on a non-deterministic call in workflow code.
RUNNERS = {"shipped": workflow_runner, "strict": strict_workflow_runner}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("path", HISTORIES, ids=_name)
async def test_history_replays(path: Path, runner: str) -> None:
    text = gzip.decompress(path.read_bytes()).decode()
    history = WorkflowHistory.from_json(f"replay-{_name(path)}", text)
    workflow_type = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
    assert workflow_type in {"LoanWorkflow", "ProviderKeyMailbox"}
    replayer = Replayer(
        workflows=[LoanWorkflow, ProviderKeyMailbox],
        data_converter=data_converter(TEST_CODEC),
        header_codec_behavior=HeaderCodecBehavior.CODEC,
        workflow_runner=RUNNERS[runner](),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
