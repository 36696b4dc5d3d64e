"""A start read by the loan itself (workflows.loan.admission): the input or a caller's bare request,
and a start that cannot be read named field by field, without echoing what it held."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.calendar import SAO_PAULO
from tests.support.data import make_cpf
from tests.support.loans import loan_request
from workflows.loan.admission import read_start, request_problems

DAY = date(2027, 3, 10)  # a Wednesday; the request's dates are set around it


def _request_json() -> dict[str, Any]:
    request = loan_request(disbursement=DAY + timedelta(days=1))
    body: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
    return body


def test_a_bare_request_is_read_as_the_loans_request() -> None:
    body = _request_json()
    read = read_start(body, "loan-whatever")
    assert read.readable and read.loan.request.request_key == body["request_key"]
    assert read.loan.provider is None and read.loan.rules is None and read.loan.carried is None


def test_the_full_input_is_read_as_before() -> None:
    body = _request_json()
    read = read_start({"request": body}, "loan-whatever")
    assert read.readable and read.loan.request.request_key == body["request_key"]


def test_an_unreadable_request_names_each_field_in_the_callers_terms_and_echoes_nothing() -> None:
    body = _request_json()
    borrower = dict(body["borrower"])
    cpf = make_cpf(1)  # one CPF (each call draws another), its last check digit made wrong
    wrong_cpf = cpf[:-1] + str((int(cpf[-1]) + 1) % 10)
    borrower["cpf"] = wrong_cpf
    del borrower["name"]
    read = read_start({**body, "borrower": borrower}, "loan-x")
    assert not read.readable
    fields = sorted(error.field for error in read.errors)
    assert fields == ["borrower.cpf", "borrower.name"]  # the caller's paths, not "request.borrower..."
    assert all(wrong_cpf not in str(error) for error in read.errors)
    # The loan still has a name: the request's own key.
    assert read.loan.request.request_key == body["request_key"]


def test_a_start_that_is_not_a_request_at_all_is_named_by_its_workflow_id() -> None:
    read = read_start(["not", "an", "object"], "loan-abc12345-from-go")
    assert not read.readable
    assert read.loan.request.request_key == "abc12345-from-go"


def test_what_json_schema_cannot_say_is_checked_on_the_day_the_loan_starts() -> None:
    late = loan_request(disbursement=DAY - timedelta(days=1))
    term = late.authorization_term.model_copy(update={"signed_at": datetime(2027, 2, 7, 10, 0, tzinfo=SAO_PAULO)})
    request = late.model_copy(update={"authorization_term": term})  # signed 31 days before
    problems = {error.field: error.message for error in request_problems(request, DAY)}
    assert problems == {
        "financial.disbursement_date": "2027-03-09 is in the past",
        "authorization_term.signed_at": "the term is valid 30 days after signing",
    }
    fine = loan_request(disbursement=DAY)
    term = fine.authorization_term.model_copy(update={"signed_at": datetime(2027, 3, 1, 10, 0, tzinfo=SAO_PAULO)})
    assert request_problems(fine.model_copy(update={"authorization_term": term}), DAY) == []
