"""The second provider's answers: the 400 body typed, the creation answer, the product table, statuses."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from activities.provider_b.errors import OperationNotFound, OperationRefused, classify, field_of, parse_error_body
from activities.provider_b.models import OperationCreated, OperationView, ProductTable
from activities.provider_b.status import SANDBOX_PATH, STATUS_TABLE, OperationPhase, meaning, normalize
from activities.qitech.errors import ProviderBusinessError, ProviderUnavailable
from tests.activities.provider_b import seed003


def test_the_seed_400_example_is_a_typed_error_naming_the_field() -> None:
    body = seed003.error_400()
    assert isinstance(body["data"], str)  # the error again, as a JSON string
    error = parse_error_body(body, status=400, path="/inss/v1/operation")
    assert isinstance(error, ProviderBusinessError) and not error.retryable
    assert error.code == "LEG000041"
    assert error.description == "'' should be non-empty in borrower.name"
    assert error.title == "Request Validator Error"
    assert error.translation == "Payload Invalido"
    assert error.field == "borrower.name"
    assert error.payload_field == "client.person_name"
    assert error.extra_fields == {}
    assert error.details()["field"] == "borrower.name"
    assert "LEG000041" in str(error)


def test_data_wins_and_the_clear_fields_fill_in() -> None:
    inner = {"code": "LEG000099", "description": "'x' is not valid in operation.cod_tabela"}
    body = {"data": json.dumps(inner), "title": "Outer", "code": "LEG000041", "translation": "Payload Invalido"}
    error = parse_error_body(body)
    assert (error.code, error.field, error.title, error.translation) == (
        "LEG000099",
        "operation.cod_tabela",
        "Outer",
        "Payload Invalido",
    )
    assert error.payload_field == "operation.cod_tabela"  # already ours: kept


def test_an_unreadable_data_string_falls_back_to_the_clear_fields() -> None:
    error = parse_error_body({"data": "{not json", "code": "LEG000041", "description": "bad in client.email"})
    assert (error.code, error.field) == ("LEG000041", "client.email")
    assert parse_error_body("plain text").code is None


@pytest.mark.parametrize(
    ("description", "field"),
    [
        ("'' should be non-empty in borrower.name", "borrower.name"),
        ("85 is not one of [84, 96] in operation.number_of_installments", "operation.number_of_installments"),
        ("bad value in collaterals[0].benefit_number.", "collaterals[0].benefit_number"),
        ("Payload invalido", None),
        (None, None),
    ],
)
def test_the_field_a_description_names(description: str | None, field: str | None) -> None:
    assert field_of(description) == field


def test_classification() -> None:
    body = json.dumps(seed003.error_400()).encode()
    assert isinstance(classify(400, body, {}, "/p"), OperationRefused)
    assert isinstance(classify(404, b"", {}, "/p"), OperationNotFound)
    unavailable = classify(503, b'{"code": "X", "description": "down"}', {"retry-after": "7"}, "/p")
    assert isinstance(unavailable, ProviderUnavailable) and unavailable.retryable
    assert unavailable.retry_after == 7 and unavailable.code == "X"
    assert classify(429, b"", {}, "/p").retryable  # type: ignore[union-attr]
    assert classify(201, b"{}", {}, "/p") is None


def test_the_creation_answer_keeps_the_seed_fields_and_any_other() -> None:
    answer = OperationCreated.model_validate(
        {
            "debt_key": "0b6f6a4e-0000-4000-8000-000000000001",
            "link_form": "https://formalizacao.example/abc",
            "num_contrato": "0142115893/T",
            "dsc_situacao_emprestimo": "AGUARDANDO FORMALIZAÇÃO",
            "id_proposta": 991,
        }
    )
    assert set(seed003.success_fields()) <= set(OperationCreated.model_fields)
    assert answer.num_contrato == "0142115893/T"
    assert answer.model_extra == {"id_proposta": 991}
    assert answer.meaning().phase == OperationPhase.AWAITING_SIGNATURE


def test_a_number_where_text_is_expected_is_kept_as_text() -> None:
    view = OperationView.model_validate({"debt_key": 123, "dsc_situacao_emprestimo": "PAGO", "num_contrato": 142115893})
    assert view.debt_key == "123" and view.num_contrato == "142115893"
    assert view.meaning().outcome == "completed"


def test_the_product_table_in_its_assumed_shapes() -> None:
    bare = ProductTable.model_validate(
        [
            {
                "cod_tabela": 200010,
                "description": "INSS 84",
                "number_of_installments": [84],
                "monthly_interest_rate": 0.0179,
            }
        ]
    )
    product = bare.products[0]
    assert product.cod_tabela == "200010" and product.allows(84) and not product.allows(96)
    assert product.monthly_interest_rate == Decimal("0.0179")
    wrapped = ProductTable.model_validate(
        {"data": [{"cod_tabela": "200030", "descricao": "INSS", "prazos": "84,96", "taxa_mensal": "1,66"}], "page": 1}
    )
    [other] = wrapped.products
    assert other.description == "INSS" and other.number_of_installments == [84, 96]
    assert other.monthly_interest_rate == Decimal("0.0166")
    assert wrapped.model_extra == {"page": 1}
    assert wrapped.get("200030") is other and wrapped.get("nope") is None
    single = ProductTable.model_validate({"produtos": [{"cod_tabela": "1", "parcelas": 96, "campo_novo": "x"}]})
    assert single.products[0].number_of_installments == [96]
    assert single.products[0].model_extra == {"campo_novo": "x"}


@pytest.mark.parametrize(
    ("raw", "phase"),
    [
        ("AGUARDANDO FORMALIZAÇÃO", OperationPhase.AWAITING_SIGNATURE),
        ("aguardando_formalizacao", OperationPhase.AWAITING_SIGNATURE),
        ("Em Análise", OperationPhase.SIGNATURE_VALIDATION),
        ("EM AVERBAÇÃO", OperationPhase.AVERBACAO),
        ("AGUARDANDO  PAGAMENTO", OperationPhase.DISBURSEMENT),
        ("PAGO", OperationPhase.DISBURSED),
        ("Liquidado", OperationPhase.DISBURSED),
        ("CANCELADO", OperationPhase.CANCELED),
        ("reprovado", OperationPhase.CANCELED),
    ],
)
def test_status_vocabulary(raw: str, phase: OperationPhase) -> None:
    meant = meaning(raw)
    assert meant.phase == phase and meant.known and meant.raw == raw
    assert meant.final == (phase in (OperationPhase.DISBURSED, OperationPhase.CANCELED))


def test_ends_say_their_outcome() -> None:
    assert meaning("PAGO").outcome == "completed"
    assert meaning("REPROVADO").outcome == "canceled"
    assert meaning("EM AVERBAÇÃO").outcome is None


def test_an_unknown_status_is_kept_flagged_and_never_an_end() -> None:
    for raw in ("PENDENTE DOCUMENTACAO NOVA", "", None):
        meant = meaning(raw)
        assert meant.phase == OperationPhase.UNKNOWN and not meant.known and not meant.final
        assert meant.outcome is None
    assert meaning("PENDENTE DOCUMENTACAO NOVA").raw == "PENDENTE DOCUMENTACAO NOVA"


def test_the_table_is_normalized_and_the_sandbox_path_is_in_it() -> None:
    assert all(normalize(key) == key for key in STATUS_TABLE)
    phases = [meaning(s).phase for s in SANDBOX_PATH]
    assert phases == [
        OperationPhase.AWAITING_SIGNATURE,
        OperationPhase.SIGNATURE_VALIDATION,
        OperationPhase.AVERBACAO,
        OperationPhase.DISBURSEMENT,
        OperationPhase.DISBURSED,
    ]
