"""Provider errors as Temporal sees them: retryability and back-off come from the provider's answer."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from provider.errors import ProviderError

P = ParamSpec("P")
R = TypeVar("R")

INVALID_DOCUMENT = "InvalidDocument"
BUSINESS_ERROR = "ProviderBusinessError"


def as_application_error(error: ProviderError) -> ApplicationError:
    # Details carry the provider's code and description up to the workflow (e.g. LEG000041); the
    # message never includes a request body.
    return ApplicationError(
        str(error),
        error.details(),
        type=type(error).__name__,
        non_retryable=not error.retryable,
        next_retry_delay=timedelta(seconds=error.retry_after) if error.retry_after else None,
    )


def provider_errors(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await function(*args, **kwargs)
        except ProviderError as error:
            raise as_application_error(error) from None

    return wrapper


def invalid_document(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID_DOCUMENT, non_retryable=True)
