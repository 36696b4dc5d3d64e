"""What the scrubbing leaves of a text that quotes a pensioner's data (domain.redaction)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from domain.redaction import REDACTED, redact, redact_provider_text, validation_summary

CPF = "52998224725"
NAME = "Maria Aparecida da Silva"


@pytest.mark.parametrize(
    "text",
    [
        f"cpf={CPF}",
        f"'{CPF}'",
        "CPF 529.982.247-25 refused",
        f"{{'document_number': '{CPF}'}}",
    ],
)
def test_a_cpf_in_any_usual_shape_is_redacted(text: str) -> None:
    redacted = redact(text)
    assert CPF not in redacted.replace(".", "").replace("-", "")
    assert REDACTED in redacted


def test_digits_inside_longer_tokens_stay() -> None:
    text = "LEG000041 event 123456789012 key 1a52998224725 took 52998224725123 ns"
    assert redact(text) == text


def test_pydantic_input_values_are_redacted_and_the_rest_kept() -> None:
    class Answer(BaseModel):
        amount: int

    with pytest.raises(ValidationError) as error:
        Answer.model_validate({"amount": NAME})
    text = str(error.value)
    assert NAME in text  # what pydantic says, before
    redacted = redact(text)
    assert NAME not in redacted
    assert "amount" in redacted and "int_parsing" in redacted and "input_type=str" in redacted
    # Cut short (a client keeps the first 200 characters), the value is still redacted to the end.
    assert NAME[:10] not in redact(text[: text.index(NAME) + 10])


def test_provider_text_loses_known_values_accounts_emails_and_quotes_but_keeps_codes_and_keys() -> None:
    key = "83920114-1234-4abc-8def-123456789012"
    text = (
        f"LEG000041 debt {key}: borrower {NAME.upper()} (maria@example.com) account 57555-0 "
        f"at branch 2874, holder 'Jose Silva', CPF {CPF}; '' should be non-empty in borrower.name"
    )
    redacted = redact_provider_text(text, known={NAME, "x"})
    for personal in (NAME.upper(), "maria@example.com", "57555", "Jose Silva", CPF):
        assert personal not in redacted
    for kept in ("LEG000041", key, "2874", "'' should be non-empty in borrower.name"):
        assert kept in redacted


def test_a_validation_summary_names_locations_and_types_never_the_input() -> None:
    class Party(BaseModel):
        name: str
        age: int

    class Answer(BaseModel):
        parties: list[Party]

    with pytest.raises(ValidationError) as error:
        Answer.model_validate({"parties": [{"name": 7, "age": NAME}]})
    summary = validation_summary(error.value)
    assert NAME not in summary
    assert "parties.0.name: string_type" in summary and "parties.0.age: int_parsing" in summary
