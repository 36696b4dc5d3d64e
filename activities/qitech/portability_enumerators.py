"""The provider's enumerators of the Port+Refin flow (portability of an INSS loan from another bank,
optionally refinanced for a *troco*): webhook types, the proposal's, the legs' and the consent's
statuses, the CTC rejections and the origin bank's retention reasons.

Sources: seed 002 (the lender's "Port+Refin INSS" reference) first; where it is silent, the
provider's public pages, cited per value. A value marked *assumed* is named nowhere we could read:
it lives here only, and every inbound model reads these enums open (an unknown value is kept as
``Unknown``), so a wrong guess is flagged, never fatal. The Dataprev averbação table with the
lender's action for Port+Refin is Dataprev's vocabulary, not the provider's: ``domain.inss``.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from activities.qitech.enumerators import RETENTION_REASONS


class PortRefinWebhookType(StrEnum):
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/maquinas-de-status
    PROPOSAL = "credit_transfer.proposal"
    # Seed 002 §11: the portability leg's averbação attempts (the refinancing leg's use the
    # new-credit ``credit_operation.collateral``, keyed by the leg's credit operation key).
    PROPOSAL_COLLATERAL = "credit_transfer.proposal.collateral"
    # Each leg's status (the troco's disbursement): named by public lender code, not by a page we
    # could read (README, portability assumptions).
    PROPOSAL_CREDIT_OPERATION = "credit_transfer.proposal.credit_operation"
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/webhook-autorizacao-de-portabilidade
    PORTABILITY_AUTHORIZATION = "credit_transfer.portability_authorization"
    # Seed 002 §12 (delivered inside a {"webhook": {...}} envelope, keyed by ``key``).
    ORIGIN_CONTRACT = "social_security_portability_origin_contract_request"


PROPOSAL_KEYED_WEBHOOK_TYPES = frozenset(
    {
        PortRefinWebhookType.PROPOSAL.value,
        PortRefinWebhookType.PROPOSAL_COLLATERAL.value,
        PortRefinWebhookType.PROPOSAL_CREDIT_OPERATION.value,
        PortRefinWebhookType.PORTABILITY_AUTHORIZATION.value,
    }
)
"""Webhooks identified by ``proposal_key`` (no ``key`` field): the key a loan routes them by."""


class ProposalStatus(StrEnum):
    """``proposal_status`` of ``credit_transfer.proposal``.

    pending_response and rejected: the INSS status-machine page (maquinas-de-status §7.1). The
    others: the Consignado Privado pages of the same API (documentation/manual_consignado_privado/
    portabilidade/mocks_sandbox) and public lender code (README, portability assumptions).
    """

    PENDING_SUBMISSION = "pending_submission"
    PENDING_RESPONSE = "pending_response"  # sent to the CTC (CIP)
    REJECTED = "rejected"  # refused by the CTC: data.error
    PENDING_ACCEPTANCE = "pending_acceptance"  # the CTC issued the portability number (NU)
    ACCEPTED = "accepted"  # the origin bank's balance arrived: data.final_due_balance, original_contract
    RETAINED = "retained"  # the origin bank kept the client: data.retained_reason
    CANCELED = "canceled"
    SETTLEMENT_SENT = "settlement_sent"  # the payoff left for the origin bank: data.receipt
    PENDING_SETTLEMENT_CONFIRMATION = "pending_settlement_confirmation"
    PAID = "paid"  # the origin bank confirmed the payoff


FINAL_PROPOSAL_STATUSES = frozenset(
    {ProposalStatus.REJECTED, ProposalStatus.RETAINED, ProposalStatus.CANCELED, ProposalStatus.PAID}
)
"""After these the proposal changes no more (paid: the legs' averbação may still be under way)."""


class CreditOperationType(StrEnum):
    """``credit_operation_type`` in the proposal's webhooks (seed 002 §11)."""

    PORTABILITY = "portability"
    REFINANCING = "refinancing"


class CreditOperationLeg(StrEnum):
    """The two operations of a proposal, as the path parameter ``credit-operation-type`` spells
    them (seed 002 §10) and as the proposal body names its objects."""

    PORTABILITY = "portability_credit_operation"
    REFINANCING = "refinancing_credit_operation"

    @property
    def operation_type(self) -> CreditOperationType:
        if self is CreditOperationLeg.PORTABILITY:
            return CreditOperationType.PORTABILITY
        return CreditOperationType.REFINANCING


class CreditOperationStatus(StrEnum):
    """``credit_operation_status`` of a leg. waiting_signature: seed 002 §13; disbursed and canceled:
    public lender code (README, portability assumptions). ``signed`` is *assumed* (the leg's status
    after its signature; the debt state machine's names are not confirmed for legs)."""

    WAITING_SIGNATURE = "waiting_signature"
    SIGNED = "signed"
    DISBURSED = "disbursed"
    CANCELED = "canceled"


class PortabilityAuthorizationStatus(StrEnum):
    """``portability_authorization_status``: the beneficiary's consent at Dataprev (Meu INSS).

    pending_inclusion and awaiting_confirmation are published (docs.qitech.com.br/documentation/guides/
    INSS/portability+refinancing/webhook-autorizacao-de-portabilidade: ``expiration_date`` "preenchido a
    partir de awaiting_confirmation"; .../fura-fila-da-autorizacao-da-portabilidade: "com a autorização em
    pending_inclusion, o endpoint tenta o registro"). confirmed, expired and denied are *assumed* names
    for the outcomes the pages describe (confirmed in Meu INSS, the 5-day deadline passed, refused): the
    page listing them ("Anuência do beneficiário na portabilidade") could not be read.
    """

    PENDING_INCLUSION = "pending_inclusion"  # registration at Dataprev not done yet: no deadline yet
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    DENIED = "denied"


CONSENT_DEADLINE_DAYS = 5
"""The beneficiary confirms within the registration day + 5 calendar days (docs.qitech.com.br/
documentation/guides/INSS/portability+refinancing/webhook-autorizacao-de-portabilidade)."""


class RetentionReason(StrEnum):
    """Seed 002 §14 "Enumeradores Retention Reason": why the origin bank retained the client."""

    ISSUER_RETENTION = "issuer_retention"
    DIFFERENT_FROM_ORIGINAL = "different_from_original"
    ISSUER_LAWSUIT = "issuer_lawsuit"
    INSURANCE_IN_PROGRESS = "insurance_in_progress"
    COLLATERAL_IN_EXECUTION = "collateral_in_execution"
    CONTRACT_NOT_FOUND = "contract_not_found"
    INVALID_CONTRACT_TYPE = "invalid_contract_type"
    PORTABILITY_IN_PROGRESS = "portability_in_progress"
    ASSIGNED_CONTRACT = "assigned_contract"
    ISSUER_DOCUMENT_NUMBER_INVALID = "issuer_document_number_invalid"
    UNRELATED_ISSUER_DOCUMENT_NUMBER = "unrelated_issuer_document_number"
    ASSIGNED_WITHOUT_CO_OBLIGATION = "assigned_without_co_obligation"
    FGTS_IN_USE = "fgts_in_use"
    FGTS_FUNDING = "fgts_funding"
    PORTABILITY_NOT_REQUESTED = "portability_not_requested"
    WRONG_ORIGINAL_FINANCIAL_INSTITUTION = "wrong_original_financial_institution"

    @property
    def description(self) -> str:
        return RETENTION_REASONS[self.value]


class CtcRejectionReason(StrEnum):
    """Why the CTC refused a proposal (maquinas-de-status §7.1.1, only the start of the table was
    readable; the rest arrive as Unknown)."""

    PORTABILITY_IN_PROGRESS = "portability_in_progress"
    PORTABILITY_FINISHED = "portability_finished"
    PORTABILITY_IN_EXPIRATION_PROGRESS = "portability_in_expiration_progress"


CTC_REJECTION_CODES: MappingProxyType[str, CtcRejectionReason] = MappingProxyType(
    {
        "ECTC0023": CtcRejectionReason.PORTABILITY_IN_PROGRESS,
        "ECTC0028": CtcRejectionReason.PORTABILITY_FINISHED,
    }
)
"""``data.error.code`` (the table's ``external_code``) → reason; the expiration case's code was cut off."""


class OriginContractRequestType(StrEnum):
    PORTABILITY_NUMBER = "portability_number"  # seed 002 §12, the only one printed


class OriginPortabilityStatus(StrEnum):
    OPEN = "open"  # seed 002 §12, the only value printed


__all__ = [
    "CONSENT_DEADLINE_DAYS",
    "CTC_REJECTION_CODES",
    "FINAL_PROPOSAL_STATUSES",
    "PROPOSAL_KEYED_WEBHOOK_TYPES",
    "CreditOperationLeg",
    "CreditOperationStatus",
    "CreditOperationType",
    "CtcRejectionReason",
    "OriginContractRequestType",
    "OriginPortabilityStatus",
    "PortRefinWebhookType",
    "PortabilityAuthorizationStatus",
    "ProposalStatus",
    "RetentionReason",
]
