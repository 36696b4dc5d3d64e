"""How the sandbox prints a priced operation: the simulation's answer (seed 004 §3) and an issuance's
``disbursement_options[]`` (seed 004 §4; a Port+Refin leg's, seed 002 §13), field by field as printed
there — including where the two differ (the simulation's CET a fraction, the issuance's a text
``"2,0100%"``; ``workdays`` a float, ``23.0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from devtools.sandbox.pricing import Option, Row, places

ZERO = Decimal("0.0")


def _printed(value: Decimal, digits: int) -> Decimal:
    """``value`` to ``digits`` places, without the trailing zeros (seed 004 prints 7.6967422515, 382.13)."""
    return Decimal(format(places(value, digits).normalize(), "f"))


def _rates(option: Option) -> dict[str, Any]:
    return {
        "interest_base": "calendar_days_365",
        "annual_rate": option.annual_rate,
        "monthly_rate": option.monthly_rate,
        "daily_rate": option.daily_rate,
    }


def _row(row: Row) -> dict[str, Any]:
    return {
        "calendar_days": row.calendar_days,
        "workdays": Decimal(f"{row.workdays}.0"),
        # Seed 004 prints a due date rolled to a workday as both (2025-04-22).
        "business_due_date": row.due_date.isoformat(),
        "due_date": row.due_date.isoformat(),
        "due_principal": _printed(row.due_principal, 10),
        "has_interest": True,
        "post_fixed_amount": None,
        "pre_fixed_amount": _printed(row.interest, 10),
        "tax_amount": _printed(row.tax, 15),
        "total_amount": row.total,
        "principal_amortization_amount": _printed(row.amortization, 10),
        "installment_number": row.number,
    }


def percent_text(rate: Decimal) -> str:
    """0.0201 → ``"2,0100%"``: the issuance's CET."""
    return f"{rate * 100:.4f}".replace(".", ",") + "%"


def _simulation_option(option: Option, payoff: Decimal) -> dict[str, Any]:
    return {
        "iof_amount": option.total_iof,
        "total_pre_fixed_amount": _printed(option.total_interest, 10),
        "cet": option.monthly_cet,
        "annual_cet": option.annual_cet,
        "contract_fees": [
            {"fee_type": fee.fee_type, "amount_type": fee.amount_type, "amount": fee.amount, "fee_amount": amount}
            for fee, amount in option.fees
        ],
        "external_contract_fees": [
            {
                "fee_type": kind,
                "amount_type": "absolute",
                "amount": ZERO,
                "fee_amount": ZERO,
                "tax_amount": ZERO,
                "net_fee_amount": ZERO,
            }
            for kind in ("spread", "insurance_premium", "tac")
        ],
        "contract_fee_amount": option.contract_fee_amount,
        "external_contract_fee_amount": ZERO,
        "net_external_contract_fee_amount": ZERO,
        "disbursement_date": option.disbursement_date.isoformat(),
        "first_due_date": option.first_due_date.isoformat(),
        "installments": [_row(row) for row in option.rows],
        "issue_amount": option.issue_amount,
        "disbursed_issue_amount": option.released,
        "assignment_amount": option.assignment_amount,
        "final_disbursement_amount": option.released - payoff,
        "prefixed_interest_rate": _rates(option),
    }


def simulation_response(
    options: Sequence[Option],
    *,
    key: str,
    requester_key: str,
    event_datetime: datetime,
    number_of_installments: int,
    payoff: Decimal = Decimal(0),
    refinanced: Sequence[tuple[str, Decimal]] = (),
) -> dict[str, Any]:
    """``POST /debt_simulation``'s answer for one operation. A refinancing's ``payoff`` (what it pays off
    of the operations it names) comes out of ``final_disbursement_amount``, each operation listed with its
    payoff in ``data.refinanced_credit_operations``: the seeds print no refinancing answer, so both are the
    sandbox's reading (the README's assumptions)."""
    first = options[0]
    data: dict[str, Any] = {
        "interest_type": "pre_price_days",
        "credit_operation_type": "ccb",
        "interest_grace_period": 0,
        "interest_payment_month_period": 1,
        "principal_grace_period": 0,
        "principal_amortization_month_period": 1,
        "operation_type": "structured_operation",
        "post_fixed_interest_base": "workdays",
        "post_fixed_interest_rate": None,
        "prefixed_interest_rate": _rates(first),
        "issue_date": first.disbursement_date.isoformat(),
        "number_of_installments": number_of_installments,
        "requester_key": requester_key,
        "final_disbursement_amount": ZERO,  # as seed 004 prints it: each option carries its own
        "disbursement_options": [_simulation_option(o, payoff) for o in options],
    }
    if refinanced:
        data["refinanced_credit_operations"] = [{"operation_key": k, "payoff_amount": v} for k, v in refinanced]
    return {
        "type": "debt",
        "key": key,
        "status": "finished",
        "event_datetime": event_datetime.strftime("%Y-%m-%d %H:%M:%S"),
        "data": data,
    }


def _issuance_row(row: Row) -> dict[str, Any]:
    printed = _row(row)
    return {
        "additional_costs": [],
        "business_due_date": printed["business_due_date"],
        "calendar_days": row.calendar_days,
        "due_date": printed["due_date"],
        "due_interest": ZERO,
        "due_principal": printed["due_principal"],
        "fine_amount": None,
        "has_interest": True,
        "installment_number": row.number,
        "post_fixed_amount": None,
        "pre_fixed_amount": printed["pre_fixed_amount"],
        "principal_amortization_amount": printed["principal_amortization_amount"],
        "tax_amount": printed["tax_amount"],
        "total_amount": row.total,
        "workdays": printed["workdays"],
        "installment_status": None,
        "installment_type": None,
    }


def issuance_option(option: Option, payoff: Decimal = Decimal(0)) -> dict[str, Any]:
    """One ``disbursement_options[]`` item of an issuance (seed 004 §4). ``disbursed_issue_amount`` is not
    in §4's; seed 002 §13 prints it in a leg's options, so the sandbox gives it in every issuance, and
    ``final_disbursement_amount`` (what reaches the borrower) when a ``payoff`` comes out of it."""
    payoff_fields = {"final_disbursement_amount": option.released - payoff} if payoff else {}
    return {
        **payoff_fields,
        "disbursement_date": option.disbursement_date.isoformat(),
        "contract_fees": [{"fee_type": fee.fee_type, "fee_amount": amount} for fee, amount in option.fees],
        "external_contract_fees": [
            {"fee_type": "spread", "fee_amount": ZERO, "tax_amount": ZERO, "net_fee_amount": ZERO}
        ],
        "contract_fee_amount": option.contract_fee_amount,
        "external_contract_fee_amount": ZERO,
        "net_external_contract_fee_amount": ZERO,
        "assignment_amount": option.assignment_amount,
        "issue_amount": option.issue_amount,
        "disbursed_issue_amount": option.released,
        "cet": percent_text(option.monthly_cet),
        "annual_cet": percent_text(option.annual_cet),
        "base_iof": _printed(option.base_iof, 15),
        "additional_iof": _printed(option.additional_iof, 8),
        "total_iof": option.total_iof,
        "total_pre_fixed_amount": _printed(option.total_interest, 10),
        "installments": [_issuance_row(row) for row in option.rows],
        "first_due_date": option.first_due_date.isoformat(),
        "prefixed_interest_rate": _rates(option),
    }
