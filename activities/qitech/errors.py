"""How a provider answer is classified, which the activities' retry policies rely on.

Retryable: connection errors, timeouts, 5xx, 429, and Dataprev's gateway suspension
("AM 303001 Runtime Error [State: SUSPENDED]", seed 000: wait 30 s before trying again).
Not retryable: 400/404/409/412/422 business errors, carrying the provider's code and description
(e.g. LEG000041 "'' should be non-empty in borrower.name", seed 003).

Nothing personal leaves in an error: its message and the provider's description travel into the
loan's failure, its state (served in clear by a query), logs and spans, and a provider may quote the
request back (a name, a CPF, an account) in a description, a non-JSON error page or a 2xx we
cannot read. Both are scrubbed here, where every provider error is made; the activities scrub again
with the values they know are the borrower's (loan.errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypedDict, Unpack

from domain.redaction import redact_provider_text

SUSPENDED_MARKERS = ("AM 303001", "State: SUSPENDED")
SUSPENDED_BACKOFF_SECONDS = 30.0


class ErrorFields(TypedDict, total=False):
    """What a provider's answer says beside the message (a subclass's ``**fields``)."""

    status: int | None
    code: str | None
    description: str | None
    retry_after: float | None
    path: str
    unanswered: str | None


class ProviderError(Exception):
    retryable: bool = True
    DETAILS: ClassVar[tuple[str, ...]] = ("status", "code", "description", "path", "retryable")

    def __init__(self, message: str, **fields: Unpack[ErrorFields]) -> None:
        super().__init__(redact_provider_text(message))
        self.status = fields.get("status")
        self.unanswered = fields.get("unanswered")
        """Why no answer came, when none did: ``TIMED_OUT`` (the request may have reached the provider) or
        ``UNREACHABLE`` (the connection failed or was dropped); None when the provider answered."""
        self.code = fields.get("code")
        description = fields.get("description")
        self.description = redact_provider_text(description) if description else description
        self.retry_after = fields.get("retry_after")
        self.path = fields.get("path", "")

    def details(self) -> dict[str, object]:
        """What travels with the failure to the workflow (no message: it is the failure's own)."""
        return {name: getattr(self, name) for name in self.DETAILS}

    def scrubbed(self, known: set[str]) -> tuple[str, str | None]:
        """(message, description) without the ``known`` personal values either."""
        description = redact_provider_text(self.description, known) if self.description else self.description
        return redact_provider_text(str(self), known), description


TIMED_OUT = "timeout"
UNREACHABLE = "unreachable"


class ProviderUnavailable(ProviderError):
    """Network failure, timeout, 5xx or 429: try again later."""


class ProviderSuspended(ProviderUnavailable):
    """Dataprev's gateway suspended the API for 30 s (seed 000)."""


class ProviderAuthError(ProviderError):
    """The provider refused our request signature or API client key, or none is configured. Retryable:
    an operator can fix the secret while the loan waits, which beats failing every loan in flight."""


class ProviderBusinessError(ProviderError):
    """The provider refused the request itself (400/404/409/412/422): repeating it changes nothing."""

    retryable = False


def refused_by_status(
    status: int, headers: Mapping[str, str] | None, path: str, *, code: str | None, description: str | None
) -> ProviderError | None:
    """What a 429 or 5xx (try again, after the answer's ``Retry-After``) and a 401/403 (authorization)
    mean from any provider; None for other statuses, which only the provider's own body explains."""
    if status == 429 or status >= 500:
        retry_after = headers.get("retry-after") if headers is not None else None
        return ProviderUnavailable(
            f"provider answered {status} on {path}",
            status=status,
            code=code,
            description=description,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            path=path,
        )
    if status in (401, 403):
        return ProviderAuthError(f"provider refused authorization ({status}) on {path}", status=status, path=path)
    return None


ALREADY_DONE_CODES: dict[str, frozenset[str]] = {
    # What the provider answers when the change an action makes is already in place — what a retry
    # meets when its first attempt succeeded and the answer was lost. ASSUMED (the seeds print no
    # such codes; these are the sandbox's): one place to change them, listed in the README.
    "confirm_balance_request": frozenset({"COL000020"}),  # not waiting for a balance request any more
    "correct_collateral": frozenset({"COL000010"}),  # the collateral is past correction
    "change_disbursement_date": frozenset({"DBT000040"}),  # no refused payment left to present again
    "cancel_permanently": frozenset({"DBT000051"}),  # already canceled permanently
}
