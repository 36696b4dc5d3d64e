"""Debt issuance and its follow-ups: documents, signature, collateral, cancel, reapresentação (seeds 001/004 §4-§10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, model_validator

from activities.qitech.enumerators import ASSISTANCE_TYPE_NAMES, CollateralStatus, OperationCategory, ReservationMethod
from activities.qitech.models.common import DisbursementAccount
from activities.qitech.models.simulation import DisbursementOption, Financial, Installment, RefinancedOperation
from activities.tolerant import (
    InboundModel,
    LenientDate,
    LenientDatetime,
    OpaqueJson,
    OutboundModel,
    Unknown,
    open_enum_validator,
)
from domain import loan as domain_loan
from domain.documents import Cnpj, Cpf
from domain.fields import Address, BankCode, BenefitNumber, NonEmptyStr, Phone, PositiveMoney, State
from domain.modeling import all_different, at_least_one, copy_fields

# ---------------------------------------------------------------- outbound: issuance


def _known_assistance_type(value: str) -> str:
    if value not in ASSISTANCE_TYPE_NAMES:
        # Seed 001 §6: an unmapped assistance_type makes the provider cancel the debt permanently.
        raise ValueError(f"{value!r} is not in the provider's assistance_type table (seed 004 §12)")
    return value


AssistanceType = Annotated[str, AfterValidator(_known_assistance_type)]


class Person(OutboundModel):
    """Fields shared by the borrower and a legal representative."""

    name: NonEmptyStr
    email: str | None = None
    phone: Phone
    address: Address
    person_type: Literal["natural"] = "natural"
    is_pep: bool = False
    individual_document_number: Cpf
    birth_date: date
    mother_name: NonEmptyStr
    document_identification: UUID | None = None
    document_identification_back: UUID | None = None
    selfie: UUID | None = None


class Borrower(Person):
    role_type: Literal["issuer"] = "issuer"
    gender: Literal["female", "male"] | None = None
    nationality: str | None = "Brasileiro"
    marital_status: str | None = None
    attached_documents_list: list[UUID] = Field(default_factory=list)
    document_identification_date: date | None = None
    document_identification_type: Literal["rg", "cnh", "rne", "passport", "cin"] | None = None
    document_identification_number: str | None = None


class LegalRepresentative(Person):
    role_type: Literal["issuer_legal_representative"] = "issuer_legal_representative"


class CollateralData(OutboundModel):
    state: State
    benefit_number: BenefitNumber
    assistance_type: AssistanceType | None = None
    subcorban_document_number: Cnpj | None = None
    operation_category: OperationCategory | None = None


class Collateral(OutboundModel):
    percentage: Literal[1] = 1
    collateral_type: Literal["social_security"] = "social_security"
    collateral_data: CollateralData


class RebateBankAccount(OutboundModel):
    name: NonEmptyStr
    document_number: Cnpj
    bank_code: BankCode
    branch_number: str
    account_number: str
    account_digit: str


class Rebate(OutboundModel):
    amount: Annotated[Decimal, Field(gt=0)]
    amount_type: Literal["percentage", "absolute"]
    fee_type: Literal["spread"] = "spread"
    rebate_bank_account: RebateBankAccount


class IssuanceFinancial(Financial):
    rebates: list[Rebate] | None = None


class ContractNumber(OutboundModel):
    contract_number: NonEmptyStr


class AdditionalData(OutboundModel):
    contract: ContractNumber


class DebtIssuanceRequest(OutboundModel):
    """``POST /debt``: new credit, refinancing (``refinanced_credit_operations``) or new credit on a
    minimum-wage increase (``collateral_data.operation_category``), with or without a legal
    representative in ``related_parties``.

    ``requester_identifier_key`` is ours and mandatory here: the provider answers a repeated key
    with the debt it already created, which is what makes a retried issuance safe.
    """

    requester_identifier_key: Annotated[str, Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
    borrower: Borrower
    related_parties: Annotated[list[LegalRepresentative], Field(max_length=1)] | None = None
    financial: IssuanceFinancial
    simplified: bool = True
    collaterals: Annotated[list[Collateral], Field(min_length=1, max_length=1)]
    additional_data: AdditionalData | None = None
    purchaser_document_number: Cnpj
    disbursement_bank_accounts: Annotated[list[DisbursementAccount], Field(min_length=1)]
    refinanced_credit_operations: Annotated[list[RefinancedOperation], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DebtIssuanceRequest:
        total = sum((a.percentage_receivable for a in self.disbursement_bank_accounts), Decimal(0))
        if total != 100:
            raise ValueError(f"disbursement_bank_accounts percentages must add up to 100 (got {total})")
        if self.financial.monthly_interest_rate is None and self.financial.disbursed_amount is None:
            raise ValueError("issuance needs monthly_interest_rate or disbursed_amount next to the installment")
        return self


# ---------------------------------------------------------------- outbound: after issuance


class AttachedDocuments(OutboundModel):
    """``POST /debt/{debt_key}/related_party/{related_party_key}/attached_document`` (seed 001 §5)."""

    document_identification: UUID
    document_identification_back: UUID
    selfie: UUID

    # Seed 001 §6: duplicated documents make the provider cancel the debt permanently.
    _distinct = all_different(
        "document_identification",
        "document_identification_back",
        "selfie",
        refusal="document_identification, document_identification_back and selfie must be different documents",
    )


class SignatureEvidence(OutboundModel, domain_loan.SignatureEvidence):
    """``POST /debt/{debt_key}/signed`` (seed 001/004 §6): the borrower's signature evidence."""

    type: Literal["data-signature"] = "data-signature"


class CollateralBankAccount(OutboundModel):
    bank_code: BankCode
    account_branch: Annotated[str, Field(pattern=r"^\d{1,5}$")]
    account_number: Annotated[str, Field(pattern=r"^\d{1,20}$")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    document_number: Cpf


class CollateralCorrection(OutboundModel):
    """``PATCH /debt/{debt_key}/collateral`` (seed 004 §7): bank account, benefit number or name."""

    disbursement_bank_account: CollateralBankAccount | None = None
    benefit_number: BenefitNumber | None = None
    name: NonEmptyStr | None = None

    _something = at_least_one(
        "disbursement_bank_account",
        "benefit_number",
        "name",
        refusal="a collateral correction needs disbursement_bank_account, benefit_number or name",
    )


class ReapresentacaoAccount(OutboundModel):
    """An account in ``change_disbursement_date`` (seed 001/004 §9; bank_code is a number there)."""

    name: NonEmptyStr
    document_number: Cpf
    bank_code: Annotated[int, Field(ge=1, le=999)]
    ispb_number: Annotated[str, Field(pattern=r"^\d{8}$")] | None = None
    branch_number: Annotated[str, Field(pattern=r"^\d{1,5}$")]
    account_number: Annotated[str, Field(pattern=r"^\d{1,20}$")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    account_type: Literal["checking_account", "savings_account", "payment_account"] = "checking_account"
    percentage_receivable: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(100)


class ChangeDisbursementDate(OutboundModel):
    """``POST /debt/{debt_key}/change_disbursement_date``: reapresentação with a new date and/or account."""

    disbursement_date: date
    disbursement_bank_accounts: Annotated[list[ReapresentacaoAccount], Field(min_length=1)] | None = None


class Recalculate(OutboundModel):
    """``POST /v2/credit_operation/{key}/recalculate``: a smaller installment when the margin is exceeded.

    Not in the seeds (004 §7 names the action, not the call); path and body from the provider's
    public INSS guide ("Recálculo"): the value may only go down.
    """

    installment_face_value: PositiveMoney


class BalanceRequestConfirmation(OutboundModel):
    """Tells the provider a new successful balance request exists (004 §7, body not printed: assumed)."""

    balance_request_key: NonEmptyStr


# ---------------------------------------------------------------- inbound


class DebtBorrowerRef(InboundModel):
    name: str | None = None
    document_number: str | None = None
    related_party_key: str | None = None
    role_type: str | None = None


class SignatureInformation(InboundModel):
    signer_name: str | None = None
    signer_document_number: str | None = None
    signer_role: str | None = None
    signer_email: str | None = None
    signer_external_key: str | None = None
    signature_url: str | None = None


class Contract(InboundModel):
    number: str | None = None
    urls: list[str] = Field(default_factory=list)
    signature_information: list[SignatureInformation] = Field(default_factory=list)
    # Seed 004 §6's text calls the list ``signers`` where its example prints ``signature_information``.
    signers: list[SignatureInformation] = Field(default_factory=list)

    @property
    def all_signers(self) -> list[SignatureInformation]:
        return self.signature_information or self.signers


class LastResponseItem(InboundModel):
    enumerator: str
    reservation_method: Annotated[ReservationMethod | Unknown, open_enum_validator(ReservationMethod)] | None = None


class LastResponse(InboundModel):
    errors: list[LastResponseItem] = Field(default_factory=list)
    success: list[LastResponseItem] = Field(default_factory=list)


class CollateralDataView(InboundModel):
    state: str | None = None
    benefit_number: str | None = None
    status: Annotated[CollateralStatus | Unknown, open_enum_validator(CollateralStatus)] | None = None
    last_response: LastResponse | None = None
    last_response_event_datetime: LenientDatetime | None = None
    reservation_method: Annotated[ReservationMethod | Unknown, open_enum_validator(ReservationMethod)] | None = None


class IssuedCollateral(InboundModel):
    collateral_key: str | None = None
    collateral_type: str | None = None
    collateral_constituted: bool | None = None
    collateral_data: CollateralDataView | None = None
    external_key: str | None = None
    percentage: Decimal | None = None
    created_at: LenientDatetime | None = None
    updated_at: LenientDatetime | None = None
    reservation_method: OpaqueJson = None


class DebtData(InboundModel):
    """``data`` of a debt answer or webhook: everything optional, since each status carries a part.

    waiting_signature carries the contract and options; canceled carries a cancel reason (and a
    ted_refusal / pix_refusal block); signature_received and canceled_permanently carry ``{}``.
    """

    borrower: DebtBorrowerRef | None = None
    # Where a legal representative's related_party_key comes back is not in the seeds (004 §5 names
    # only the borrower's): assumed here, kept tolerant (README, assumptions).
    related_parties: list[DebtBorrowerRef] = Field(default_factory=list)
    contract: Contract | None = None
    collaterals: list[IssuedCollateral] = Field(default_factory=list)
    disbursement_options: list[DisbursementOption] = Field(default_factory=list)
    requester_identifier_key: str | None = None
    iof_charge_method: str | None = None
    cancel_reason: str | None = None
    cancel_reason_enumerator: str | None = None
    ted_refusal: dict[str, OpaqueJson] | None = None
    pix_refusal: dict[str, OpaqueJson] | None = None

    @property
    def cancel_enumerator(self) -> str | None:
        """The machine-readable cancel reason: ``cancel_reason_enumerator``, else ``cancel_reason``."""
        return self.cancel_reason_enumerator or self.cancel_reason

    @property
    def refusal_reason(self) -> str | None:
        refusal = self.ted_refusal or self.pix_refusal or {}
        reason = refusal.get("reason_enumerator") or refusal.get("reason")
        return str(reason) if reason is not None else None


class DebtAnswer(InboundModel):
    """The synchronous answer of ``POST /debt`` and ``POST /debt/{key}/signed`` (shaped like the webhook)."""

    webhook_type: str | None = None
    key: str
    status: str | None = None
    event_datetime: LenientDatetime | None = None
    data: DebtData = Field(default_factory=DebtData)


class CollateralView(InboundModel):
    """``GET /debt/{debt_key}/collateral``: the last Dataprev answer for the averbação (seed 001 §10)."""

    collateral_constituted: bool | None = None
    collateral_type: str | None = None
    updated_at: LenientDatetime | None = None
    collateral_data: CollateralDataView | None = None


class CreditOperationView(InboundModel):
    """The published credit-operation lookup (by ``requester_identifier_key`` or by its key;
    docs.qitech.com.br/documentation/emissao_de_divida/consulta_por_requester_identifier_key,
    .../consulta_por_credit_operation_key): what the provider holds of a debt, its status enumerator
    included, and its current schedule (after a recalculation, the recalculated one)."""

    credit_operation_key: str
    requester_identifier_key: str | None = None
    contract_number: str | None = None
    credit_operation_status_enumerator: str | None = None
    disbursement_date: LenientDate | None = None
    first_due_date: LenientDate | None = None
    issue_amount: Decimal | None = None
    total_iof: Decimal | None = None
    installments: list[Installment] = Field(default_factory=list)

    def current_option(self) -> DisbursementOption | None:
        """The debt's schedule as one disbursement option (the lookup lists no others)."""
        if not isinstance(self.disbursement_date, date) or not self.installments:
            return None
        return copy_fields(DisbursementOption, self)


class DisbursementAccountView(InboundModel):
    account_branch: str | None = None
    account_number: str | None = None
    account_digit: str | None = None
    document_number: str | None = None
    disbursement_type: str | None = None
    percentage_receivable: Decimal | None = None


class DisbursementDateChanged(InboundModel):
    disbursement_date: LenientDate | None = None
    disbursement_accounts: list[DisbursementAccountView] = Field(default_factory=list)


class DocumentUploaded(InboundModel):
    document_key: str


class Portability002Amount(InboundModel):
    """Not used by this product; kept so 002's reduce-installment answer parses (seed 002 §13)."""

    credit_operation_key: str | None = None
    contract_number: str | None = None
    credit_operation_status: str | None = None
    disbursement_options: list[DisbursementOption] = Field(default_factory=list)
    final_disbursement_amount: Decimal | None = None
    collateral_is_constituted: bool | None = None


__all__ = [
    "AdditionalData",
    "AttachedDocuments",
    "BalanceRequestConfirmation",
    "Borrower",
    "ChangeDisbursementDate",
    "Collateral",
    "CollateralCorrection",
    "CollateralData",
    "CollateralView",
    "DebtAnswer",
    "DebtIssuanceRequest",
    "LegalRepresentative",
    "Recalculate",
    "SignatureEvidence",
    "State",
]


class CollateralWebhookData(InboundModel):
    """What an averbação answer says (``credit_operation.collateral``; a proposal's legs extend it)."""

    collateral_type: str | None = None
    collateral_constituted: bool
    collateral_data: CollateralDataView | None = None

    @property
    def error_enumerators(self) -> list[str]:
        last = self.collateral_data.last_response if self.collateral_data else None
        return [item.enumerator for item in last.errors] if last else []

    @property
    def success_enumerators(self) -> list[str]:
        last = self.collateral_data.last_response if self.collateral_data else None
        return [item.enumerator for item in last.success] if last else []

    @property
    def status(self) -> CollateralStatus | Unknown | None:
        return self.collateral_data.status if self.collateral_data else None
