"""Pricing a portability (pricing.portability): the portability leg's installment for a fixed ported
balance, the troco of the refinancing leg, and the refusals.

Ground truth. Seed 002 prints one priced leg (§13, the installment-reduction answer, 002:217), but
its figures cannot be reproduced by any lender schedule: its first installment falls 5 days after
the disbursement, in the same month, and its installments differ (382.17 / 382.16) — the project
lists it as not numeric ground truth (tests/domain/pricing/test_seed_ground_truth.py); only its rate is
used here, for the cap. The provider's public simulation page for Port+Refin INSS
(https://docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/simulacao) defines the
troco as what the refinancing pays out beyond the portability but prints no figures we could read.
So the figures come from seed 004 §3 (004:286 request, 004:410 answer), the provider's own schedule
of 4 × 100.00 at 1.8 % a month: each option prints what that schedule releases. Read backwards,
porting exactly that amount at the same rate and dates must cost 100.00 a month; read forwards, a
refinancing leg of 4 × 100.00 releases it, and the troco is it minus the ported balance.
Everything else is asserted as relations that would fail on a wrong engine wiring.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.pricing.engine import PricingError
from domain.pricing.portability import PortabilityPrice, TrocoLeg, price_portability
from domain.pricing.product import INSS_DEFAULT_PRODUCT, SEED_004_SIMULATION_PRODUCT
from domain.regulation import MAX_INSTALLMENTS, MAX_MONTHLY_RATE
from tests.seed_examples import examples

PORTABILITY_RATE = "portability_credit_operation.financial.monthly_interest_rate"
PORTABILITY_COUNT = "portability_credit_operation.financial.number_of_installments"
REFINANCING_RATE = "refinancing_credit_operation.financial.monthly_interest_rate"


def _seed(seed: str, line: int) -> Any:
    return next(e for e in examples(seed) if e.line == line).obj


SIMULATION = _seed("004", 286)["financial"]  # 4 × 100 at 1.8 %, disbursed from 2024-11-05, window 3 days
OPTIONS = _seed("004", 410)["data"]["disbursement_options"]
SEED_RATE = Decimal(SIMULATION["monthly_interest_rate"])
SEED_INSTALLMENT = Decimal(SIMULATION["installment_face_value"])
SEED_COUNT = int(SIMULATION["number_of_installments"])
SEED_FIRST_DUE = date.fromisoformat(SIMULATION["first_due_date"])
SEED_002_REDUCTION_RATE = Decimal(
    str(_seed("002", 217)["disbursement_options"][0]["prefixed_interest_rate"]["monthly_rate"])
)


def seed_priced(
    balance: Decimal, disbursement: date, *, window: int = 0, troco: TrocoLeg | None = None
) -> PortabilityPrice:
    return price_portability(
        ported_balance=balance,
        monthly_interest_rate=SEED_RATE,
        number_of_installments=SEED_COUNT,
        first_due_date=SEED_FIRST_DUE,
        disbursement_date=disbursement,
        limit_days_to_disburse=window,
        troco=troco,
        product=SEED_004_SIMULATION_PRODUCT,  # the fees of the seed's answer (TAC 0.6 %, TED 1.00)
    )


def inss(balance: str = "5321.87", *, rate: str = "0.0166", count: int = 84, **changes: Any) -> PortabilityPrice:
    arguments: dict[str, Any] = {
        "ported_balance": Decimal(balance),
        "monthly_interest_rate": Decimal(rate),
        "number_of_installments": count,
        "first_due_date": date(2027, 1, 7),
        "disbursement_date": date(2026, 12, 2),
        "limit_days_to_disburse": 2,
    }
    return price_portability(**(arguments | changes))


# ---------------------------------------------------------------- ground truth: seed 004 §3 read both ways


@pytest.mark.parametrize("index", range(len(OPTIONS)))
def test_porting_what_the_seeds_schedule_releases_costs_its_installment(index: int) -> None:
    option = OPTIONS[index]
    priced = seed_priced(
        Decimal(str(option["disbursed_issue_amount"])), date.fromisoformat(option["disbursement_date"])
    )
    assert priced.installment == SEED_INSTALLMENT
    assert priced.portability.first.issue_amount == Decimal(str(option["issue_amount"]))
    assert priced.portability.first.first_due_date == date.fromisoformat(option["first_due_date"])
    assert priced.troco is None and priced.released is None and priced.trocos == ()


def test_the_troco_is_what_the_refinancing_releases_minus_the_ported_balance() -> None:
    balance = Decimal("300.00")
    priced = seed_priced(
        balance,
        date.fromisoformat(SIMULATION["disbursement_date"]),
        window=3,
        troco=TrocoLeg(SEED_INSTALLMENT, SEED_RATE),
    )
    released = [Decimal(str(o["disbursed_issue_amount"])) for o in OPTIONS]  # 374.91, 367.72, 367.96, 368.21
    assert priced.released == released[0]
    assert priced.troco == released[0] - balance == Decimal("74.91")
    assert priced.trocos == tuple(
        (date.fromisoformat(o["disbursement_date"]), r - balance) for o, r in zip(OPTIONS, released, strict=True)
    )


def test_a_troco_of_exactly_zero_is_refused() -> None:
    # Porting exactly what the refinancing leg releases leaves the borrower nothing.
    released = Decimal(str(OPTIONS[0]["disbursed_issue_amount"]))
    with pytest.raises(PricingError) as refused:
        seed_priced(released, date(2024, 11, 5), troco=TrocoLeg(SEED_INSTALLMENT, SEED_RATE))
    assert refused.value.field == "troco"
    assert released == Decimal("374.91")  # seed 004's first option
    assert str(refused.value).endswith("not more than the ported balance R$ 374,91: troco R$ 0,00")


def test_a_troco_that_vanishes_later_in_the_window_is_refused_naming_the_day() -> None:
    # 370.00 < 374.91 released on 2024-11-05, but > 367.72 released on 2024-11-06.
    with pytest.raises(PricingError) as refused:
        seed_priced(Decimal("370.00"), date(2024, 11, 5), window=3, troco=TrocoLeg(SEED_INSTALLMENT, SEED_RATE))
    assert refused.value.field == "troco"
    assert "releases R$ 367,72 on 06/11/2024" in refused.value.message


def test_a_negative_troco_is_refused() -> None:
    with pytest.raises(PricingError) as refused:
        inss("5321.87", troco=TrocoLeg(Decimal("100.00"), Decimal("0.0166")))  # releases less than the balance
    assert refused.value.field == "troco"


# ---------------------------------------------------------------- relations


def test_the_installments_repay_more_than_the_ported_balance() -> None:
    priced = inss()
    option = priced.portability.first
    assert priced.installment * 84 > Decimal("5321.87")
    assert priced.installment == priced.installment.quantize(Decimal("0.01"))  # to the cent
    # The leg releases the ported balance (to the origin bank), at most a centavo above it.
    assert all(
        Decimal(0) <= o.disbursed_issue_amount - Decimal("5321.87") <= Decimal("0.01")
        for o in priced.portability.options
    )
    assert option.issue_amount > Decimal("5321.87")  # IOF and fees are financed
    # Textbook Price annuity of the bare balance (monthly periods, no IOF): the engine's daily rate,
    # a 36-day first period and the financed IOF put the installment a few percent above it.
    rate, count = Decimal("0.0166"), 84
    textbook = Decimal("5321.87") * rate / (1 - (1 + rate) ** -count)
    assert textbook < priced.installment < textbook * Decimal("1.06")


def test_a_higher_rate_costs_more_and_a_longer_term_less() -> None:
    base = inss().installment
    assert inss(rate="0.0185").installment > base
    assert inss(count=96).installment < base
    assert inss(balance="6000.00").installment > base


def test_the_troco_leg_shares_the_term_and_dates() -> None:
    priced = inss(troco=TrocoLeg(Decimal("160.00"), Decimal("0.0179")))
    assert priced.refinancing is not None
    ported, refinanced = priced.portability, priced.refinancing
    assert len(refinanced.first.rows) == len(ported.first.rows) == 84
    assert [o.disbursement_date for o in refinanced.options] == [o.disbursement_date for o in ported.options]
    assert [r.due_date for r in refinanced.first.rows] == [r.due_date for r in ported.first.rows]
    assert priced.released is not None and priced.troco is not None
    assert priced.troco == priced.released - Decimal("5321.87") > 0
    assert refinanced.first.installment_value == Decimal("160.00")


# ---------------------------------------------------------------- refusals


def test_a_rate_above_the_cap_is_refused_naming_the_field() -> None:
    # Seed 002 §13's leg is priced at 12.246205 % a month: far above the INSS cap.
    with pytest.raises(PricingError) as refused:
        inss(rate=str(SEED_002_REDUCTION_RATE))
    assert refused.value.field == PORTABILITY_RATE
    assert refused.value.message.endswith("is above the cap of 1,85 % a.m.")


def test_the_cap_itself_is_allowed_and_a_given_cap_is_used() -> None:
    assert inss(rate=str(MAX_MONTHLY_RATE.value)).installment > 0
    with pytest.raises(PricingError) as refused:
        inss(rate="0.0166", max_monthly_rate=Decimal("0.0150"))
    assert refused.value.field == PORTABILITY_RATE and "the cap of 1,50 % a.m." in refused.value.message


def test_the_troco_legs_rate_is_capped_too() -> None:
    with pytest.raises(PricingError) as refused:
        inss(troco=TrocoLeg(Decimal("160.00"), Decimal("0.0186")))
    assert refused.value.field == REFINANCING_RATE


def test_more_installments_than_the_maximum_are_refused() -> None:
    assert inss(count=MAX_INSTALLMENTS.value).installment > 0
    with pytest.raises(PricingError) as refused:
        inss(count=MAX_INSTALLMENTS.value + 1)
    assert refused.value.field == PORTABILITY_COUNT
    with pytest.raises(PricingError) as given:
        inss(count=85, max_installments=84)
    assert given.value.field == PORTABILITY_COUNT and "84" in given.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ported_balance": Decimal("0")}, "origin_contract.last_due_balance"),
        ({"number_of_installments": 0}, PORTABILITY_COUNT),
        ({"monthly_interest_rate": Decimal("-0.01")}, PORTABILITY_RATE),
        (
            {"troco": TrocoLeg(Decimal("0"), Decimal("0.0166"))},
            "refinancing_credit_operation.financial.installment_face_value",
        ),
    ],
)
def test_impossible_inputs_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(PricingError) as refused:
        inss(**changes)
    assert refused.value.field == field


def test_the_products_own_rules_still_apply() -> None:
    # A cap given above the product's (INSS: 1.85 %) does not let the product's rule through.
    with pytest.raises(PricingError) as refused:
        inss(rate="0.019", max_monthly_rate=Decimal("0.02"), product=INSS_DEFAULT_PRODUCT)
    assert refused.value.field == PORTABILITY_RATE
