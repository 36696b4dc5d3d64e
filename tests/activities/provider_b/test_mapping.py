"""Seed 003's payload produced from a LoanRequest, field for field, and what the mapping refuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from activities.provider_b.mapping import (
    CAPABILITIES,
    OperationMappingError,
    Simulated,
    choose_product,
    operation_request,
    unsupported,
)
from activities.provider_b.models import OperationRequest, ProductTable
from activities.wire import decode, encode
from domain.benefit import BenefitAccount, BenefitFacts
from domain.loan import LoanRequest
from tests.activities.provider_b import seed003

TABLE = ProductTable.model_validate(
    [
        {
            "cod_tabela": "200010",
            "description": "INSS NOVO 84X",
            "number_of_installments": [84],
            "monthly_interest_rate": "0.0179",
        },
        {
            "cod_tabela": "200020",
            "description": "INSS NOVO 96X",
            "number_of_installments": [96],
            "monthly_interest_rate": "0.0179",
        },
        {
            "cod_tabela": "200030",
            "description": "INSS NOVO TAXA 1,66",
            "number_of_installments": [84, 96],
            "monthly_interest_rate": "1.66",
        },
    ]
)
SIMULATED = Simulated(issue_amount=Decimal("12444.67"), disbursed_amount=Decimal("12007.6"))
PAYING_ACCOUNT = BenefitAccount(bank_code="341", branch_number="0155", account_number="000059923", account_digit="6")
BENEFIT = BenefitFacts(benefit_number="2052711150", assistance_type="retirement_by_age", paying_account=PAYING_ACCOUNT)


def seed_003_request(**changes: Any) -> LoanRequest:
    """Seed 003's borrower, benefit and terms, as the lender's channel sends them."""
    body: dict[str, Any] = {
        "request_key": "seed-003-operation",
        "borrower": {
            "name": "IVOLANDO MIRANDA",
            "cpf": "12345678909",
            "birth_date": "1961-02-07",
            "mother_name": "Ivolanda Testes",
            "email": "teste@teste.com",
            "phone": {"number": "911111111", "area_code": "11", "country_code": "055"},
            "address": {
                "street": "STREET API",
                "number": "1",
                "complement": "",
                "neighborhood": "NEIGHBORHOOD API",
                "city": "API CITY",
                "state": "BA",
                "postal_code": "45600000",
            },
            "marital_status": "single",
            "nationality": "Brasileiro",
        },
        "benefit": {"number": "2052711150", "state": "SP"},
        "financial": {
            "installment_value": "300",
            "monthly_interest_rate": "0.0179",
            "number_of_installments": 84,
            "first_due_date": "2026-01-26",
            "disbursement_date": "2025-12-03",
            "limit_days_to_disburse": 3,
        },
        "authorization_term": {
            "signed_at": "2025-12-01T10:00:00-03:00",
            "ip_address": "203.0.113.7",
            "session_id": "session-1",
            "raw_text": "Autorizo a consulta.",
        },
    }
    body.update(changes)
    return LoanRequest.model_validate(body)


def with_financial(**changes: Any) -> LoanRequest:
    financial = seed_003_request().financial.model_dump(mode="json", exclude_none=True)
    financial.update(changes)
    return seed_003_request(financial={k: v for k, v in financial.items() if v is not None})


def wire(model: OperationRequest) -> Any:
    """What travels: the JSON the client sends, read back with exact numbers."""
    return decode(encode(model))


def test_the_seed_003_payload_is_ours_field_for_field() -> None:
    request = seed_003_request()
    product = choose_product(TABLE, request)
    ours = wire(operation_request(request, BENEFIT, product, SIMULATED))
    assert ours == seed003.payload()
    # Not just equal values: the same JSON types (benefit_number a number, branch "0155" a string).
    assert isinstance(ours["operation"]["benefit_number"], int)
    assert ours["client"]["bank_account"]["branch_number"] == "0155"
    assert list(ours) == ["operation", "client"]


def test_both_simulation_values_travel_whichever_drives() -> None:
    request = with_financial(installment_value=None, disbursed_amount="12007.60")
    product = choose_product(TABLE, request)
    simulated = Simulated(issue_amount=Decimal("12444.67"), installment_face_value=Decimal("300"))
    operation = wire(operation_request(request, BENEFIT, product, simulated))["operation"]
    assert operation["simulation_type"] == "disbursed_amount"
    assert operation["disbursed_amount"] == Decimal("12007.60")
    assert operation["installment_face_value"] == 300


def test_a_missing_second_value_is_refused_naming_it() -> None:
    request = seed_003_request()
    with pytest.raises(OperationMappingError) as caught:
        operation_request(request, BENEFIT, choose_product(TABLE, request), Simulated(issue_amount=Decimal(12444)))
    [problem] = caught.value.errors
    assert problem.field == "operation.disbursed_amount"


def test_the_product_table_drives_cod_tabela() -> None:
    assert choose_product(TABLE, seed_003_request()).cod_tabela == "200010"
    assert choose_product(TABLE, with_financial(number_of_installments=96)).cod_tabela == "200020"
    # A rate the table prints as a percentage (1,66 % a.m.) is read as the fraction the request carries.
    assert choose_product(TABLE, with_financial(monthly_interest_rate="0.0166")).cod_tabela == "200030"
    # The lender's routing may name the product; the payload then carries it.
    named = choose_product(TABLE, seed_003_request(), cod_tabela="200030")
    payload = wire(operation_request(seed_003_request(), BENEFIT, named, SIMULATED))
    assert payload["operation"]["cod_tabela"] == "200030"


def test_without_a_rate_the_cheapest_product_allowing_the_installments_wins() -> None:
    request = with_financial(monthly_interest_rate=None, disbursed_amount="12007.60")
    assert choose_product(TABLE, request).cod_tabela == "200030"


def test_no_product_for_the_loan_is_refused_naming_the_field() -> None:
    with pytest.raises(OperationMappingError) as caught:
        choose_product(TABLE, with_financial(monthly_interest_rate="0.0199"))
    assert [p.field for p in caught.value.errors] == ["operation.number_of_installments"]
    with pytest.raises(OperationMappingError) as named:
        choose_product(TABLE, seed_003_request(), cod_tabela="999999")
    assert named.value.errors[0].field == "operation.cod_tabela"


def test_a_product_that_does_not_allow_the_installments_is_refused() -> None:
    product = TABLE.get("200020")
    assert product is not None
    with pytest.raises(OperationMappingError) as caught:
        operation_request(seed_003_request(), BENEFIT, product, SIMULATED)
    assert [p.field for p in caught.value.errors] == ["operation.cod_tabela"]


@pytest.mark.parametrize("count", [12, 72, 85, 95, 120])
def test_installments_other_than_84_or_96_are_refused_naming_the_field(count: int) -> None:
    request = with_financial(number_of_installments=count)
    product = TABLE.get("200010")
    assert product is not None
    with pytest.raises(OperationMappingError) as caught:
        operation_request(request, BENEFIT, product, SIMULATED)
    fields = {p.field: p for p in caught.value.errors}
    problem = fields["operation.number_of_installments"]
    assert problem.request_field == "financial.number_of_installments"
    assert "84 or 96" in problem.message and str(count) in problem.message
    assert "operation.number_of_installments" in str(caught.value)


def test_the_strict_model_refuses_other_installments_too() -> None:
    payload = seed003.payload()
    payload["operation"]["number_of_installments"] = 90
    with pytest.raises(ValueError, match="84 or 96"):
        OperationRequest.model_validate(payload)


def test_the_request_account_wins_over_the_paying_account() -> None:
    account = {"bank_code": "104", "branch_number": "1234", "account_number": "998877", "account_digit": "1"}
    request = seed_003_request(disbursement_accounts=[account])
    bank = wire(operation_request(request, BENEFIT, choose_product(TABLE, request), SIMULATED))["client"][
        "bank_account"
    ]
    assert bank == {
        "ispb_number": "00360305",
        "bank_code": "104",
        "account_type": "checking_account",
        "branch_number": "1234",
        "account_number": "998877",
        "account_digit": "1",
        "pix_transfer_type": "manual",
    }


def test_an_unknown_bank_without_ispb_is_refused_naming_the_field() -> None:
    account = {"bank_code": "999", "branch_number": "1", "account_number": "2", "account_digit": "3"}
    request = seed_003_request(disbursement_accounts=[account])
    with pytest.raises(OperationMappingError) as caught:
        operation_request(request, BENEFIT, choose_product(TABLE, request), SIMULATED)
    [problem] = caught.value.errors
    assert problem.field == "client.bank_account.ispb_number"
    assert problem.request_field == "disbursement_accounts[0].ispb_number"
    given = seed_003_request(disbursement_accounts=[{**account, "ispb_number": "12345678"}])
    payload = wire(operation_request(given, BENEFIT, choose_product(TABLE, given), SIMULATED))
    assert payload["client"]["bank_account"]["ispb_number"] == "12345678"


def test_no_account_anywhere_is_refused() -> None:
    benefit = BENEFIT.model_copy(update={"paying_account": None})
    with pytest.raises(OperationMappingError) as caught:
        operation_request(seed_003_request(), benefit, choose_product(TABLE, seed_003_request()), SIMULATED)
    assert [p.field for p in caught.value.errors] == ["client.bank_account"]


def test_fields_the_loan_does_not_know_are_sent_empty_and_nationality_defaults() -> None:
    borrower = seed_003_request().borrower.model_dump(mode="json")
    for absent in ("email", "marital_status", "nationality"):
        borrower.pop(absent)
    request = seed_003_request(borrower=borrower)
    client = wire(operation_request(request, BENEFIT, choose_product(TABLE, request), SIMULATED))["client"]
    assert (client["email"], client["marital_status"], client["profession"]) == ("", "", "")
    assert client["nationality"] == "Brasileiro"


def test_what_the_second_provider_cannot_take_is_named_up_front() -> None:
    representative = {
        **seed_003_request().borrower.model_dump(mode="json"),
        "cpf": "19125869086",
        "name": "CURADORA",
    }
    request = seed_003_request(
        product="refinancing",
        refinanced_operations=[{"operation_key": "4f32e501-212c-4129-8ac3-d9943b78583b"}],
        legal_representative=representative,
    )
    assert {p.request_field for p in unsupported(request)} == {"product", "legal_representative"}
    assert unsupported(seed_003_request()) == []
    assert not CAPABILITIES.webhooks and CAPABILITIES.installments == (84, 96)
    with pytest.raises(OperationMappingError):
        operation_request(request, BENEFIT, choose_product(TABLE, seed_003_request()), SIMULATED)


def test_a_missing_assistance_type_is_refused() -> None:
    benefit = BENEFIT.model_copy(update={"assistance_type": None})
    with pytest.raises(OperationMappingError) as caught:
        operation_request(seed_003_request(), benefit, choose_product(TABLE, seed_003_request()), SIMULATED)
    assert [p.field for p in caught.value.errors] == ["operation.assistance_type"]


def test_model_checks_surface_as_field_problems() -> None:
    request = with_financial(first_due_date="2025-12-01")
    with pytest.raises(OperationMappingError) as caught:
        operation_request(request, BENEFIT, choose_product(TABLE, request), SIMULATED)
    assert caught.value.errors[0].field == "operation"
    assert "first_due_date" in caught.value.errors[0].message
