"""Every sample loan of the run command, over real HTTP against the sandbox on the test stack: each
product variant reaches its documented end, and what makes it that variant is checked at the
provider (the sandbox's record of the debt) and in the loan's state."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devtools.devstack.samples import (
    EXPECTED_PAYOFF,
    REFINANCED_BALANCE,
    SAMPLES,
    StartedSample,
    follow,
    reached,
    start_sample,
)
from devtools.devstack.stack import LocalStack
from domain.calendar import SAO_PAULO
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from workflows.loan.state import LoanState

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def ended(
    stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[StartedSample, LoanState, dict[str, Any]]]:
    """All the samples, started together and followed (bounded) until each has settled."""
    config = stack.config
    service = LoanService(
        await connect(
            TemporalSettings(address=config.temporal_address, task_queue=config.task_queue),
            codec=config.codec_settings(),
        ),
        config.task_queue,
    )
    folder = tmp_path_factory.mktemp("samples")
    async with (
        httpx.AsyncClient(base_url=config.sandbox_url, timeout=10.0) as sandbox,
        httpx.AsyncClient(base_url=config.sandbox_b_url, timeout=10.0) as sandbox_b,
    ):
        loans = [
            await start_sample(s, service, sandbox, stamp="it", documents_dir=folder, sandbox_b=sandbox_b)
            for s in SAMPLES
        ]
        last = await follow(service, loans, seconds=180, report=lambda *_: None, poll=0.2)
        results = {}
        for started in loans:
            state = last[started.request.request_key]
            if started.sample.provider == "provider_b":
                cpf = started.request.borrower.cpf
                debt = {
                    "operations": (await sandbox_b.get("/_sandbox/operations", params={"document_number": cpf})).json()
                }
            elif state.portability is not None:
                key = state.portability.proposal_key
                debt = {"proposal": (await sandbox.get(f"/_sandbox/portability/proposals/{key}")).json()}
            else:
                debt = (await sandbox.get(f"/_sandbox/debts/{state.debt_key}")).json() if state.debt_key else {}
            results[started.sample.name] = (started, state, debt)
    return results


@pytest.mark.parametrize("name", [s.name for s in SAMPLES])
def test_each_sample_reaches_its_documented_end(ended: dict[str, Any], name: str) -> None:
    started, state, _ = ended[name]
    assert reached(started, state), f"{name}: {state.status.value} in {state.stage.value} ({state.outcome_reason})"


def test_refinancing_pays_off_the_refinanced_operation_and_the_prices_agree(ended: dict[str, Any]) -> None:
    """The caller expected 3,000.00; the sandbox's operation costs 3,250.00 to pay off. The payoff is
    the provider's, the caller's shows beside it, and our price agrees on the provider's payoff."""
    started, state, debt = ended["refinancing"]
    assert debt["refinanced"] == [started.run.operation_key]
    assert state.payoff is not None
    assert state.payoff.provider == Decimal(REFINANCED_BALANCE) != Decimal(EXPECTED_PAYOFF)
    assert state.payoff.expected == Decimal(EXPECTED_PAYOFF) and state.payoff.differs
    assert [(o.operation_key, o.payoff_amount) for o in state.payoff.operations] == [
        (started.run.operation_key, Decimal(REFINANCED_BALANCE))
    ]
    chosen = next(o for o in state.issued_options if o.disbursement_date == started.request.financial.disbursement_date)
    assert chosen.payoff == Decimal(REFINANCED_BALANCE)
    assert chosen.issue_amount is not None and chosen.released_amount is not None
    assert chosen.released_amount < chosen.issue_amount - Decimal(REFINANCED_BALANCE)  # payoff, IOF and fees out
    assert state.pricing_check is not None and state.pricing_check.matches, state.pricing_check
    _, refused, nothing = ended["refinancing-releases-nothing"]
    assert refused.outcome_reason is not None and refused.outcome_reason.startswith("refinancing releases nothing")
    assert not nothing  # nothing issued at the provider


def test_minimum_wage_increase_goes_as_such_and_its_short_margin_is_a_stated_risk(ended: dict[str, Any]) -> None:
    started, state, debt = ended["minimum-wage-increase"]
    assert debt["minimum_wage_increase"] is True
    assert "margin_covers_installment" in [r.rule for r in state.eligibility_risks]
    assert started.actions and started.actions[0].startswith("reduced the installment")
    _, combined, combined_debt = ended["minimum-wage-increase-refinancing"]
    assert combined_debt["minimum_wage_increase"] is True and combined_debt["refinanced"]
    # the freed installment covers the margin
    assert "margin_covers_installment" not in [r.rule for r in combined.eligibility_risks]


def test_the_legal_representative_sends_his_documents_and_signs(ended: dict[str, Any]) -> None:
    started, state, debt = ended["legal-representative"]
    assert debt["documents_attached_to"] == "legal_representative"
    representative = started.request.legal_representative
    assert representative is not None
    assert [(s.role, s.document_number) for s in state.signers] == [("issuer_legal_representative", representative.cpf)]
    assert state.contract_urls


def test_rebates_and_split_accounts_reach_the_provider(ended: dict[str, Any]) -> None:
    _, state, debt = ended["rebates-split-accounts"]
    assert [a["percentage"] for a in debt["accounts"]] == ["70", "30"]
    assert debt["rebates"] == 1
    assert [r.rule for r in state.eligibility_risks] == ["disbursement_account"]  # not the benefit's account


def test_without_an_account_the_benefits_paying_account_is_used(ended: dict[str, Any]) -> None:
    _, state, debt = ended["paying-account"]
    assert state.disbursement_accounts is not None and len(state.disbursement_accounts) == 1
    assert debt["accounts"] == [{"bank_code": "341", "percentage": "100"}]  # the sandbox pays benefits at 341


def test_operators_corrections_and_reapresentacao_are_carried(ended: dict[str, Any]) -> None:
    _, corrected, _ = ended["an-corrected"]
    assert corrected.corrections == 1 and corrected.disbursement_accounts is not None
    assert corrected.disbursement_accounts[0].bank_code == "237"
    _, presented, _ = ended["ted-refusal"]
    assert presented.reapresentacoes == 1 and presented.refusals == 1


def test_the_concession_block_schedules_or_retries(ended: dict[str, Any]) -> None:
    started, waiting, _ = ended["ddb-wait"]
    scenario = started.sample.scenario
    assert isinstance(scenario, dict)
    ddb = date.fromisoformat(scenario["ddb"])
    assert waiting.margin_release_at is not None
    assert waiting.margin_release_at.astimezone(SAO_PAULO).date() == ddb + timedelta(days=91)
    _, completed, _ = ended["concession-block-completes"]
    assert completed.margin_release_at is not None  # it was scheduled, then the averbação came
    assert any(e.detail == "benefit_blocked_by_granting_process" for e in completed.events)
    _, lifted, _ = ended["concession-block-lifted"]
    assert any(e.detail == "benefit_blocked_by_granting_process" for e in lifted.events)  # IF, teimosinha
    assert "benefit_not_blocked" not in [r.rule for r in lifted.eligibility_risks]


def test_the_term_pdf_was_uploaded_and_used(ended: dict[str, Any]) -> None:
    _, state, _ = ended["term-pdf"]
    assert state.term_document_key is not None


def test_every_loan_has_a_uuid_requester_key_in_its_state(ended: dict[str, Any]) -> None:
    for name, (_, state, debt) in ended.items():
        if debt and "operations" not in debt and "proposal" not in debt:
            assert state.requester_identifier_key == debt["requester_identifier_key"], name


def test_second_provider_loans_are_created_once_and_followed_to_their_end(ended: dict[str, Any]) -> None:
    _, completed, found = ended["provider-b-completes"]
    [operation] = found["operations"]  # created once
    assert (completed.debt_key, completed.contract_number) == (operation["debt_key"], operation["num_contrato"])
    assert completed.provider == "provider_b" and completed.polls >= 2
    assert completed.provider_status is not None and completed.provider_status.upper() == operation["status"].upper()
    started, _, found = ended["provider-b-formalization"]
    assert started.actions == ["formalized at the provider's link"] and found["operations"][0]["formalized"]
    _, refused, found = ended["provider-b-refused-field"]
    assert found["operations"] == []  # the provider refused it: nothing to follow, nothing to cancel
    assert refused.outcome_reason is not None
    assert "LEG000041" in refused.outcome_reason and "client.person_name" in refused.outcome_reason


def test_portability_samples_end_at_the_provider_as_in_the_loan(ended: dict[str, Any]) -> None:
    _, ported, found = ended["portability-troco"]
    legs = found["proposal"]["legs"]
    assert found["proposal"]["proposal_status"] == "paid"
    assert legs["refinancing_credit_operation"]["status"] == "disbursed"
    assert ported.portability is not None and ported.portability.troco_disbursed
    _, reduced, found = ended["portability-reduction"]
    # 150.00 released + 10.00 free: the installment the loan lowered itself to, and the provider's
    assert reduced.portability is not None and reduced.portability.installment == Decimal("160.00")
    assert Decimal(found["proposal"]["legs"]["portability_credit_operation"]["installment"]) == Decimal("160.00")
    started, by_operator, _ = ended["portability-operator-reduction"]
    assert started.actions == ["reduced the portability installment to 110.00"]
    assert by_operator.portability is not None and by_operator.portability.reductions == 1
    for name in ("portability-ctc-rejected", "portability-retained", "portability-consent-expired"):
        _, _, found = ended[name]
        assert found["proposal"]["proposal_status"] in ("rejected", "retained", "canceled"), name
        assert all(leg["status"] == "canceled" for leg in found["proposal"]["legs"].values()), name


def test_a_second_provider_only_lender_lends_without_the_first_provider(ended: dict[str, Any]) -> None:
    """The run command plays a lender with the second provider only: no IN100 consultation (its
    "Sem IN100" flow), the operation created once with IN100 false, followed to PAGO."""
    _, state, found = ended["provider-b-only-lender"]
    assert state.provider == "provider_b" and state.status.value == "completed"
    assert state.benefits_request_key is None and state.balance is None  # nothing asked of the first
    assert "consultation" in [r.rule for r in state.eligibility_risks]
    [operation] = found["operations"]
    assert operation["in100"] is False and operation["debt_key"] == state.debt_key
    assert state.pricing_check is not None and state.pricing_check.matches, state.pricing_check


def test_anuencia_samples_wait_for_the_beneficiary_and_end_as_the_page_says(ended: dict[str, Any]) -> None:
    # docs.qitech.com.br/documentation/guides/INSS/pending_confirmation: confirmed → the collateral
    # constituted; refused / expired → debt canceled with these two reasons, named in the loan's ending.
    ends = {
        "anuencia-confirmed": ("completed", "disbursed"),
        "anuencia-denied": ("canceled", "social_security_confirmation_denied_by_beneficiary"),
        "anuencia-expired": ("canceled", "social_security_confirmation_expired"),
    }
    for name, (status, reason) in ends.items():
        _, state, debt = ended[name]
        assert state.status.value == status, name
        assert state.outcome_reason is not None and state.outcome_reason.startswith(reason), name
        assert state.confirmation_notices >= 1 and state.confirmation_deadline is not None, name
        assert debt["status"] == ("disbursed" if status == "completed" else "canceled"), name


def test_the_mocks_pages_first_digits_reach_the_loans_as_published(ended: dict[str, Any]) -> None:
    # docs.qitech.com.br/documentation/guides/INSS/mocks-sandbox: margemDisponivel 431.3 for 1, 3, 4, 8;
    # the card (RCC) margin reduced to R$ 75,90 for 3 and zero for 8; 2 Dataprev's D1.
    totals = {}
    for name in ("completes", "full-margin-4", "card-margin-reduced", "card-margin-zero"):
        _, state, _ = ended[name]
        assert state.balance is not None and state.balance.loans_margin == Decimal("431.3"), name
        totals[name] = state.balance.available_total_balance
    assert totals["completes"] == totals["full-margin-4"]  # "idêntico ao dígito 1"
    full, reduced, zero = totals["completes"], totals["card-margin-reduced"], totals["card-margin-zero"]
    assert full is not None and reduced is not None and zero is not None
    assert zero + Decimal("75.90") == reduced < full  # the RCC margin alone differs: 0, then R$ 75,90
    _, rejected, _ = ended["dataprev-d1"]
    assert rejected.outcome_reason == "balance request failed: inconsistent_balance_benefit_data"
