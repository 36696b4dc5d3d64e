"""Portability + refinancing (Port+Refin, seed 002): the proposal, its answer, the CTC participants,
the origin-contract query, the last response of each leg, the installment reduction, each leg's
signature, and the webhooks of the flow.

Requests are strict (``OutboundModel``); answers and webhooks tolerant (``InboundModel``: unknown
fields kept, enumerators open). Seed 002 prints the auxiliary calls (§9-§13); the proposal itself
is on the provider's public pages, of which only the openings were readable, so its body follows
the field names a lender's public integration sends (README, portability assumptions) — each such
choice is commented where it is made.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, RootModel, model_validator

from activities.qitech.enumerators import ConsultationStatus, InterestBase
from activities.qitech.models.debt import (
    Borrower,
    Collateral,
    CollateralWebhookData,
    LegalRepresentative,
)
from activities.qitech.models.simulation import MAX_INSTALLMENTS_ACCEPTED, DisbursementOption, FineConfiguration
from activities.qitech.portability_enumerators import (
    CTC_REJECTION_CODES,
    CreditOperationLeg,
    CreditOperationStatus,
    CreditOperationType,
    CtcRejectionReason,
    OriginContractRequestType,
    OriginPortabilityStatus,
    PortabilityAuthorizationStatus,
    ProposalStatus,
    RetentionReason,
)
from activities.tolerant import InboundModel, LenientDate, LenientDatetime, OutboundModel, Unknown, open_enum_validator
from domain.documents import Cnpj, Cpf
from domain.fields import BankCode, NonEmptyStr, PositiveMoney, Rate, digits
from domain.loan import SignatureEvidence

PORTABILITY_NUMBER = r"^\d{21}$"
"""The CTC's portability number (NU): 21 digits, a date and a sequence (every NU printed is)."""

ProposalStatusField = Annotated[ProposalStatus | Unknown, open_enum_validator(ProposalStatus)]
LegStatusField = Annotated[CreditOperationStatus | Unknown, open_enum_validator(CreditOperationStatus)]
OperationTypeField = Annotated[CreditOperationType | Unknown, open_enum_validator(CreditOperationType)]
ConsultationStatusField = Annotated[ConsultationStatus | Unknown, open_enum_validator(ConsultationStatus)]

# ---------------------------------------------------------------- outbound: the proposal


def _exactly(names: tuple[str, ...], count: int, model: Any) -> None:
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != count:
        raise ValueError(f"give exactly {count} of {', '.join(names)} (got {', '.join(given) or 'none'})")


class PortabilityFinancial(OutboundModel):
    """``portability_credit_operation.financial``: the ported balance is the origin bank's (it answers
    with it), so the lender fixes the installment *or* the rate and the other follows."""

    first_due_date: date
    number_of_installments: Annotated[int, Field(ge=1, le=MAX_INSTALLMENTS_ACCEPTED)]
    installment_face_value: PositiveMoney | None = None
    monthly_interest_rate: Rate | None = None
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=60)] | None = None

    @model_validator(mode="after")
    def _one(self) -> PortabilityFinancial:
        _exactly(("installment_face_value", "monthly_interest_rate"), 1, self)
        return self


class PortabilityCreditOperation(OutboundModel):
    financial: PortabilityFinancial
    contract_number: NonEmptyStr | None = None  # the lender's number for the new contract


class RefinancingFinancial(OutboundModel):
    """``refinancing_credit_operation.financial`` (the troco): two of installment, rate and disbursed
    amount, the third computed, as in a new-credit simulation. interest_type, credit_operation_type
    and fine_configuration are the refinancing correction's fields (docs.qitech.com.br/documentation/
    guides/INSS/portability+refinancing/correcao-de-dados); left out unless given."""

    first_due_date: date
    number_of_installments: Annotated[int, Field(ge=1, le=MAX_INSTALLMENTS_ACCEPTED)]
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=60)]
    installment_face_value: PositiveMoney | None = None
    monthly_interest_rate: Rate | None = None
    disbursed_amount: PositiveMoney | None = None
    interest_type: Literal["pre_price_days"] | None = None
    credit_operation_type: Literal["ccb"] | None = None
    fine_configuration: FineConfiguration | None = None

    @model_validator(mode="after")
    def _two(self) -> RefinancingFinancial:
        _exactly(("installment_face_value", "monthly_interest_rate", "disbursed_amount"), 2, self)
        return self


class TrocoAccount(OutboundModel):
    """Where the troco goes: ``refinancing_credit_operation.disbursement_bank_account`` (one account,
    singular, as a lender's public integration sends it)."""

    name: NonEmptyStr
    document_number: Cpf
    bank_code: BankCode
    ispb: Annotated[str, Field(pattern=r"^\d{8}$")] | None = None
    branch_number: Annotated[str, digits((1, 5), "branch_number")]
    account_number: Annotated[str, digits((1, 20), "account_number")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    account_type: Literal["checking_account", "savings_account", "payment_account"] = "checking_account"
    transfer_method: Literal["ted", "pix"] = "ted"


class RefinancingCreditOperation(OutboundModel):
    financial: RefinancingFinancial
    disbursement_bank_account: TrocoAccount
    contract_number: NonEmptyStr | None = None


class OriginContract(OutboundModel):
    """The contract to bring over: its bank (by ISPB, one of the CTC participants, seed 002 §9), its
    number at that bank, and the balance the lender expects to pay off."""

    ispb: Annotated[str, Field(pattern=r"^\d{8}$")]
    contract_number: NonEmptyStr
    last_due_balance: PositiveMoney


class IdentityDocumentKeys(OutboundModel):
    """The identity documents' keys (from the upload endpoint) inside a proposal, where the Port+Refin
    formalization page places them (docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/
    formalizacao): "no payload de criação da proposta ... dentro do campo borrower ou dentro do objeto de
    related_parties correspondente ao representante legal". Mandatory (IN 138; seed 004 §5)."""

    document_identification: UUID | None = None
    document_identification_back: UUID | None = None
    selfie: UUID | None = None

    @model_validator(mode="after")
    def _all_or_none(self) -> IdentityDocumentKeys:
        given = [self.document_identification, self.document_identification_back, self.selfie]
        if any(given) and not all(given):
            raise ValueError("document_identification, document_identification_back and selfie go together")
        return self

    @property
    def has_documents(self) -> bool:
        return self.document_identification is not None


class ProposalBorrower(Borrower, IdentityDocumentKeys):
    """The issuance's borrower, with the identity documents' keys when he signs himself."""


class ProposalRepresentative(LegalRepresentative, IdentityDocumentKeys):
    """The legal representative, with his identity documents' keys (he signs for the beneficiary)."""


class ProposalRequest(OutboundModel):
    """``POST /v2/credit_transfer/proposal`` (docs.qitech.com.br/documentation/guides/INSS/
    portability+refinancing/proposta): the portability of ``origin_contract`` and, optionally, its
    refinancing for a troco. ``proposal_type`` "inss" is what a lender's integration sends (the
    Consignado Privado page of the same API sends "private_company"); the borrower, legal
    representative and collateral are the issuance's (seed 004 §4)."""

    proposal_type: Literal["inss"] = "inss"
    purchaser_document_number: Cnpj
    borrower: ProposalBorrower
    related_parties: Annotated[list[ProposalRepresentative], Field(max_length=1)] | None = None
    collaterals: Annotated[list[Collateral], Field(min_length=1, max_length=1)]
    portability_credit_operation: PortabilityCreditOperation
    refinancing_credit_operation: RefinancingCreditOperation | None = None
    origin_contract: OriginContract
    # Joins a signature group; the answer then carries no signature_information (proposta page).
    document_batch_group_key: UUID | None = None

    @model_validator(mode="after")
    def _troco_to_the_borrower(self) -> ProposalRequest:
        refinancing = self.refinancing_credit_operation
        if refinancing and refinancing.disbursement_bank_account.document_number != (
            self.borrower.individual_document_number
        ):
            raise ValueError("the troco's disbursement_bank_account must be the borrower's (document_number)")
        return self

    @model_validator(mode="after")
    def _documents_with_the_signer(self) -> ProposalRequest:
        # The signer's documents: the representative's when there is one, else the borrower's — never both.
        if self.borrower.has_documents and any(r.has_documents for r in self.related_parties or []):
            raise ValueError("identity documents go in the borrower or in the legal representative, not both")
        return self

    @property
    def cpf(self) -> str:
        return self.borrower.individual_document_number

    @property
    def documents_holder(self) -> str | None:
        """Whose documents the proposal carries: "borrower", "legal_representative" or None."""
        if self.borrower.has_documents:
            return "borrower"
        if any(r.has_documents for r in self.related_parties or []):
            return "legal_representative"
        return None


# ---------------------------------------------------------------- outbound: after the proposal


class InstallmentReduction(OutboundModel):
    """``PUT /v2/credit_transfer/proposal/{proposal_key}/portability_credit_operation`` (seed 002 §13):
    a smaller installment when the origin bank released less margin than the new one needs."""

    installment_face_value: PositiveMoney


class OriginContractQuery(OutboundModel):
    """``POST /social_security/reservation/external_key/{credit_operation_key}/portability_origin_contract``
    (seed 002 §12): what the origin bank's contract looks like at Dataprev, by portability number."""

    request_type: OriginContractRequestType = OriginContractRequestType.PORTABILITY_NUMBER
    portability_number: Annotated[str, Field(pattern=PORTABILITY_NUMBER)]


class LegSignature(OutboundModel, SignatureEvidence):
    """``POST /v2/credit_transfer/proposal/{proposal_key}/{leg}/signature``: the borrower's signature
    of one leg's CCB. Path and body as a lender's public integration sends them (no page we could
    read prints them): the signed PDF's address and the evidence a new-credit signature carries."""

    type: Literal["pdf-signature"] = "pdf-signature"
    signed_pdf_path: NonEmptyStr


# ---------------------------------------------------------------- inbound: answers


class CtcParticipant(InboundModel):
    """One bank of ``GET /v2/credit_transfer/participants`` (seed 002 §9): where a contract can come from."""

    name: str | None = None
    bank_code: str | None = None
    ispb: str | None = None  # the seed: "BASE DO CNPJ DO BANCO"


class CtcParticipants(RootModel[list[CtcParticipant]]):
    def by_ispb(self, ispb: str) -> CtcParticipant | None:
        return next((p for p in self.root if p.ispb == ispb), None)


class FineConfigurationView(InboundModel):
    contract_fine_rate: Decimal | None = None
    interest_base: Annotated[InterestBase | Unknown, open_enum_validator(InterestBase)] | None = None
    monthly_rate: Decimal | None = None


class LegDisbursementAccount(InboundModel):
    account_digit: str | None = None
    account_branch: str | None = None
    account_number: str | None = None
    ispb: str | None = None
    name: str | None = None
    document_number: str | None = None


class CreditOperationAnswer(InboundModel):
    """One leg as the provider holds it: the answer of the installment reduction (seed 002 §13), and
    each leg of a proposal answer. A new CCB (``document_key``) is ``waiting_signature`` again."""

    credit_operation_key: str
    contract_number: str | None = None
    document_key: str | None = None
    document_url: str | None = None
    signed_url: str | None = None
    credit_operation_status: LegStatusField | None = None
    fine_configuration: FineConfigurationView | None = None
    disbursement_accounts: list[LegDisbursementAccount] = Field(default_factory=list)
    disbursement_options: list[DisbursementOption] = Field(default_factory=list)
    final_disbursement_amount: Decimal | None = None
    collateral_is_constituted: bool | None = None

    @property
    def installment_value(self) -> Decimal | None:
        """The installment of the first option (every option of a leg shares it)."""
        return self.disbursement_options[0].installment_value if self.disbursement_options else None


class ProposalParty(InboundModel):
    name: str | None = None
    document_number: str | None = None
    related_party_key: str | None = None
    role_type: str | None = None


class ProposalAnswer(InboundModel):
    """The answer of ``POST /v2/credit_transfer/proposal`` (and of reading it back): the proposal's
    key and status and each leg. The fields a lender's public integration reads are declared
    (proposal_key, borrower.related_party_key, each leg's credit_operation_key, document_url and
    schedule); everything else is kept as sent."""

    proposal_key: str
    proposal_status: ProposalStatusField | None = None
    portability_number: str | None = None
    borrower: ProposalParty | None = None
    related_parties: list[ProposalParty] = Field(default_factory=list)
    portability_credit_operation: CreditOperationAnswer | None = None
    refinancing_credit_operation: CreditOperationAnswer | None = None

    def leg(self, leg: CreditOperationLeg) -> CreditOperationAnswer | None:
        return (
            self.portability_credit_operation
            if leg is CreditOperationLeg.PORTABILITY
            else self.refinancing_credit_operation
        )


class StatusEvent(InboundModel):
    status: ConsultationStatusField
    event_datetime: LenientDatetime | None = None


class OriginContractRequestCreated(InboundModel):
    """Seed 002 §12's synchronous answer: the query's key (the webhook's ``key``) and status."""

    origin_contract_request_key: str
    status: ConsultationStatusField | None = None
    status_events: list[StatusEvent] = Field(default_factory=list)


# ---------------------------------------------------------------- inbound: webhooks


class _ProposalKeyed(InboundModel):
    proposal_key: str
    event_datetime: LenientDatetime | None = None

    @property
    def key(self) -> str:
        """What a loan routes the webhook by: its proposal."""
        return self.proposal_key

    @property
    def occurred_at(self) -> Any:
        return self.event_datetime


class ProposalError(InboundModel):
    """``data.error`` of a CTC rejection: the page's example has code and reason; a lender's
    integration reads description. All kept."""

    code: str | None = None
    reason: str | None = None
    description: str | None = None

    @property
    def rejection_reason(self) -> CtcRejectionReason | Unknown | None:
        if self.code is None:
            return None
        return CTC_REJECTION_CODES.get(self.code) or Unknown(self.code)


class RetainedReason(InboundModel):
    reason: Annotated[RetentionReason | Unknown, open_enum_validator(RetentionReason)]
    description: str | None = None


class OriginalContract(InboundModel):
    """The origin bank's contract as the CTC returns it with the balance (``accepted``)."""

    origin_contract_number: str | None = None
    origin_ispb_number: str | None = None
    origin_operation_type: str | None = None
    contract_date: LenientDate | None = None
    first_due_date: LenientDate | None = None
    last_due_date: LenientDate | None = None
    final_due_date: LenientDate | None = None
    final_due_balance: Decimal | None = None
    installment_face_value: Decimal | None = None
    installment_number: int | None = None
    opened_installment_number: int | None = None
    overdue_installment_number: int | None = None
    cet: Decimal | None = None
    interest: Decimal | None = None
    effective_interest: Decimal | None = None
    total_iof: Decimal | None = None
    amortization_type: str | None = None
    corban_document_number: str | None = None


class ReceiptParty(InboundModel):
    account_key: str | None = None
    bank_code: str | None = None
    branch: str | None = None
    branch_digit: str | None = None
    account_number: str | None = None
    account_digit: str | None = None
    type: str | None = None
    name: str | None = None
    document: str | None = None
    purpose: str | None = None


class SettlementReceipt(InboundModel):
    """The payoff transfer to the origin bank (``settlement_sent``)."""

    amount: Decimal | None = None
    timestamp: LenientDatetime | None = None
    description: str | None = None
    transaction_key: str | None = None
    origin: ReceiptParty | None = None
    destination: ReceiptParty | None = None


class ProposalWebhookData(InboundModel):
    """``data`` of ``credit_transfer.proposal``: each status carries its own part (none for canceled)."""

    error: ProposalError | None = None  # rejected
    portability_number: str | None = None  # pending_acceptance onwards
    final_due_balance: Decimal | None = None  # accepted
    original_contract: OriginalContract | None = None  # accepted
    retained_reason: RetainedReason | None = None  # retained
    receipt: SettlementReceipt | None = None  # settlement_sent


class ProposalWebhook(_ProposalKeyed):
    """``credit_transfer.proposal``: the proposal's status changed (maquinas-de-status)."""

    webhook_type: Literal["credit_transfer.proposal"]
    proposal_status: ProposalStatusField
    data: ProposalWebhookData = Field(default_factory=ProposalWebhookData)


class PortabilityAuthorizationData(InboundModel):
    portability_number: str | None = None
    requested_at: LenientDatetime | None = None
    expiration_date: LenientDate | None = None  # registration + 5 calendar days
    confirmation_date: LenientDate | None = None


class PortabilityAuthorizationWebhook(_ProposalKeyed):
    """``credit_transfer.portability_authorization``: the beneficiary's consent to the portability,
    registered at Dataprev and confirmed in Meu INSS; one per proposal, sent on every status change
    (docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/webhook-autorizacao-de-portabilidade)."""

    webhook_type: Literal["credit_transfer.portability_authorization"]
    portability_authorization_key: str | None = None
    portability_authorization_status: Annotated[
        PortabilityAuthorizationStatus | Unknown, open_enum_validator(PortabilityAuthorizationStatus)
    ]
    data: PortabilityAuthorizationData = Field(default_factory=PortabilityAuthorizationData)


class ProposalCreditOperationData(InboundModel):
    credit_operation_type: OperationTypeField
    credit_operation_key: str | None = None
    credit_operation_status: LegStatusField | None = None


class ProposalCreditOperationWebhook(_ProposalKeyed):
    """``credit_transfer.proposal.credit_operation``: one leg's status (the troco disbursed, a leg canceled)."""

    webhook_type: Literal["credit_transfer.proposal.credit_operation"]
    data: ProposalCreditOperationData


class ProposalCollateralData(CollateralWebhookData):
    credit_operation_type: OperationTypeField | None = None
    credit_operation_key: str | None = None


class PortabilityProposalCollateralWebhook(_ProposalKeyed):
    """``credit_transfer.proposal.collateral`` (seed 002 §11): the portability leg's averbação — its
    last failed attempt (teimosinha goes on) or its success (``collateral_constituted``). Seed 002's
    example says ``reservation_method: new_credit`` on a portability leg: kept as sent."""

    webhook_type: Literal["credit_transfer.proposal.collateral"]
    data: ProposalCollateralData


class OriginBank(InboundModel):
    bank_code: str | None = None
    name: str | None = None


class DeletedContract(InboundModel):
    """A contract the origin bank removed (desaverbou) at Dataprev for this portability."""

    origin_bank: OriginBank | None = None
    contract_number: str | None = None
    last_installment_paid: int | None = None
    exclusion_date: LenientDate | None = None  # printed DDMMYYYY
    period_amount: Decimal | None = None  # the installment released


class OriginContractResult(InboundModel):
    # Seed 002 prints it as a JSON number past float precision: read as text, never as a float.
    portability_number: str | None = None
    portability_status: Annotated[OriginPortabilityStatus | Unknown, open_enum_validator(OriginPortabilityStatus)] | (
        None
    ) = None
    benefit_number: str | None = None
    portability_start_date: LenientDate | None = None
    deleted_contracts: list[DeletedContract] = Field(default_factory=list)

    @property
    def released_installments(self) -> Decimal:
        """What the origin bank released of the benefit's margin, over every contract it removed."""
        return sum((c.period_amount or Decimal(0) for c in self.deleted_contracts), Decimal(0))


class OriginContractFailure(InboundModel):
    enumerator: str
    description: str | None = None


class PortabilityOriginContractWebhook(InboundModel):
    """``social_security_portability_origin_contract_request`` (seed 002 §12), inside a ``{"webhook":
    ...}`` envelope; ``key`` is the query's ``origin_contract_request_key``."""

    webhook_type: Literal["social_security_portability_origin_contract_request"]
    key: str
    status: ConsultationStatusField
    event_datetime: LenientDatetime | None = None
    # A failure has an enumerator; everything else is a result (its fields all optional).
    data: Annotated[OriginContractFailure | OriginContractResult, Field(union_mode="left_to_right")] = Field(
        default_factory=OriginContractResult
    )

    @property
    def occurred_at(self) -> Any:
        return self.event_datetime


__all__ = [
    "CreditOperationAnswer",
    "CtcParticipant",
    "CtcParticipants",
    "InstallmentReduction",
    "LegSignature",
    "OriginContract",
    "OriginContractFailure",
    "OriginContractQuery",
    "OriginContractRequestCreated",
    "OriginContractResult",
    "PortabilityAuthorizationWebhook",
    "PortabilityCreditOperation",
    "PortabilityFinancial",
    "PortabilityOriginContractWebhook",
    "PortabilityProposalCollateralWebhook",
    "ProposalAnswer",
    "ProposalCollateralData",
    "ProposalCreditOperationWebhook",
    "ProposalRequest",
    "ProposalWebhook",
    "RefinancingCreditOperation",
    "RefinancingFinancial",
    "TrocoAccount",
]
