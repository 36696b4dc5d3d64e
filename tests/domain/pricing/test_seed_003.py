"""Seed 003's one operation, recomputed from its own inputs (README, "The second provider's figures").

The seed sends both amounts of a simulated proposal (§2 observação): 84 installments of 300.00
releasing 12,007.60, disbursed on 2025-12-03 with the first due date on 2026-01-26, and prints the
simulation's issue amount, 12,444.67 (observação 7). It prints no rate and no fee. Every expected
figure here is read from the seed file; the ones the README's derivation adds (the IOF, the
deduction, the rate) are asserted as that derivation states them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.pricing.engine import QuoteOption, QuoteRequest, quote
from domain.pricing.product import (
    INSS_DEFAULT_PRODUCT,
    PROVIDER_B_PRODUCT,
    FeeType,
    InssRules,
    ProductConfig,
)
from domain.regulation import MAX_MONTHLY_RATE
from tests.activities.provider_b.seed003 import payload


@pytest.fixture(scope="module")
def operation() -> Any:
    return payload()["operation"]


def _request(operation: Any, *, rate: Decimal | None = None, both_amounts: bool = True) -> QuoteRequest:
    return QuoteRequest(
        first_due_date=date.fromisoformat(operation["first_due_date"]),
        disbursement_date=date.fromisoformat(operation["disbursement_date"]),
        limit_days_to_disburse=operation["limit_days_to_disburse"],
        number_of_installments=operation["number_of_installments"],
        installment_face_value=Decimal(operation["installment_face_value"]),
        disbursed_amount=Decimal(operation["disbursed_amount"]) if both_amounts else None,
        monthly_interest_rate=rate,
    )


def _on_the_day(options: tuple[QuoteOption, ...], operation: Any) -> QuoteOption:
    day = date.fromisoformat(operation["disbursement_date"])
    return next(o for o in options if o.disbursement_date == day)


def test_the_seeds_inputs_give_its_issue_amount_to_the_cent(operation: Any) -> None:
    """Installment and released amount fixed, as the seed sends them: the rate follows, and with it
    the issue amount the seed prints."""
    option = _on_the_day(quote(_request(operation), PROVIDER_B_PRODUCT).options, operation)
    assert option.issue_amount == Decimal(operation["issue_amount"])  # 12444.67
    assert option.disbursed_issue_amount == Decimal(operation["disbursed_amount"])  # 12007.60
    assert option.installment_value == Decimal(operation["installment_face_value"])
    assert option.first_due_date == date.fromisoformat(operation["first_due_date"])  # 54 days: kept
    assert len(option.rows) == operation["number_of_installments"]
    # The derivation's figures: IOF 367.38 daily + 47.29 additional, the 0.18 % deduction.
    assert option.total_iof == Decimal("414.67")
    [deduction] = option.fees
    assert deduction.fee_type == FeeType.DEDUCTION and deduction.fee_amount == Decimal("22.40")
    assert option.issue_amount - option.total_iof - deduction.fee_amount == option.disbursed_issue_amount
    # The implied monthly rate: 1.87790 %, above the 1.85 % cap of the seed's own date.
    assert Decimal("0.01877903") <= option.rates.monthly <= Decimal("0.01877905")
    assert option.rates.monthly > MAX_MONTHLY_RATE.value


@pytest.mark.parametrize("rate", ["0.01877903", "0.01877904", "0.01877905"])
def test_at_the_implied_rate_the_installment_gives_both_amounts(operation: Any, rate: str) -> None:
    """The same figures the other way: the product table's rate and the installment (the request
    the seed calls ``installment_face_value``) give the issue amount and the released amount."""
    off_the_cap = PROVIDER_B_PRODUCT.model_copy(update={"inss_rules": InssRules(max_monthly_rate=None)})
    option = _on_the_day(
        quote(_request(operation, rate=Decimal(rate), both_amounts=False), off_the_cap).options, operation
    )
    assert option.issue_amount == Decimal(operation["issue_amount"])
    assert option.disbursed_issue_amount == Decimal(operation["disbursed_amount"])


def test_the_rate_is_refused_by_the_products_rules(operation: Any) -> None:
    """The INSS rules stay on for the second provider's product: its own example breaks the cap."""
    violations = quote(_request(operation), PROVIDER_B_PRODUCT).violations
    assert [v.field for v in violations] == ["financial.monthly_interest_rate"]


def test_without_the_deduction_the_first_providers_product_misses_it(operation: Any) -> None:
    """The first provider's product (a TED fee of 1.00, no deduction) prices the same inputs to the
    issue amount the issue reported (12,421.54, IOF 413.94): 23.13 short of the seed's."""
    first = _on_the_day(quote(_request(operation), INSS_DEFAULT_PRODUCT).options, operation)
    bare = ProductConfig(inss_rules=InssRules(max_monthly_rate=None))
    none = _on_the_day(quote(_request(operation), bare).options, operation)
    assert none.issue_amount == Decimal("12421.54") and none.total_iof == Decimal("413.94")
    assert first.issue_amount != Decimal(operation["issue_amount"])
    assert none.issue_amount != Decimal(operation["issue_amount"])
