"""The provider's vocabularies the sandbox speaks, written here from the seeds and the published pages
(never imported from the client it stands in for: a double reading our enumerators could not disagree
with them). Each value cites where it is printed; a value no page prints is marked *assumed* (the
README's portability assumptions) — the client assumes it too, on its own, so a disagreement shows.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

# ---------------------------------------------------------------- new credit and refinancing


def _seed_table(seed: str, title: str) -> dict[str, str]:
    """A two-column table of a seed manual (a header row, a ``---|---`` rule, then ``a | b |`` rows under
    its title), read from the seed itself (spec/seeds, beside this repository's code): the sandbox and
    the client each take it from the manual, neither from the other."""
    [manual] = (Path(__file__).resolve().parents[2] / "spec" / "seeds").glob(f"{seed}_*.txt")
    lines = iter(manual.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if line.strip() == title:
            break
    rows: list[tuple[str, str]] = []
    for line in lines:
        found = re.fullmatch(r"\|?\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", line.strip())
        if found and not set(found[1]) <= set("-"):
            rows.append((found[1], found[2]))
        elif rows and not found:
            break
    if len(rows) < 2:
        raise RuntimeError(f"seed {seed} has no table {title!r}")
    return dict(rows[1:])  # the first row is the header


ASSISTANCE_TYPES = MappingProxyType(
    {int(code): name for code, name in _seed_table("004", "Tabela de benefícios").items()}
)
"""Seed 004 §12 "Tabela de benefícios" (the same in seed 002 §14): Dataprev's species code -> the
``assistance_type`` enumerator, spellings as printed. An issuance naming another is canceled
permanently after its signature (seed 004 §6)."""

ASSISTANCE_TYPE_NAMES = frozenset(ASSISTANCE_TYPES.values())

MARGIN_RELEASE_AFTER_DISBURSEMENT_END_DATE = "social_security_margin_release_after_disbursement_end_date"
"""Seed 004 §4: the cancel reason of a debt whose window ends inside the benefit's 90 days."""

MINIMUM_WAGE_INCREASE = "minimum_wage_increase"
"""Seed 004 §4 "Crédito Novo - Aumento Salarial": ``collateral_data.operation_category``."""

CONFIRMATION_CANCEL_REASONS = MappingProxyType(
    {
        "denied": "social_security_confirmation_denied_by_beneficiary",
        "expired": "social_security_confirmation_expired",
    }
)
"""Anuência (docs.qitech.com.br/documentation/guides/INSS/pending_confirmation): the debt's cancel
reason when the beneficiary refuses in Meu INSS, or the 5 calendar days pass."""

CONFIRMATION_DAYS = 5
"""Anuência: calendar days the beneficiary has to confirm in Meu INSS (the pending_confirmation page)."""


class PendingRequesterAction(StrEnum):
    """Seed 004 §7: an averbação waiting for the lender ("aguardando ação do parceiro"), each with the
    ``webhook_type`` its ``{"webhook": ...}`` envelope carries."""

    MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY = "margin_exceeded_for_new_beneficiary"
    MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE = "margin_exceeded_for_minimum_wage_increase"
    SUCCESS_BALANCE_REQUEST_NOT_FOUND = "success_balance_request_not_found"

    @property
    def webhook_type(self) -> str:
        return f"social_security_{self.value}"


# ---------------------------------------------------------------- portability + refinancing


class PortRefinWebhookType(StrEnum):
    PROPOSAL = "credit_transfer.proposal"  # the INSS status-machine page (maquinas-de-status)
    PROPOSAL_COLLATERAL = "credit_transfer.proposal.collateral"  # seed 002 §11: the portability leg's averbação
    PROPOSAL_CREDIT_OPERATION = "credit_transfer.proposal.credit_operation"  # *assumed*: each leg's status
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/webhook-autorizacao-de-portabilidade
    PORTABILITY_AUTHORIZATION = "credit_transfer.portability_authorization"
    ORIGIN_CONTRACT = "social_security_portability_origin_contract_request"  # seed 002 §12


class ProposalStatus(StrEnum):
    """``proposal_status``: pending_response and rejected on the INSS status-machine page,
    pending_acceptance and accepted on the Consignado Privado and taxa-máxima pages; retained, canceled,
    settlement_sent, pending_settlement_confirmation and paid *assumed*."""

    PENDING_RESPONSE = "pending_response"
    REJECTED = "rejected"
    PENDING_ACCEPTANCE = "pending_acceptance"
    ACCEPTED = "accepted"
    RETAINED = "retained"
    CANCELED = "canceled"
    SETTLEMENT_SENT = "settlement_sent"
    PENDING_SETTLEMENT_CONFIRMATION = "pending_settlement_confirmation"
    PAID = "paid"


class CreditOperationLeg(StrEnum):
    """A proposal's two operations, as its body names them and as the collateral path spells them
    (seed 002 §10); ``operation_type`` is how its webhooks name the same leg (seed 002 §11)."""

    PORTABILITY = "portability_credit_operation"
    REFINANCING = "refinancing_credit_operation"

    @property
    def operation_type(self) -> str:
        return "portability" if self is CreditOperationLeg.PORTABILITY else "refinancing"


class CreditOperationStatus(StrEnum):
    """A leg's ``credit_operation_status``: waiting_signature printed in seed 002 §13; the others
    *assumed*."""

    WAITING_SIGNATURE = "waiting_signature"
    SIGNED = "signed"
    DISBURSED = "disbursed"
    CANCELED = "canceled"


class PortabilityAuthorizationStatus(StrEnum):
    """pending_inclusion and awaiting_confirmation: the portability-authorization webhook and fura-fila
    pages; the outcomes' names (confirmed, expired, denied) *assumed*: the page listing them was not
    readable."""

    PENDING_INCLUSION = "pending_inclusion"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    DENIED = "denied"


CONSENT_DEADLINE_DAYS = 5
"""The portability-authorization page: ``expiration_date`` = the registration day + 5 calendar days."""

RETENTION_REASONS = MappingProxyType(_seed_table("002", "Enumeradores Retention Reason"))
"""Seed 002 §14 "Enumeradores Retention Reason" (the same on the published enumeradores page)."""


def retention_reason(value: str) -> str:
    """A scenario's retention reason, one of the published ones."""
    if value not in RETENTION_REASONS:
        raise ValueError(f"{value!r} is not a published retention reason (seed 002 §14)")
    return value
