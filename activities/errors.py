"""Provider errors as Temporal sees them: retryability and back-off come from the provider's answer.

A failure's message travels far: into the loan's history (encrypted), its state and current details
(served in clear by a query), the worker's log and the activity's span. So it is built from the
provider's code, the field locations and the error types, and whatever outside text it carries (a
provider's description, an exception's message) is scrubbed of the borrower's values, which the
activity's own input names (``personal_values``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, timedelta
from typing import ParamSpec, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from activities.qitech.errors import ProviderError
from domain.loan import Person
from domain.redaction import redact_provider_text, validation_summary
from workflows.loan.port import INVALID_DOCUMENT

P = ParamSpec("P")
R = TypeVar("R")


# Fields that hold a person's data wherever they appear (an account holder's name, a corrected CPF);
# everything inside a Person (borrower, legal representative) counts too.
_PERSONAL_FIELD = re.compile(r"(?:^|_)(?:name|cpf|email|account_number|street|document_number|phone)(?:$|_)")


def personal_values(*values: object) -> set[str]:
    """The personal strings inside activity inputs: what no failure message may repeat."""
    found: set[str] = set()

    def walk(value: object, personal: bool) -> None:
        if isinstance(value, BaseModel):
            personal = personal or isinstance(value, Person)
            for name in type(value).model_fields:
                walk(getattr(value, name), personal or bool(_PERSONAL_FIELD.search(name)))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, personal)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item, personal)
        elif personal and isinstance(value, date):
            found.update({value.isoformat(), value.strftime("%d/%m/%Y"), value.strftime("%d%m%Y")})
        elif personal and isinstance(value, str | int) and not isinstance(value, bool):
            found.add(str(value))

    for value in values:
        walk(value, False)
    return found


def as_application_error(error: ProviderError, *, personal: Iterable[str] = ()) -> ApplicationError:
    # Details carry the provider's code and description up to the workflow (e.g. LEG000041); the
    # message never includes a request body, and neither says back what ``personal`` holds.
    message, description = error.scrubbed(set(personal))
    return ApplicationError(
        message,
        {**error.details(), "description": description},
        type=type(error).__name__,
        non_retryable=not error.retryable,
        next_retry_delay=timedelta(seconds=error.retry_after) if error.retry_after else None,
    )


def scrubbed_failure(error: Exception, personal: Iterable[str] = ()) -> ApplicationError:
    """Any other exception out of an activity, as the SDK would report it (same type name, retryable),
    its message scrubbed: a pydantic error as locations and types, anything else as redacted text."""
    if isinstance(error, ValidationError):
        message = f"invalid data: {validation_summary(error)}"
    else:
        message = redact_provider_text(str(error), personal)
    failure = ApplicationError(message, type=type(error).__name__)
    # Where it failed (frames only: no values), for the log line and the failure's stack trace.
    return failure.with_traceback(error.__traceback__)


def provider_errors(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await function(*args, **kwargs)
        except ProviderError as error:
            raise as_application_error(error, personal=personal_values(*args, *kwargs.values())) from None
        except ApplicationError:
            raise  # ours, built without input values (invalid_document, refusals)
        except Exception as error:
            raise scrubbed_failure(error, personal_values(*args, *kwargs.values())) from None

    return wrapper


def invalid_document(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_DOCUMENT, non_retryable=True)
