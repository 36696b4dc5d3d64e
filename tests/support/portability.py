"""Valid Port+Refin requests for tests (seed 002's flow), built from our strict outbound models."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from activities.qitech.models.portability import LegSignature, ProposalRequest
from domain.calendar import SAO_PAULO
from tests.support.builders import PURCHASER_CNPJ, today

ORIGIN_ISPB = "60746948"  # Bradesco, one of the sandbox's CTC participants


def proposal_request(
    cpf: str,
    benefit_number: str = "2052711150",
    *,
    balance: str = "5000.00",
    installment: str = "120.00",
    installments: int = 84,
    troco_installment: str | None = "180.00",
    troco_rate: str = "0.0166",
    origin_ispb: str = ORIGIN_ISPB,
    first_due_date: date | None = None,
) -> ProposalRequest:
    """A portability of ``balance`` at ``installment`` a month and, unless ``troco_installment`` is
    None, its refinancing at that installment and rate (the troco is what it releases above the balance).
    Both legs fall due first on ``first_due_date`` (default: 40 days from today)."""
    first_due = (first_due_date or today() + timedelta(days=40)).isoformat()
    body: dict[str, Any] = {
        "purchaser_document_number": PURCHASER_CNPJ,
        "borrower": {
            "name": "Maria da Silva",
            "phone": {"number": "999538380", "area_code": "84"},
            "address": {
                "city": "Natal",
                "state": "RN",
                "number": "1984",
                "street": "Rua",
                "neighborhood": "bairro",
                "postal_code": "59065720",
            },
            "birth_date": "1959-07-08",
            "mother_name": "NOME DA MAE",
            "individual_document_number": cpf,
        },
        "collaterals": [
            {
                "collateral_data": {
                    "state": "SP",
                    "benefit_number": benefit_number,
                    "assistance_type": "retirement_by_age",
                }
            }
        ],
        "portability_credit_operation": {
            "financial": {
                "installment_face_value": Decimal(installment),
                "number_of_installments": installments,
                "first_due_date": first_due,
            }
        },
        "origin_contract": {"ispb": origin_ispb, "contract_number": "635967828", "last_due_balance": Decimal(balance)},
    }
    if troco_installment is not None:
        body["refinancing_credit_operation"] = {
            "financial": {
                "monthly_interest_rate": Decimal(troco_rate),
                "installment_face_value": Decimal(troco_installment),
                "number_of_installments": installments,
                "limit_days_to_disburse": 7,
                "first_due_date": first_due,
            },
            "disbursement_bank_account": {
                "name": "Maria da Silva",
                "document_number": cpf,
                "bank_code": "001",
                "ispb": "00000000",
                "branch_number": "2874",
                "account_number": "000057555",
                "account_digit": "0",
            },
        }
    return ProposalRequest.model_validate(body)


def leg_signature(document_url: str) -> LegSignature:
    return LegSignature.model_validate(
        {
            "signed_pdf_path": document_url,
            "ip_address": "203.0.113.7",
            "signature_datetime": datetime.now(SAO_PAULO).isoformat(),
            "similarity_score": "0.97",
            "biometry_analysis_reference": "serpro",
        }
    )
