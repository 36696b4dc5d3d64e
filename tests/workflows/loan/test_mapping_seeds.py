"""Every request body the seeds print (004, and 001 where 004 prints none) is *produced* by our mapping
from a LoanRequest — not merely parsed. Each test writes the LoanRequest a lender's channel would
send for that example (the domain's words), maps it, and compares the whole body with the seed's.

Where a seed prints a placeholder (``"<CPF BENEFICIÁRIO>"``) the value is ours and only the field's
presence is compared. Documented differences, each asserted:
- ``requester_identifier_key``: 004's bodies omit it; 001 sends it and the provider's published
  manual makes it a UUID4 (consulta_por_requester_identifier_key), so we always send a UUID.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from activities.qitech.mapping import (
    LenderTerms,
    balance_request,
    benefits_request,
    change_disbursement_date,
    collateral_correction,
    issuance_request,
    simulation_request,
)
from activities.wire import decode, encode
from domain.loan import (
    CollateralFix,
    DisbursementAccount,
    LoanRequest,
)
from tests.seed_examples import examples
from workflows.loan.decisions import requester_identifier_key

SEED = {(e.seed, e.line): e.obj for seed in ("001", "004") for e in examples(seed)}
LENDER = LenderTerms(purchaser_cnpj="32402502000135")
BORROWER_CPF, REPRESENTATIVE_CPF = "14471835092", "19125869086"
REFINANCED = "4f32e501-212c-4129-8ac3-d9943b78583b"


def wire(model: Any) -> Any:
    """What travels: the JSON our client sends, read back with exact numbers."""
    return decode(encode(model))


def matches(ours: Any, seed: Any, path: str = "") -> list[str]:
    """Where ``ours`` differs from the seed; a seed placeholder ``<...>`` only asks for the field."""
    if isinstance(seed, str) and seed.startswith("<") and seed.endswith(">"):
        return [] if ours not in (None, "") else [f"{path}: missing"]
    if isinstance(seed, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {ours!r} is not an object"]
        problems = [f"{path}.{k}: missing" for k in seed if k not in ours]
        problems += [f"{path}.{k}: not in the seed" for k in ours if k not in seed]
        for key in seed.keys() & ours.keys():
            problems += matches(ours[key], seed[key], f"{path}.{key}")
        return problems
    if isinstance(seed, list):
        if not isinstance(ours, list) or len(ours) != len(seed):
            return [f"{path}: {ours!r} is not a list of {len(seed)}"]
        return [p for i, (o, s) in enumerate(zip(ours, seed, strict=True)) for p in matches(o, s, f"{path}[{i}]")]
    if isinstance(seed, Decimal) or isinstance(ours, Decimal):
        return [] if Decimal(str(ours)) == Decimal(str(seed)) else [f"{path}: {ours!r} != {seed!r}"]
    return [] if ours == seed else [f"{path}: {ours!r} != {seed!r}"]


def seed_004_request(**changes: Any) -> LoanRequest:
    """Seed 004 §4's borrower, benefit, terms and account, as the lender's channel sends them."""
    body: dict[str, Any] = {
        "request_key": "seed-004-issuance",
        "product": "new_credit",
        "borrower": {
            "name": "Nome devedor",
            "cpf": BORROWER_CPF,
            "birth_date": "1959-07-08",
            "mother_name": "NOME DA MAE",
            "phone": {"number": "999538380", "area_code": "84"},
            "address": {
                "street": "Rua",
                "number": "1984",
                "complement": "complemento",
                "neighborhood": "bairro",
                "city": "Natal",
                "state": "RN",
                "postal_code": "59065720",
            },
            "gender": "female",
            "marital_status": "single",
            "nationality": "Brasileiro",
            "identity_document": {"kind": "rg", "number": "003709888", "issued_on": "2015-10-02"},
        },
        "benefit": {"number": "2052711150", "state": "SP"},
        "financial": {
            "installment_value": "1000",
            "monthly_interest_rate": "0.0166",
            "number_of_installments": 84,
            "first_due_date": "2024-09-20",
            "disbursement_date": "2024-11-07",
            "limit_days_to_disburse": 7,
        },
        "disbursement_accounts": [
            {
                "bank_code": "001",
                "branch_number": "2874",
                "account_number": "000057555",
                "account_digit": "0",
                "holder_name": "NOME DEVEDOR",
            }
        ],
        "authorization_term": {
            "signed_at": "2024-11-01T10:00:00-03:00",
            "ip_address": "203.0.113.7",
            "session_id": "session-1",
            "raw_text": "Autorizo a consulta.",
        },
        "contract_number": "TST0000644715",
    }
    body.update(changes)
    return LoanRequest.model_validate(body)


LEGAL_REPRESENTATIVE = {
    "name": "Representante legal",
    "cpf": REPRESENTATIVE_CPF,
    "birth_date": "1970-04-20",
    "mother_name": " Ana Lúcia",
    "email": "teste@qitech.com.br",
    "phone": {"number": "991294043", "area_code": "55"},
    "address": {"street": "AV LEONOR", "number": "1", "city": "GUARULHOS", "state": "SP", "postal_code": "07025200"},
    "judicial_authorization": {"court_case_number": "0001234-56.2024.8.26.0224", "issued_on": "2024-10-01"},
}


def _issuance(seed_line: int) -> tuple[dict[str, Any], dict[str, Any]]:
    seed = SEED[("004", seed_line)]
    category = seed["collaterals"][0]["collateral_data"].get("operation_category")
    refinanced = [op["operation_key"] for op in seed.get("refinanced_credit_operations", [])]
    product = "minimum_wage_increase" if category else ("refinancing" if refinanced else "new_credit")
    terms = seed["financial"]
    request = seed_004_request(
        product=product,
        refinanced_operations=[{"operation_key": key, "installment_value": "300.00"} for key in refinanced],
        legal_representative=LEGAL_REPRESENTATIVE if "related_parties" in seed else None,
        contract_number=seed["additional_data"]["contract"]["contract_number"],
        financial={
            "installment_value": str(terms["installment_face_value"]),
            "monthly_interest_rate": str(terms["monthly_interest_rate"]),
            "number_of_installments": terms["number_of_installments"],
            "first_due_date": terms["first_due_date"],
            "disbursement_date": terms["disbursement_date"],
            "limit_days_to_disburse": terms["limit_days_to_disburse"],
        },
    )
    fine = terms["fine_configuration"]
    lender = LenderTerms(
        purchaser_cnpj=seed["purchaser_document_number"],
        fine_monthly_rate=Decimal(str(fine["monthly_rate"])),
        fine_contract_rate=Decimal(str(fine["contract_fine_rate"])),
    )
    key = requester_identifier_key(request.request_key)
    ours = wire(issuance_request(request, lender, None, requester_key=key))
    assert uuid.UUID(ours.pop("requester_identifier_key")).version == 4
    return ours, seed


@pytest.mark.parametrize(
    "line",
    [995, 1073, 1156, 1239, 1343, 1452],
    ids=lambda line: {
        995: "new credit",
        1073: "refinancing",
        1156: "minimum-wage increase",
        1239: "legal representative, new credit",
        1343: "legal representative, refinancing",
        1452: "legal representative, minimum-wage increase",
    }[line],
)
def test_each_issuance_body_of_seed_004_is_ours(line: int) -> None:
    ours, seed = _issuance(line)
    assert matches(ours, seed) == []


def test_the_issuance_body_with_rebates_and_split_accounts() -> None:
    seed_financial = SEED[("004", 1563)]["financial"]
    rebate = seed_financial["rebates"][0]
    account = rebate["rebate_bank_account"]
    request = seed_004_request(
        financial={
            "installment_value": "100",
            "disbursed_amount": "1876",
            "number_of_installments": 24,
            "first_due_date": "2022-12-07",
            "disbursement_date": "2022-11-03",
            "limit_days_to_disburse": 3,
        },
        rebates=[
            {
                "amount": "20",
                "amount_type": "percentage",
                "fee_type": "spread",
                "account": {
                    "name": account["name"],
                    "cnpj": account["document_number"],
                    "bank_code": account["bank_code"],
                    "branch_number": account["branch_number"],
                    "account_number": account["account_number"],
                    "account_digit": account["account_digit"],
                },
            }
        ],
        disbursement_accounts=[
            {
                "bank_code": "001",
                "branch_number": "2874",
                "account_number": "57555",
                "account_digit": "0",
                "percentage": 70,
            },
            {
                "bank_code": "341",
                "branch_number": "155",
                "account_number": "59923",
                "account_digit": "6",
                "percentage": 30,
            },
        ],
    )
    ours = wire(issuance_request(request, LENDER, None, requester_key=requester_identifier_key(request.request_key)))
    assert matches(ours["financial"], seed_financial) == []
    assert [a["percentage_receivable"] for a in ours["disbursement_bank_accounts"]] == [70, 30]


@pytest.mark.parametrize(
    ("line", "mode", "refinances"),
    [(286, "installment", False), (313, "amount", False), (343, "installment", True), (375, "amount", True)],
)
def test_each_simulation_body_of_seed_004_is_ours(line: int, mode: str, refinances: bool) -> None:
    seed = SEED[("004", line)]
    terms = seed["financial"]
    financial = {
        "monthly_interest_rate": str(terms["monthly_interest_rate"]),
        "number_of_installments": terms["number_of_installments"],
        "first_due_date": terms["first_due_date"],
        "disbursement_date": terms["disbursement_date"],
        "limit_days_to_disburse": terms["limit_days_to_disburse"],
    }
    if mode == "installment":
        financial["installment_value"] = str(terms["installment_face_value"])
    else:
        financial["disbursed_amount"] = str(terms["disbursed_amount"])
    refinanced = [{"operation_key": op["operation_key"]} for op in seed.get("refinanced_credit_operations", [])]
    request = seed_004_request(
        product="refinancing" if refinances else "new_credit", refinanced_operations=refinanced, financial=financial
    )
    assert matches(wire(simulation_request(request, LENDER)), seed) == []


@pytest.mark.parametrize(("line", "representative"), [(7, False), (38, True)])
def test_the_benefits_request_bodies(line: int, representative: bool) -> None:
    # The term's signer (the borrower, or the representative) gives an email: it is part of the term.
    borrower = {**seed_004_request().borrower.model_dump(mode="json"), "email": "devedor@example.com"}
    request = seed_004_request(
        borrower=borrower,
        legal_representative=LEGAL_REPRESENTATIVE if representative else None,
        authorization_term={
            "signed_at": "2024-11-01T10:00:00-03:00",
            "ip_address": "203.0.113.7",
            "session_id": "session-1",
            "document_key": str(uuid.uuid4()),
        },
    )
    ours = wire(benefits_request(request))
    assert matches(ours, SEED[("004", line)]) == [
        ".authorization_term.signature.signer.phone.country_code: '055' != '55'"
    ]  # the seed's placeholder signer writes 55; our phones carry the provider's 055 form
    signer = ours["authorization_term"]["signature"]["signer"]
    assert signer["document_number"] == (REPRESENTATIVE_CPF if representative else BORROWER_CPF)


def test_the_balance_request_bodies_of_both_cases() -> None:
    request = seed_004_request(
        legal_representative=LEGAL_REPRESENTATIVE,
        authorization_term={
            "signed_at": "2024-11-01T10:00:00-03:00",
            "ip_address": "203.0.113.7",
            "session_id": "session-1",
            "document_key": str(uuid.uuid4()),
        },
    )
    # Case 1 relies on the term the benefits request sent; case 2 sends it again.
    assert matches(wire(balance_request(request, with_term=False)), SEED[("004", 126)]) == []
    case_2 = matches(wire(balance_request(request)), SEED[("004", 140)])
    assert case_2 == [".authorization_term.signature.signer.phone.country_code: '055' != '55'"]


@pytest.mark.parametrize(
    ("line", "fix"),
    [
        (
            3653,
            {
                "disbursement_account": {
                    "bank_code": "123",
                    "branch_number": "1234",
                    "account_number": "5678",
                    "account_digit": "1",
                }
            },
        ),
        (3662, {"benefit_number": "1234567890"}),
        (3665, {"name": "Nome do Beneficiário"}),
    ],
)
def test_each_collateral_correction_body(line: int, fix: dict[str, Any]) -> None:
    ours = wire(collateral_correction(CollateralFix.model_validate(fix), "12345678909"))
    seed = dict(SEED[("004", line)])
    if "disbursement_bank_account" in seed:  # the seed's CPF 12345678901 fails its check digits
        seed["disbursement_bank_account"] = {**seed["disbursement_bank_account"], "document_number": "<CPF>"}
    assert matches(ours, seed) == []


def test_the_reapresentacao_body_with_a_new_account() -> None:
    account = DisbursementAccount.model_validate(
        {
            "bank_code": "184",
            "branch_number": "1232",
            "account_number": "412412412",
            "account_digit": "4",
            "account_type": "checking_account",
            "ispb_number": "17298092",
        }
    )
    ours = wire(
        change_disbursement_date(date(2022, 11, 4), account, holder_name="Beneficiária", holder_cpf=BORROWER_CPF)
    )
    assert matches(ours, SEED[("004", 3742)]) == []


def test_the_requester_identifier_key_is_a_stable_uuid4_of_the_request_key() -> None:
    first = requester_identifier_key("sample-20261202-completes")
    assert first == requester_identifier_key("sample-20261202-completes")
    assert first != requester_identifier_key("sample-20261202-completes-2")
    assert uuid.UUID(first).version == 4 and uuid.UUID(first).variant == uuid.RFC_4122
