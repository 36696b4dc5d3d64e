"""A quote printed in the provider's own response shapes (seed 004 §3 simulation, §4 issuance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from activities.qitech.models.simulation import Financial
from domain.modeling import copy_fields
from domain.pricing.engine import InstallmentRow, Quote, QuoteOption, QuoteRequest, Rates
from domain.pricing.product import FeeType

_ZERO_EXTERNAL_FEE = {
    "amount_type": "absolute",
    "amount": Decimal("0.0"),
    "fee_amount": Decimal("0.0"),
    "tax_amount": Decimal("0.0"),
    "net_fee_amount": Decimal("0.0"),
    "csll_amount": 0,
    "irrf_amount": 0,
    "pis_amount": 0,
    "cofins_amount": 0,
    "amount_released": 0,
    "description": None,
}


def quote_request_from(financial: Financial) -> QuoteRequest:
    return copy_fields(QuoteRequest, financial)


def _rates(rates: Rates) -> dict[str, Any]:
    return {
        "interest_base": "calendar_days_365",
        "annual_rate": rates.annual,
        "monthly_rate": rates.monthly,
        "daily_rate": rates.daily_display,
    }


def _workdays(count: int) -> Decimal:
    return Decimal(f"{count}.0")  # the provider prints workdays as 23.0


def _simulation_row(row: InstallmentRow) -> dict[str, Any]:
    return {
        "calendar_days": row.calendar_days,
        "workdays": _workdays(row.workdays),
        "business_due_date": row.due_date.isoformat(),
        "due_date": row.due_date.isoformat(),
        "due_principal": row.due_principal.normalize(),
        "has_interest": True,
        "post_fixed_amount": None,
        "pre_fixed_amount": row.interest.normalize(),
        "tax_amount": row.tax.normalize(),
        "total_amount": row.total,
        "principal_amortization_amount": row.amortization.normalize(),
        "installment_number": row.number,
    }


def _simulation_option(option: QuoteOption, payoff: Decimal = Decimal(0)) -> dict[str, Any]:
    return {
        "iof_amount": option.total_iof,
        "total_pre_fixed_amount": option.total_interest.normalize(),
        "cet": option.monthly_cet,
        "annual_cet": option.annual_cet,
        "contract_fees": [
            {
                "fee_type": f.fee_type.value,
                "amount_type": f.amount_type.value,
                "amount": f.amount,
                "fee_amount": f.fee_amount,
            }
            for f in option.fees
        ],
        "external_contract_fees": [
            {"fee_type": kind, **_ZERO_EXTERNAL_FEE} for kind in ("spread", "insurance_premium", "tac")
        ],
        "contract_fee_amount": option.contract_fee_amount,
        "external_contract_fee_amount": Decimal("0.0"),
        "net_external_contract_fee_amount": Decimal("0.0"),
        "disbursement_date": option.disbursement_date.isoformat(),
        "first_due_date": option.first_due_date.isoformat(),
        "installments": [_simulation_row(row) for row in option.rows],
        "issue_amount": option.issue_amount,
        "disbursed_issue_amount": option.disbursed_issue_amount,
        "assignment_amount": option.assignment_amount,
        "final_disbursement_amount": option.disbursed_issue_amount - payoff,
        "prefixed_interest_rate": _rates(option.rates),
    }


def simulation_response(
    quote: Quote,
    *,
    key: str,
    requester_key: str,
    event_datetime: datetime,
    number_of_installments: int,
    payoff: Decimal = Decimal(0),
    refinanced: Sequence[tuple[str, Decimal]] = (),
) -> dict[str, Any]:
    """The body of ``POST /debt_simulation`` for one operation (seed 004 §3). ``payoff``: what a
    refinancing pays off of the operations it refinances, out of the released amount (the borrower
    receives the rest — an assumption: the seeds print no refinancing answer); ``refinanced``: each
    operation's key and payoff, listed in ``data.refinanced_credit_operations`` (assumed likewise)."""
    first = quote.first
    return {
        "type": "debt",
        "key": key,
        "status": "finished",
        "event_datetime": event_datetime.strftime("%Y-%m-%d %H:%M:%S"),
        "data": {
            "interest_type": "pre_price_days",
            "credit_operation_type": "ccb",
            "interest_grace_period": 0,
            "interest_payment_month_period": 1,
            "principal_grace_period": 0,
            "principal_amortization_month_period": 1,
            "operation_type": "structured_operation",
            "post_fixed_interest_base": "workdays",
            "post_fixed_interest_rate": None,
            "prefixed_interest_rate": _rates(first.rates),
            "issue_date": first.disbursement_date.isoformat(),
            "number_of_installments": number_of_installments,
            "requester_key": requester_key,
            # Seed 004 prints 0.0 here; each option carries its own final_disbursement_amount.
            "final_disbursement_amount": Decimal("0.0"),
            "disbursement_options": [_simulation_option(o, payoff) for o in quote.options],
            **(
                {"refinanced_credit_operations": [{"operation_key": k, "payoff_amount": v} for k, v in refinanced]}
                if refinanced
                else {}
            ),
        },
    }


def percent_text(rate: Decimal) -> str:
    """0.0201 → "2,0100%": how the issuance response prints CET."""
    return f"{rate * 100:.4f}".replace(".", ",") + "%"


def _issuance_row(row: InstallmentRow) -> dict[str, Any]:
    return {
        "additional_costs": [],
        "business_due_date": row.due_date.isoformat(),
        "calendar_days": row.calendar_days,
        "due_date": row.due_date.isoformat(),
        "due_interest": Decimal("0.0"),
        "due_principal": row.due_principal.normalize(),
        "fine_amount": None,
        "has_interest": True,
        "installment_number": row.number,
        "post_fixed_amount": None,
        "pre_fixed_amount": row.interest.normalize(),
        "principal_amortization_amount": row.amortization.normalize(),
        "tax_amount": row.tax.normalize(),
        "total_amount": row.total,
        "workdays": _workdays(row.workdays),
        "installment_status": None,
        "installment_type": None,
    }


def issuance_option(option: QuoteOption, payoff: Decimal = Decimal(0)) -> dict[str, Any]:
    """One ``disbursement_options[]`` item of the issuance answer (seed 004 §4); with a refinancing's
    ``payoff``, what reaches the borrower is ``final_disbursement_amount``."""
    payoff_fields = {"final_disbursement_amount": option.disbursed_issue_amount - payoff} if payoff else {}
    return {
        **payoff_fields,
        "disbursement_date": option.disbursement_date.isoformat(),
        "contract_fees": [{"fee_type": f.fee_type.value, "fee_amount": f.fee_amount} for f in option.fees],
        "external_contract_fees": [
            {
                "fee_type": "spread",
                "fee_amount": Decimal("0.0"),
                "tax_amount": Decimal("0.0"),
                "net_fee_amount": Decimal("0.0"),
            }
        ],
        "contract_fee_amount": option.contract_fee_amount,
        "external_contract_fee_amount": Decimal("0.0"),
        "net_external_contract_fee_amount": Decimal("0.0"),
        "assignment_amount": option.assignment_amount,
        "issue_amount": option.issue_amount,
        "disbursed_issue_amount": option.disbursed_issue_amount,
        "cet": percent_text(option.monthly_cet),
        "annual_cet": percent_text(option.annual_cet),
        "base_iof": option.base_iof.normalize(),
        "additional_iof": option.additional_iof.normalize(),
        "total_iof": option.total_iof,
        "total_pre_fixed_amount": option.total_interest.normalize(),
        "installments": [_issuance_row(row) for row in option.rows],
        "first_due_date": option.first_due_date.isoformat(),
        "prefixed_interest_rate": _rates(option.rates),
    }


def option_for(quote: Quote, disbursement_date: date) -> QuoteOption | None:
    return next((o for o in quote.options if o.disbursement_date == disbursement_date), None)


def fee_amount(option: QuoteOption, fee_type: FeeType) -> Decimal:
    return sum((f.fee_amount for f in option.fees if f.fee_type == fee_type), Decimal(0))
