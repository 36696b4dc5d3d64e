"""The second sandbox's own reading of what seed 003's provider accepts and refuses, without HTTP: the
seed's payload as printed is accepted; what the seed says is refused comes back as LEG000041 in its words,
naming the field as the provider's validator does (``borrower.name``)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from devtools.sandbox_b import manual
from devtools.sandbox_b.models import OperationRequest, Refusal, SimulationRequest, parse
from tests.activities.provider_b import seed003


def _payload(**operation: Any) -> Any:
    body = copy.deepcopy(seed003.payload())
    body["operation"].update(operation)
    return body


def _refused(body: Any, model: type = OperationRequest) -> Refusal:
    with pytest.raises(Refusal) as refused:
        parse(model, body)
    assert (refused.value.status, refused.value.code) == (400, "LEG000041")
    return refused.value


def test_the_seeds_payload_as_printed_is_accepted() -> None:
    request: OperationRequest = parse(OperationRequest, seed003.payload())
    assert request.operation.in100 is True
    assert request.operation.benefit_number == "2052711150"  # a JSON number in the seed
    assert request.operation.issue_amount == Decimal("12444.67")
    assert request.client.profession == "" and request.client.complement == ""  # empty in the seed


def test_what_the_seed_does_not_speak_of_is_tolerated() -> None:
    body = _payload(in100=False, issue_amount="12444.67", something_new="kept out")
    del body["operation"]["IN100"]  # observação 3 spells it in100
    request: OperationRequest = parse(OperationRequest, body)
    assert request.operation.in100 is False and request.operation.issue_amount == Decimal("12444.67")


def test_the_seeds_own_refusal_in_its_words() -> None:
    body = _payload()
    body["client"]["person_name"] = ""
    refused = _refused(body)
    assert refused.description == "'' should be non-empty in borrower.name"
    assert refused.body() == seed003.error_400()


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"number_of_installments": 72}, "72 is not one of [84, 96] in operation.number_of_installments"),
        ({"simulation_type": "rate"}, "in operation.simulation_type"),
        ({"disbursed_amount": None}, "in operation.disbursed_amount"),  # observação: both amounts
    ],
)
def test_what_the_seed_refuses(change: dict[str, Any], description: str) -> None:
    body = _payload(**change)
    body["operation"] = {k: v for k, v in body["operation"].items() if v is not None}
    assert _refused(body).description.endswith(description)


def test_a_wrong_cpf_is_refused_without_echoing_it() -> None:
    body = _payload()
    body["client"]["document_number"] = "12345678900"
    refused = _refused(body)
    assert refused.description == "is not a valid CPF in borrower.individual_document_number"
    assert "12345678900" not in str(refused.body())


def test_a_missing_client_field_is_named_in_the_providers_model() -> None:
    body = _payload()
    del body["client"]["mother_name"]
    assert _refused(body).description == "'mother_name' is a required property in borrower.mother_name"
    body = _payload()
    body["client"]["bank_account"]["account_number"] = ""
    assert _refused(body).description == "'' should be non-empty in borrower.bank_account.account_number"


def test_a_simulation_must_give_the_value_it_fixes() -> None:
    body = {
        "simulation_type": "disbursed_amount",
        "cod_tabela": "200010",
        "number_of_installments": 84,
        "first_due_date": "2026-01-26",
        "disbursement_date": "2025-12-03",
        "installment_face_value": 300,
    }
    request: SimulationRequest = parse(SimulationRequest, body)
    assert request.fixed() is None  # the sandbox refuses it when pricing (operation.disbursed_amount)
    assert manual.provider_path(("operation", "cod_tabela")) == "operation.cod_tabela"
