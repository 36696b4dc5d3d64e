"""Seed 004's complete examples, recomputed figure by figure.

Ground truth: the simulation response (§3: 4 options × 4 installments) for the first §3 request,
and the issuance response (§4: 8 options × 10 installments) for the first §4 request. Products
carry the fees the responses show (fees are not in the requests).

Tolerances: dates, day counts, money, rates and CET must be equal; the schedule figures the
provider prints with 10 decimals (interest, amortization, due principal, daily IOF) must agree
within 1e-9 — the provider computes in binary floating point and its last digit jitters by up to
4e-10 from option to option for the same installment, which the seeds themselves show.

Examples that are not numeric ground truth, and why (each reason is checked below):
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.models.debt import DebtIssuanceRequest
from activities.qitech.models.simulation import DebtSimulationRequest
from activities.qitech.render import issuance_option, quote_request_from, simulation_response
from activities.wire import decode, encode
from domain.calendar import SAO_PAULO
from domain.pricing.engine import quote
from domain.pricing.product import SEED_004_SIMULATION_PRODUCT, AmountType, FeeSpec, FeeType, InssRules, ProductConfig
from tests.seed_examples import examples

NOT_GROUND_TRUTH = {
    "001:456": "seed 001 §3 batch simulation: truncated ('< ... x24 >', '...') and hand-edited "
    "(different operations share the same interest fractions, e.g. 38.88069301315790 / 64.20069301315790)",
    "001:904": "seed 001 §4 issuance answer: a mock-up — four options on different dates with identical figures",
    "002:217": "seed 002 §13 reduce-installment answer (Port+Refin): 2022-08-24 → 2022-08-30 is printed as 5 "
    "calendar days, and the installments differ (382.17 / 382.16)",
}

TEN_PLACES = Decimal("1e-9")

SEED_004_ISSUANCE_PRODUCT = ProductConfig(
    fees=(
        FeeSpec(fee_type=FeeType.SPREAD, amount_type=AmountType.PERCENTAGE, amount=Decimal("0.5")),
        FeeSpec(fee_type=FeeType.TED_FEE, amount_type=AmountType.ABSOLUTE, amount=Decimal("1.5")),
    ),
    contract_fee_types=frozenset({FeeType.SPREAD, FeeType.TED_FEE}),
    inss_rules=InssRules(forbid_tac=False, max_monthly_rate=None, max_installments=None),
)


def _example(seed: str, line: int) -> Any:
    return next(e for e in examples(seed) if e.line == line).obj


def _ours(body: Any) -> Any:
    """Our rendering, through the same wire encoding the sandbox uses."""
    return decode(encode(body))


def _close(ours: Any, theirs: Any, where: str) -> None:
    assert abs(Decimal(ours) - Decimal(theirs)) <= TEN_PLACES, f"{where}: {ours} vs provider {theirs}"


def _compare_installments(ours: list[Any], theirs: list[Any], where: str) -> None:
    assert len(ours) == len(theirs), where
    for mine, expected in zip(ours, theirs, strict=True):
        at = f"{where} installment {expected['installment_number']}"
        for exact in ("installment_number", "due_date", "business_due_date", "calendar_days", "total_amount"):
            assert mine[exact] == expected[exact], f"{at} {exact}"
        assert Decimal(mine["workdays"]) == Decimal(expected["workdays"]), f"{at} workdays"
        for figure in ("due_principal", "pre_fixed_amount", "principal_amortization_amount", "tax_amount"):
            _close(mine[figure], expected[figure], f"{at} {figure}")


def test_simulation_example_to_the_cent() -> None:
    request = DebtSimulationRequest.model_validate(_example("004", 286))
    expected = _example("004", 410)
    result = quote(quote_request_from(request.financial), SEED_004_SIMULATION_PRODUCT)
    from datetime import datetime

    ours = _ours(
        simulation_response(
            result,
            key="k",
            requester_key="r",
            event_datetime=datetime(2024, 11, 5, 16, 50, tzinfo=SAO_PAULO),
            number_of_installments=request.financial.number_of_installments,
        )
    )
    assert ours["data"]["prefixed_interest_rate"] == expected["data"]["prefixed_interest_rate"]
    assert ours["data"]["issue_date"] == expected["data"]["issue_date"]
    options, provider_options = ours["data"]["disbursement_options"], expected["data"]["disbursement_options"]
    assert len(options) == len(provider_options) == 4
    for mine, theirs in zip(options, provider_options, strict=True):
        where = f"option {theirs['disbursement_date']}"
        for exact in (
            "disbursement_date",
            "first_due_date",
            "issue_amount",
            "disbursed_issue_amount",
            "assignment_amount",
            "final_disbursement_amount",
            "iof_amount",
            "contract_fee_amount",
            "cet",
            "annual_cet",
            "contract_fees",
            "external_contract_fees",
            "prefixed_interest_rate",
        ):
            assert mine[exact] == theirs[exact], f"{where} {exact}: {mine[exact]} vs {theirs[exact]}"
        _close(mine["total_pre_fixed_amount"], theirs["total_pre_fixed_amount"], f"{where} total_pre_fixed_amount")
        _compare_installments(mine["installments"], theirs["installments"], where)


def test_issuance_example_to_the_cent() -> None:
    body = dict(_example("004", 995))
    body["requester_identifier_key"] = "eb859ebe-3a41-49bf-a6c3-d6902039ec00"  # echoed in the answer
    request = DebtIssuanceRequest.model_validate(body)
    expected = _example("004", 1599)["data"]["disbursement_options"]
    result = quote(quote_request_from(request.financial), SEED_004_ISSUANCE_PRODUCT)
    options = [_ours(issuance_option(o)) for o in result.options]
    assert len(options) == len(expected) == 8
    for mine, theirs in zip(options, expected, strict=True):
        where = f"option {theirs['disbursement_date']}"
        for exact in (
            "disbursement_date",
            "first_due_date",
            "issue_amount",
            "assignment_amount",
            "contract_fee_amount",
            "contract_fees",
            "external_contract_fees",
            "total_iof",
            "additional_iof",
            "cet",
            "annual_cet",
            "prefixed_interest_rate",
        ):
            assert mine[exact] == theirs[exact], f"{where} {exact}: {mine[exact]} vs {theirs[exact]}"
        _close(mine["base_iof"], theirs["base_iof"], f"{where} base_iof")
        _close(mine["total_pre_fixed_amount"], theirs["total_pre_fixed_amount"], f"{where} total_pre_fixed_amount")
        _compare_installments(mine["installments"], theirs["installments"], where)


def test_the_engine_matches_most_ten_place_figures_exactly_too() -> None:
    # Not a tolerance in disguise: apart from the float jitter, the rules give the very digits.
    request = DebtSimulationRequest.model_validate(_example("004", 286))
    result = quote(quote_request_from(request.financial), SEED_004_SIMULATION_PRODUCT)
    provider = _example("004", 410)["data"]["disbursement_options"]
    same = total = 0
    for option, theirs in zip(result.options, provider, strict=True):
        for row, expected in zip(option.rows, theirs["installments"], strict=True):
            total += 2
            same += row.interest == expected["pre_fixed_amount"]
            same += row.amortization == expected["principal_amortization_amount"]
    assert same >= total - 2, f"{same}/{total}"


# ---------------------------------------------------------------- the examples we do not use, and why


def test_001_batch_simulation_is_truncated_and_hand_edited() -> None:
    example = next(e for e in examples("001") if e.line == 456)
    assert example.truncated
    first_interests = [
        op["data"]["disbursement_options"][0]["installments"][0]["pre_fixed_amount"] for op in example.obj["data"]
    ]
    fractions = {str(v).split(".")[1][2:] for v in first_interests}
    assert len(first_interests) == 2 and len(fractions) == 1  # same trailing digits on different loans


def test_001_issuance_answer_repeats_one_schedule_on_every_date() -> None:
    options = _example("001", 904)["data"]["disbursement_options"]
    dates = {o["disbursement_date"] for o in options}
    figures = {(o["issue_amount"], o["total_iof"], o["installments"][0]["calendar_days"]) for o in options}
    assert len(dates) == 4 and len(figures) == 1


def test_002_reduce_installment_answer_counts_days_wrongly() -> None:
    option = _example("002", 217)["disbursement_options"][0]
    first = option["installments"][0]
    from datetime import date

    actual = (date.fromisoformat(first["business_due_date"]) - date.fromisoformat(option["disbursement_date"])).days
    assert (actual, first["calendar_days"]) == (6, 5)
    assert len({i["total_amount"] for i in option["installments"]}) == 2


@pytest.mark.parametrize("name", sorted(NOT_GROUND_TRUTH))
def test_every_excluded_example_exists(name: str) -> None:
    seed, line = name.split(":")
    assert any(e.line == int(line) for e in examples(seed)), NOT_GROUND_TRUTH[name]
