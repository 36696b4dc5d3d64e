"""Valid provider requests for tests, built from our strict outbound models."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from activities.qitech.models.consultation import AuthorizationTerm, BalanceRequest, BenefitsRequest
from activities.qitech.models.debt import AttachedDocuments, DebtIssuanceRequest, SignatureEvidence
from domain.calendar import SAO_PAULO

PURCHASER_CNPJ = "32402502000135"  # seed 004's purchaser_document_number


def today() -> date:
    return datetime.now(SAO_PAULO).date()


def authorization_term(cpf: str, name: str = "Maria da Silva") -> AuthorizationTerm:
    return AuthorizationTerm.model_validate(
        {
            "document_number": cpf,
            "signature": {
                "signer": {
                    "name": name,
                    "email": "maria@example.com",
                    "phone": {"number": "999538380", "area_code": "84"},
                    "document_number": cpf,
                },
                "authenticity": {
                    "timestamp": datetime.now(SAO_PAULO).isoformat(),
                    "ip_address": "203.0.113.7",
                    "session_id": "session-1",
                },
                "signed_object": {"raw_text": "Autorizo o INSS/Dataprev a disponibilizar meus dados..."},
            },
        }
    )


def benefits_request(cpf: str) -> BenefitsRequest:
    return BenefitsRequest(document_number=cpf, authorization_term=authorization_term(cpf))


def balance_request(cpf: str, benefit_number: str, *, with_term: bool = True) -> BalanceRequest:
    return BalanceRequest(
        document_number=cpf,
        benefit_number=benefit_number,
        authorization_term=authorization_term(cpf) if with_term else None,
    )


def issuance_request(
    cpf: str,
    requester_key: str,
    benefit_number: str = "2052711150",
    *,
    installment: str = "101.84",
    installments: int = 10,
    disbursement: date | None = None,
    limit_days: int = 5,
    assistance_type: str = "retirement_by_age",
) -> DebtIssuanceRequest:
    start = disbursement or today() + timedelta(days=1)
    body: dict[str, Any] = {
        "requester_identifier_key": requester_key,
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
        "financial": {
            "first_due_date": (start + timedelta(days=40)).isoformat(),
            "disbursement_date": start.isoformat(),
            "limit_days_to_disburse": limit_days,
            "number_of_installments": installments,
            "installment_face_value": Decimal(installment),
            "monthly_interest_rate": Decimal("0.0166"),
            "fine_configuration": {"monthly_rate": "0.01", "contract_fine_rate": "0"},
        },
        "collaterals": [
            {"collateral_data": {"state": "SP", "benefit_number": benefit_number, "assistance_type": assistance_type}}
        ],
        "purchaser_document_number": PURCHASER_CNPJ,
        "disbursement_bank_accounts": [
            {
                "name": "Maria da Silva",
                "bank_code": "001",
                "branch_number": "2874",
                "account_number": "000057555",
                "account_digit": "0",
                "document_number": cpf,
            }
        ],
    }
    return DebtIssuanceRequest.model_validate(body)


def attached(front: str, back: str, selfie: str) -> AttachedDocuments:
    return AttachedDocuments(
        document_identification=UUID(front), document_identification_back=UUID(back), selfie=UUID(selfie)
    )


def signature() -> SignatureEvidence:
    return SignatureEvidence.model_validate(
        {
            "ip_address": "203.0.113.7",
            "signature_datetime": datetime.now(SAO_PAULO).isoformat(),
            "similarity_score": "0.98",
            "biometry_analysis_reference": "serpro",
        }
    )
