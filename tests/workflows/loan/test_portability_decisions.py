"""The portability's decisions as pure functions: what installment fits after HW (seed 002 §13), and
whether the provider's price of a proposal is the local engine's."""

from __future__ import annotations

from decimal import Decimal

from workflows.loan.activity_models import PortabilityPriced, Proposed
from workflows.loan.decisions import portability_pricing_check, portability_reduction

LIMIT = Decimal("0.3")


def test_what_fits_is_the_released_installment_plus_the_free_margin_rounded_down() -> None:
    offer = portability_reduction(Decimal("180.37"), Decimal("150.005"), Decimal("10.009"), LIMIT)
    assert offer is not None
    assert offer.installment == Decimal("160.01")  # 160.014 down: 160.02 would exceed the margin
    assert offer.automatic  # 11 % lower: within the 30 % the rules allow


def test_beyond_the_rules_limit_the_offer_waits_for_an_operator() -> None:
    offer = portability_reduction(Decimal("180.00"), Decimal("100.00"), Decimal("10.00"), LIMIT)
    assert offer is not None and offer.installment == Decimal("110.00") and not offer.automatic
    at_the_limit = portability_reduction(Decimal("200.00"), Decimal("140.00"), None, LIMIT)
    assert at_the_limit is not None and at_the_limit.automatic  # exactly 30 % lower


def test_no_offer_without_the_released_amount_or_when_the_installment_already_fits() -> None:
    assert portability_reduction(Decimal("180.00"), None, Decimal("500.00"), LIMIT) is None
    # Released plus free covers it: HW is not the origin bank's doing, teimosinha goes on.
    assert portability_reduction(Decimal("180.00"), Decimal("170.00"), Decimal("10.00"), LIMIT) is None
    assert portability_reduction(Decimal("180.00"), Decimal("0"), Decimal("0"), LIMIT) is None


def test_the_pricing_check_names_each_difference() -> None:
    local = PortabilityPriced(installment=Decimal("181.22"), troco=Decimal("2790.10"))
    same = Proposed(proposal_key="p", portability_installment=Decimal("181.22"), troco=Decimal("2790.10"))
    assert portability_pricing_check(local, same).matches
    other = Proposed(proposal_key="p", portability_installment=Decimal("181.23"), troco=Decimal("2790.10"))
    check = portability_pricing_check(local, other)
    assert not check.matches
    assert [(m.field, m.ours, m.theirs) for m in check.mismatches] == [("portability installment", "181.22", "181.23")]
    assert check.differences == ["portability installment: ours 181.22, theirs 181.23"]
    both = Proposed(proposal_key="p", portability_installment=Decimal("181.23"), troco=Decimal("2790.11"))
    assert [m.field for m in portability_pricing_check(local, both).mismatches] == ["portability installment", "troco"]


def test_an_answer_without_a_price_is_no_match() -> None:
    """The provider printed no price: nothing was compared, so nothing agrees."""
    local = PortabilityPriced(installment=Decimal("181.22"), troco=Decimal("2790.10"))
    check = portability_pricing_check(local, Proposed(proposal_key="p"))
    assert not check.matches and check.mismatches == []
    assert check.differences == ["the provider's answer gives no figure to check"]
