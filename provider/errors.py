"""How a provider answer is classified, which the activities' retry policies rely on.

Retryable: connection errors, timeouts, 5xx, 429, and Dataprev's gateway suspension
("AM 303001 Runtime Error [State: SUSPENDED]", seed 000: wait 30 s before trying again).
Not retryable: 400/404/409/412/422 business errors, carrying the provider's code and description
(e.g. LEG000041 "'' should be non-empty in borrower.name", seed 003).
"""

from __future__ import annotations

SUSPENDED_MARKERS = ("AM 303001", "State: SUSPENDED")
SUSPENDED_BACKOFF_SECONDS = 30.0


class ProviderError(Exception):
    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
        retry_after: float | None = None,
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.path = path

    def details(self) -> dict[str, object]:
        return {
            "status": self.status,
            "code": self.code,
            "description": self.description,
            "path": self.path,
            "retryable": self.retryable,
        }


class ProviderUnavailable(ProviderError):
    """Network failure, timeout, 5xx or 429: try again later."""


class ProviderSuspended(ProviderUnavailable):
    """Dataprev's gateway suspended the API for 30 s (seed 000)."""


class ProviderAuthError(ProviderError):
    """Credentials refused even after a fresh token. Retryable: an operator can fix the secret
    while the loan waits, which beats failing every loan in flight."""


class ProviderBusinessError(ProviderError):
    """The provider refused the request itself (400/404/409/412/422): repeating it changes nothing."""

    retryable = False
