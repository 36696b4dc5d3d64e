"""How a person reads a loan's figures: money, rates, dates and stages, written the Brazilian way.

The one place every text a person reads takes them from — the Web UI's summary and current details,
``python -m starter``'s human output, and every rule's text — so an operator reads ``R$ 1.234,56``,
``1,85 % a.m.`` and ``08/12/2026`` wherever they look. Plain text only (no markdown): the Web UI's
markdown is added around these words by whoever renders it.

Dates are São Paulo's (the provider's and Dataprev's clock). Pure and deterministic: workflow code
calls it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from domain.calendar import SAO_PAULO

UNKNOWN = "-"
"""What a figure nobody knows yet reads as (never ``None``)."""

_SWAP = str.maketrans(",.", ".,")
_CENT = Decimal("0.01")
_RATE_PLACES = 6
"""The most decimals an exact rate shows (a rule text's rate beside its cap)."""

PER_MONTH = "a.m."
PER_YEAR = "a.a."

LAST_DISBURSEMENT_DAY = "último dia para desembolso"
"""How the provider's pages and operators name the disbursement window's last day."""


def number(value: Decimal | int, places: int = 2) -> str:
    """``1234.5`` → ``1.234,50``: dots group thousands, a comma before the decimals; half-up, as the provider rounds."""
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f}".translate(_SWAP)


def money(value: Decimal | None) -> str:
    """``R$ 1.234,56``; a negative amount ``-R$ 12,00``; ``-`` when unknown."""
    if value is None:
        return UNKNOWN
    sign = "-" if value < 0 else ""
    return f"{sign}R$ {number(abs(value))}"


def rate(fraction: Decimal | None, period: str = PER_MONTH, *, exact: bool = False) -> str:
    """A rate kept as a fraction (``0.0185``) as people read it: ``1,85 % a.m.`` (``a.a.`` yearly).

    Two decimals, half-up. ``exact`` (rule texts that compare a rate with its cap) keeps every decimal
    the rate has, up to six: ``0.01851`` reads ``1,851 % a.m.``, never its cap of ``1,85 % a.m.``.
    """
    if fraction is None:
        return UNKNOWN
    percent = (Decimal(fraction) * 100).normalize()
    exponent = percent.as_tuple().exponent
    places = min(_RATE_PLACES, max(2, -exponent if isinstance(exponent, int) else 2)) if exact else 2
    return f"{number(percent, places)} % {period}"


def rate_above_cap(monthly: Decimal, cap: Decimal) -> str:
    """The rule text of a monthly rate over its cap: ``monthly rate 1,99 % a.m. is above the cap of 1,85 % a.m.``"""
    return f"monthly rate {rate(monthly, exact=True)} is above the cap of {rate(cap, exact=True)}"


def day(value: date | datetime | None) -> str:
    """``08/12/2026``; a moment is read as its São Paulo day."""
    if value is None:
        return UNKNOWN
    if isinstance(value, datetime):
        value = value.astimezone(SAO_PAULO).date()
    return value.strftime("%d/%m/%Y")


def moment(value: datetime | None) -> str:
    """``02/12/2026 13:23 -03``: São Paulo time, its offset shown."""
    if value is None:
        return UNKNOWN
    return value.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M %Z")


def last_day_before(window_end: datetime) -> date:
    """The last São Paulo day inside a window kept as its first instant after (``end_of_day``)."""
    return (window_end - timedelta(microseconds=1)).astimezone(SAO_PAULO).date()


def last_disbursement_day(window_end: datetime | None) -> str:
    """``último dia para desembolso 08/12/2026`` for a window that ends at 09/12/2026 00:00."""
    return f"{LAST_DISBURSEMENT_DAY} {day(last_day_before(window_end)) if window_end else UNKNOWN}"


def installments(count: int | None, value: Decimal | None) -> str:
    """``84 x R$ 250,00``; ``installments of R$ 250,00`` when the count is unknown."""
    return f"{count} x {money(value)}" if count else f"installments of {money(value)}"


STAGE_NAMES: dict[str, str] = {
    "consultation": "consulting the benefit (IN100)",
    "simulation": "simulating with the provider",
    "eligibility": "checking eligibility",
    "issuance": "issuing the CCB",
    "documents": "sending the documents",
    "awaiting_documents": "waiting for valid documents",
    "awaiting_signature": "waiting for the borrower's signature",
    "signature_validation": "provider validating signature and documents",
    "margin_release": "waiting for the margin release (DDB + 90 days)",
    "averbacao": "averbação at Dataprev",
    "awaiting_beneficiary_confirmation": "waiting for the beneficiary to confirm the loan in Meu INSS (anuência)",
    "awaiting_collateral_correction": "averbação refused: waiting for an operator's correction",
    "awaiting_installment_reduction": "margin exceeded: waiting for an operator to reduce the installment",
    "balance_recheck": "averbação needs a new balance consultation",
    "disbursement": "waiting for the disbursement",
    "awaiting_reapresentacao": "payment refused: waiting for an operator's reapresentação",
    "proposal": "sending the portability proposal",
    "ctc_answer": "waiting for the CTC's answer to the portability",
    "consent": "waiting for the beneficiary's consent in Meu INSS",
    "origin_bank": "waiting for the origin bank's answer (balance or retention)",
    "payoff": "paying off the origin bank",
    "troco": "troco: the refinancing's averbação and disbursement",
    "closed": "closed",
}
"""What each stage (``workflows.loan.state.Stage``'s values) means, in words."""


def stage_name(stage: str) -> str:
    """The stage in words; a stage this table does not know yet reads as its own name."""
    return STAGE_NAMES.get(str(stage), str(stage))
