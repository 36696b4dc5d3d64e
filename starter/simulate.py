"""``python -m starter simulate``: a provider-shaped simulation computed locally by the pricing engine."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from activities.qitech.models.simulation import DebtSimulationBatchRequest, DebtSimulationRequest
from activities.qitech.render import quote_request_from, simulation_response
from activities.wire import decode
from domain.calendar import SAO_PAULO
from domain.pricing.engine import PricingError, Quote, quote
from domain.pricing.product import INSS_DEFAULT_PRODUCT, ProductConfig, RuleViolation

HELP = """\
Price a simulation locally, exactly as the provider would answer POST /debt_simulation.

REQUEST.json  a simulation request in the provider's shape (seed 004 §3), e.g.
              {"borrower": {"person_type": "natural"},
               "financial": {"first_due_date": "2024-12-07", "disbursement_date": "2024-11-05",
                             "limit_days_to_disburse": 3, "number_of_installments": 4,
                             "installment_face_value": 100, "monthly_interest_rate": 0.018,
                             "interest_type": "pre_price_days", "credit_operation_type": "ccb",
                             "fine_configuration": {"monthly_rate": 0.01, "interest_base": "calendar_days",
                                                    "contract_fine_rate": 0.02},
                             "interest_grace_period": 0, "principal_grace_period": 0},
               "collaterals": [{"collateral_type": "social_security"}]}
              Give two of installment_face_value, disbursed_amount, monthly_interest_rate; the third
              is computed. The batch form {"complex_operation": true, "operation_batch": [...]} works too.

PRODUCT.json  the lender's product: fees in the provider's fee shape and settings, e.g.
              {"fees": [{"fee_type": "tac", "amount_type": "percentage", "amount": 0.6},
                        {"fee_type": "ted_fee", "amount_type": "absolute", "amount": 1.0}],
               "contract_fee_types": ["tac"],
               "inss_rules": {"forbid_tac": false}}
              Settings: contract_fee_types, deducted_fee_types, min_days_to_first_due (34),
              disbursement_cutoff_day (5), ignored_holidays, extra_closed_dates, and inss_rules
              (forbid_tac, max_monthly_rate 0.0185, max_installments 96). Without --product: no TAC,
              a TED fee of 1.00, and the INSS rules on.

Prints the provider-shaped JSON on stdout. Exit codes: 0 priced; 2 the request or product is
invalid (the message names the field); 3 priced, but the product's INSS rules refuse it (each
broken rule and its source on stderr).
"""


class SimulationInputError(Exception):
    """A request or product file we cannot use; the message names the field and why."""


def _describe(error: ValidationError, what: str) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"])
        lines.append(f"{what}: {location or '(top level)'}: {item['msg']}")
    return "\n".join(lines)


def load_json_file(path: Path, what: str) -> Any:
    try:
        return decode(path.read_bytes())
    except OSError as error:
        raise SimulationInputError(f"{what}: cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise SimulationInputError(f"{what}: {path} is not valid JSON: {error}") from None


def load_product(path: Path | None) -> ProductConfig:
    if path is None:
        return INSS_DEFAULT_PRODUCT
    try:
        return ProductConfig.model_validate(load_json_file(path, "product"))
    except ValidationError as error:
        raise SimulationInputError(_describe(error, "product")) from None


def _price(request: DebtSimulationRequest, product: ProductConfig) -> tuple[Quote, dict[str, Any]]:
    try:
        result = quote(quote_request_from(request.financial), product)
    except PricingError as error:
        raise SimulationInputError(f"request: {error}") from None
    body = simulation_response(
        result,
        key=str(uuid.uuid4()),
        requester_key=str(uuid.uuid4()),
        event_datetime=datetime.now(SAO_PAULO),
        number_of_installments=request.financial.number_of_installments,
    )
    return result, body


def simulate(payload: Any, product: ProductConfig) -> tuple[dict[str, Any], list[RuleViolation]]:
    """The provider-shaped answer for a request payload, and the product rules it breaks."""
    try:
        if isinstance(payload, dict) and "operation_batch" in payload:
            batch = DebtSimulationBatchRequest.model_validate(payload)
            priced = [_price(r, product) for r in batch.operation_batch]
            violations = [v for result, _ in priced for v in result.violations]
            return {"data": [body for _, body in priced]}, violations
        single = DebtSimulationRequest.model_validate(payload)
    except ValidationError as error:
        raise SimulationInputError(_describe(error, "request")) from None
    result, body = _price(single, product)
    return body, list(result.violations)
