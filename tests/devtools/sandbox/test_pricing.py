"""The sandbox's own pricing answers what the seeds' worked answers print, figure for figure.

Every expected value below is copied from the seed named next to it (seed 004 §3's simulation, §4's
issuance; seed 001 §3's batch), never from the sandbox's or the lender's code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from devtools.sandbox.bank_days import is_workday, next_workday
from devtools.sandbox.offers import issuance_option, simulation_response
from devtools.sandbox.pricing import Fee, Product, Terms, quote
from devtools.sandbox.wire import decode, encode

D = Decimal

# Seed 004 §3: the fees its simulation prints (TAC 0,6 %, TED fee 1,00; contract_fee_amount is the TAC).
SIMULATION_PRODUCT = Product(
    fees=(Fee("tac", "percentage", D("0.6")), Fee("ted_fee", "absolute", D("1.0"))), counted=frozenset({"tac"})
)
SIMULATION_TERMS = Terms(
    first_due_date=date(2024, 12, 7),
    disbursement_date=date(2024, 11, 5),
    limit_days_to_disburse=3,
    number_of_installments=4,
    installment=D(100),
    monthly_rate=D("0.018"),
)
# Seed 004 §4: the fees its issuance prints (a spread of 0,5 % — 4,55 on 909,75 — and a TED fee of 1,50).
ISSUANCE_PRODUCT = Product(fees=(Fee("spread", "percentage", D("0.5")), Fee("ted_fee", "absolute", D("1.5"))))
ISSUANCE_TERMS = Terms(
    first_due_date=date(2023, 9, 20),
    disbursement_date=date(2024, 11, 7),
    limit_days_to_disburse=7,
    number_of_installments=10,
    installment=D("101.84"),
    monthly_rate=D("0.0166"),
)


def _wire(body: object) -> dict:  # type: ignore[type-arg]
    """As the lender reads it: through JSON."""
    read: dict = decode(encode(body))  # type: ignore[type-arg]
    return read


def test_the_simulation_answers_seed_004s_four_options() -> None:
    answer = _wire(
        simulation_response(
            quote(SIMULATION_TERMS, SIMULATION_PRODUCT),
            key="k",
            requester_key="r",
            event_datetime=datetime(2024, 11, 5, 16, 50),
            number_of_installments=4,
        )
    )
    assert answer["data"]["prefixed_interest_rate"] == {
        "interest_base": "calendar_days_365",
        "annual_rate": D("0.23872053"),
        "monthly_rate": D("0.018"),
        "daily_rate": D("0.00058669"),
    }
    # date, first due date, iof_amount, cet, annual_cet, TAC, issue amount, disbursed_issue_amount
    seed = """
        2024-11-05 2024-12-09 3.93 0.0257 0.355163 2.29 382.13 374.91
        2024-11-06 2025-01-07 4.77 0.0243 0.334037 2.25 375.74 367.72
        2024-11-07 2025-01-07 4.74 0.0243 0.334673 2.26 375.96 367.96
        2024-11-08 2025-01-07 4.71 0.0244 0.335196 2.26 376.18 368.21
    """
    for option, line in zip(answer["data"]["disbursement_options"], seed.split("\n")[1:-1], strict=True):
        day, due, iof, cet, annual, tac, issue, released = line.split()
        assert (option["disbursement_date"], option["first_due_date"]) == (day, due)
        assert (option["iof_amount"], option["cet"], option["annual_cet"]) == (D(iof), D(cet), D(annual))
        assert option["contract_fees"][0] == {
            "fee_type": "tac",
            "amount_type": "percentage",
            "amount": D("0.6"),
            "fee_amount": D(tac),
        }
        assert option["contract_fees"][1]["fee_amount"] == D("1.0")
        assert option["contract_fee_amount"] == D(tac)  # §3 counts its TAC only
        assert (option["issue_amount"], option["assignment_amount"]) == (D(issue), D(issue))
        assert option["disbursed_issue_amount"] == option["final_disbursement_amount"] == D(released)
    first = answer["data"]["disbursement_options"][0]
    assert first["total_pre_fixed_amount"] == D("17.8715883143")
    dates = [(r["due_date"], r["calendar_days"], r["workdays"], r["total_amount"]) for r in first["installments"]]
    assert dates == [
        ("2024-12-09", 34, D("23.0"), D(100)),
        ("2025-01-07", 29, D("19.0"), D(100)),
        ("2025-02-07", 31, D("23.0"), D(100)),
        ("2025-03-07", 28, D("18.0"), D(100)),
    ]
    # Balance, interest and amortization to the tenth place, as printed (the provider computes in binary
    # floats: its tenth place may be one off).
    figures = [
        (r["due_principal"], r["pre_fixed_amount"], r["principal_amortization_amount"]) for r in first["installments"]
    ]
    seed_rows = [
        (D("382.13"), D("7.6967422515"), D("92.3032577485")),
        (D("289.8267422515"), D("4.9718040699"), D("95.0281959301")),
        (D("194.7985463214"), D("3.5742034136"), D("96.4257965864")),
        (D("98.372749735"), D("1.6288385793"), D("98.3711614207")),  # the issue amount's rounding, still due
    ]
    for ours, printed in zip(figures, seed_rows, strict=True):
        assert all(abs(a - b) <= D("2e-10") for a, b in zip(ours, printed, strict=True)), (ours, printed)
    # The IOF of each installment, to the twelfth place (the seed prints a float's digits).
    seed_taxes = [D("0.257341482602818"), D("0.4909156601748966"), D("0.7432500400879712"), D("0.9841050988526828")]
    for row, tax in zip(first["installments"], seed_taxes, strict=True):
        assert abs(row["tax_amount"] - tax) <= D("2e-12")


def test_the_issuance_answers_seed_004s_eight_options() -> None:
    options = [_wire(issuance_option(o)) for o in quote(ISSUANCE_TERMS, ISSUANCE_PRODUCT)]
    # date, issue amount, total_iof, additional_iof, cet, annual_cet, spread, assignment_amount
    seed = """
        2024-11-07 909.75 19.72 3.45705 2,0100% 27,0481% 4.55 914.30
        2024-11-08 910.24 19.65 3.458912 2,0200% 27,0539% 4.55 914.79
        2024-11-09 910.73 19.58 3.460774 2,0200% 27,0599% 4.55 915.28
        2024-11-10 911.23 19.51 3.462674 2,0200% 27,0635% 4.56 915.79
        2024-11-11 911.72 19.44 3.464536 2,0200% 27,0698% 4.56 916.28
        2024-11-12 912.21 19.37 3.466398 2,0200% 27,0762% 4.56 916.77
        2024-11-13 912.71 19.30 3.468298 2,0200% 27,0802% 4.56 917.27
        2024-11-14 913.20 19.23 3.47016 2,0200% 27,0870% 4.57 917.77
    """
    for option, line in zip(options, seed.split("\n")[1:-1], strict=True):
        day, issue, iof, additional, cet, annual, spread, assignment = line.split()
        assert (option["disbursement_date"], option["first_due_date"]) == (day, "2025-01-20")
        assert (option["issue_amount"], option["total_iof"], option["additional_iof"]) == (
            D(issue),
            D(iof),
            D(additional),
        )
        assert (option["cet"], option["annual_cet"]) == (cet, annual)
        assert option["contract_fees"] == [
            {"fee_type": "spread", "fee_amount": D(spread)},
            {"fee_type": "ted_fee", "fee_amount": D("1.5")},
        ]
        assert option["contract_fee_amount"] == D(spread) + D("1.5")
        assert option["assignment_amount"] == D(assignment)
    first = options[0]
    assert round(first["base_iof"], 10) == D("16.2590021468")  # the seed prints a float: 16.259002146803677
    assert first["prefixed_interest_rate"]["daily_rate"] == D("0.00054142")
    assert first["prefixed_interest_rate"]["annual_rate"] == D("0.21843191")
    dates = [(r["due_date"], r["calendar_days"], r["workdays"]) for r in first["installments"]]
    assert dates == [
        ("2025-01-20", 74, D("49.0")),
        ("2025-02-20", 31, D("23.0")),
        ("2025-03-20", 28, D("18.0")),
        ("2025-04-22", 33, D("21.0")),  # the 20th a Sunday, the 21st Tiradentes
        ("2025-05-20", 28, D("19.0")),
        ("2025-06-20", 31, D("22.0")),
        ("2025-07-21", 31, D("21.0")),
        ("2025-08-20", 30, D("22.0")),
        ("2025-09-22", 33, D("23.0")),
        ("2025-10-20", 28, D("20.0")),
    ]
    assert first["installments"][0]["pre_fixed_amount"] == D("37.1789024864")
    assert abs(first["installments"][-1]["due_principal"] - D("100.3090744135")) <= D("2e-10")


def test_the_calendar_is_the_one_seed_004s_workdays_count() -> None:
    assert not is_workday(date(2025, 3, 3)) and not is_workday(date(2025, 3, 4))  # Carnival (18 workdays)
    assert is_workday(date(2024, 11, 20))  # 2024-11-07 → 2025-01-20 counts 49 workdays: Nov 20 among them
    assert next_workday(date(2025, 4, 20)) == date(2025, 4, 22)


def test_a_fixed_installment_and_amount_release_exactly_the_amount_asked() -> None:
    # Seed 001 §3's batch: installments of 100,00 and 1.876,00 disbursed, the rate solved per option —
    # and every option prints "disbursed_issue_amount": 1876.
    terms = Terms(date(2022, 12, 7), date(2022, 11, 3), 3, 24, installment=D(100), disbursed_amount=D(1876))
    options = quote(terms, Product(fees=()))
    assert [o.released for o in options] == [D("1876.00")] * 4
    assert all(o.issue_amount - o.total_iof == D("1876.00") for o in options)
    assert len({o.annual_rate for o in options}) == 4  # "uma prefixed_interest_rate diferente"


def test_a_fixed_amount_and_rate_release_the_amount_asked_and_settle_on_the_last_installment() -> None:
    # Seed 004 §3's second request ("fixando o valor desembolsado"): R$ 1.000,00 at 1,8 %. Its answer is not
    # printed; what it fixes is the amount released.
    terms = Terms(date(2024, 12, 7), date(2024, 11, 5), 3, 4, disbursed_amount=D(1000), monthly_rate=D("0.018"))
    for option in quote(terms, SIMULATION_PRODUCT):
        assert option.released == D("1000.00")
        totals = [row.total for row in option.rows]
        assert totals[:-1] == [option.installment] * 3
        assert abs(totals[-1] - option.installment) <= D("0.05")  # what a level rounded to the cent leaves


@pytest.mark.parametrize(
    ("asked", "first_due"), [(date(2025, 3, 10), date(2025, 3, 10)), (date(2024, 12, 7), date(2024, 12, 9))]
)
def test_a_first_due_date_is_kept_unless_too_early(asked: date, first_due: date) -> None:
    terms = Terms(asked, date(2024, 11, 5), 0, 4, installment=D(100), monthly_rate=D("0.018"))
    assert quote(terms, Product())[0].first_due_date == first_due
