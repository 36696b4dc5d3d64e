"""Loan requests for tests: valid by construction, with overridable parts."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.calendar import SAO_PAULO
from domain.loan import Documents, LoanRequest
from tests.support.data import jpeg, make_cpf


def today() -> date:
    return datetime.now(SAO_PAULO).date()


def document_files(folder: Path, *, valid: bool = True) -> Documents:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for index, role in enumerate(("identity_front", "identity_back", "selfie")):
        path = folder / f"{role}.jpg"
        path.write_bytes(jpeg(300 + index, 300, (10 * index, 80, 160)) if valid else b"not an image")
        paths[role] = {"uri": path.resolve().as_uri()}
    return Documents.model_validate(paths)


def loan_request(
    cpf: str | None = None,
    *,
    benefit_number: str = "2052711150",
    installment: str = "300.00",
    installments: int = 84,
    disbursement: date | None = None,
    limit_days: int = 5,
    documents: Documents | None = None,
    **overrides: Any,
) -> LoanRequest:
    cpf = cpf or make_cpf(1)
    start = disbursement or today() + timedelta(days=1)
    body: dict[str, Any] = {
        "request_key": f"loan-{uuid.uuid4()}",
        "product": "new_credit",
        "borrower": {
            "name": "Maria da Silva",
            "cpf": cpf,
            "birth_date": "1959-07-08",
            "mother_name": "Ana da Silva",
            "email": "maria@example.com",
            "phone": {"number": "999538380", "area_code": "84"},
            "address": {
                "street": "Rua das Flores",
                "number": "10",
                "city": "Natal",
                "state": "RN",
                "postal_code": "59065720",
            },
        },
        "benefit": {"number": benefit_number, "state": "SP"},
        "financial": {
            "installment_value": Decimal(installment),
            "monthly_interest_rate": Decimal("0.0166"),
            "number_of_installments": installments,
            "first_due_date": (start + timedelta(days=40)).isoformat(),
            "disbursement_date": start.isoformat(),
            "limit_days_to_disburse": limit_days,
        },
        "disbursement_account": {
            "bank_code": "001",
            "branch_number": "2874",
            "account_number": "57555",
            "account_digit": "0",
        },
        "authorization_term": {
            "signed_at": datetime.now(SAO_PAULO).isoformat(),
            "ip_address": "203.0.113.7",
            "session_id": "session-1",
            "raw_text": "Autorizo o INSS/Dataprev a disponibilizar meus dados ao banco.",
        },
        "documents": documents.model_dump(mode="json") if documents else None,
    }
    body.update(overrides)
    return LoanRequest.model_validate(body)
