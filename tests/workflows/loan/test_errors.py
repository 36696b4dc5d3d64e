"""Activity failures carry codes, locations and types, never the borrower's values (loan.errors): what
the provider_errors decorator makes of a provider refusal, a pydantic error and any other exception."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from activities.errors import personal_values, provider_errors
from activities.qitech.errors import ProviderBusinessError, ProviderUnavailable
from tests.support.loans import loan_request
from workflows.loan.activity_models import CorrectionInput, IssueInput


def _issue_input() -> IssueInput:
    return IssueInput(loan_id="loan-x", request=loan_request(), assistance_type=None)


def _personal(issue: IssueInput) -> list[str]:
    borrower, account = issue.request.borrower, issue.request.disbursement_accounts[0]
    return [borrower.name, borrower.cpf, borrower.mother_name, borrower.address.street, account.account_number]


async def _failure(raised: Exception, argument: Any) -> ApplicationError:
    @provider_errors
    async def activity(_: Any) -> None:
        raise raised

    with pytest.raises(ApplicationError) as failed:
        await activity(argument)
    return failed.value


def test_the_personal_values_of_an_input_are_the_persons_and_the_accounts() -> None:
    issue = _issue_input()
    found = personal_values(issue)
    assert set(_personal(issue)) <= found
    assert issue.request.request_key not in found and "new_credit" not in found
    correction = CorrectionInput.model_validate(
        {"debt_key": "d", "fix": {"name": "Maria S"}, "account_holder_name": "Ana", "account_holder_cpf": "x1"}
    )
    assert {"Maria S", "Ana", "x1"} <= personal_values(correction)


async def test_a_provider_refusal_that_names_the_borrower_unquoted_keeps_only_its_code() -> None:
    issue = _issue_input()
    borrower = issue.request.borrower
    description = f"borrower {borrower.name.upper()} born in {borrower.address.city} is not allowed"
    failure = await _failure(
        ProviderBusinessError(
            f"provider refused /debt: LEG000099 {description}", code="LEG000099", description=description
        ),
        issue,
    )
    assert failure.type == "ProviderBusinessError" and failure.non_retryable
    details = failure.details[0]
    assert details["code"] == "LEG000099" and "is not allowed" in details["description"]
    text = f"{failure.message} {details}"
    assert borrower.name.upper() not in text and borrower.address.city not in text
    assert "LEG000099" in failure.message


async def test_a_pydantic_error_names_locations_and_types_and_stays_retryable() -> None:
    class Answer(BaseModel):
        installments: int

    issue = _issue_input()
    try:
        Answer.model_validate({"installments": issue.request.borrower.name})
    except ValueError as error:
        failure = await _failure(error, issue)
    assert failure.type == "ValidationError" and not failure.non_retryable
    assert failure.message.startswith("invalid data: installments: int_parsing")
    assert issue.request.borrower.name not in failure.message
    assert failure.__traceback__ is not None  # where it failed is kept, for the log line


async def test_any_other_error_keeps_its_type_and_loses_the_values() -> None:
    issue = _issue_input()
    failure = await _failure(RuntimeError(f"no such borrower {issue.request.borrower.cpf}"), issue)
    assert failure.type == "RuntimeError" and not failure.non_retryable
    assert issue.request.borrower.cpf not in failure.message and "no such borrower" in failure.message


async def test_a_retryable_provider_error_keeps_its_back_off() -> None:
    failure = await _failure(ProviderUnavailable("provider answered 503", status=503, retry_after=7.0), _issue_input())
    assert not failure.non_retryable and failure.next_retry_delay is not None
    assert failure.next_retry_delay.total_seconds() == 7.0
