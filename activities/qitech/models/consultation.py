"""Benefit consultation: benefits request, balance request (seeds 001/004 §1-§2) and their webhooks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, IPvAnyAddress, field_validator, model_validator

from activities.qitech.enumerators import (
    ASSISTANCE_TYPE_NAMES,
    AlimonyCode,
    ConsultationError,
    ConsultationStatus,
    PoliticallyExposedType,
)
from activities.tolerant import InboundModel, LenientDate, OutboundModel, Unknown, open_enum_validator
from domain.benefit import BenefitAccount, BenefitFacts
from domain.documents import Cpf
from domain.fields import BenefitNumber, NonEmptyStr, Phone
from domain.inss import BenefitSituation, BenefitStatus, BlockType, CreditType

# ---------------------------------------------------------------- outbound


class Signer(OutboundModel):
    name: NonEmptyStr
    email: str
    phone: Phone
    document_number: Cpf


class Authenticity(OutboundModel):
    timestamp: AwareDatetime
    ip_address: IPvAnyAddress
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    third_party_additional_data: dict[str, Any] = Field(default_factory=dict)
    session_id: NonEmptyStr


class SignedObject(OutboundModel):
    """The signed authorization term: its uploaded PDF's key, or its running text (seed 001 §1)."""

    document_key: UUID | None = None
    raw_text: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SignedObject:
        if (self.document_key is None) == (self.raw_text is None):
            raise ValueError("give exactly one of document_key or raw_text")
        return self


class TermSignature(OutboundModel):
    signer: Signer
    authentication_type: Literal["opt_in"] = "opt_in"
    authenticity: Authenticity
    signed_object: SignedObject


class AuthorizationTerm(OutboundModel):
    """Termo de autorização (IN100): the beneficiary's consent, signed by them or their legal representative."""

    document_number: Cpf
    legal_representative_document_number: Cpf | None = None
    signature: TermSignature

    @model_validator(mode="after")
    def _signer_is_who_signs(self) -> AuthorizationTerm:
        expected = self.legal_representative_document_number or self.document_number
        if self.signature.signer.document_number != expected:
            who = "the legal representative" if self.legal_representative_document_number else "the beneficiary"
            raise ValueError(f"signature.signer.document_number must be {who}'s CPF (seed 001 §1, 'Atenção')")
        return self


class BenefitsRequest(OutboundModel):
    """``POST /social_security/benefits_request``."""

    document_number: Cpf
    authorization_term: AuthorizationTerm

    @model_validator(mode="after")
    def _same_beneficiary(self) -> BenefitsRequest:
        if self.authorization_term.document_number != self.document_number:
            raise ValueError("authorization_term.document_number must be the beneficiary's CPF (document_number)")
        return self


class BalanceRequest(OutboundModel):
    """``POST /social_security/balance_request``: with the term (case 2) or relying on one already sent (case 1)."""

    document_number: Cpf
    benefit_number: Annotated[BenefitNumber, Field()]
    authorization_term: AuthorizationTerm | None = None

    @model_validator(mode="after")
    def _same_beneficiary(self) -> BalanceRequest:
        if self.authorization_term and self.authorization_term.document_number != self.document_number:
            raise ValueError("authorization_term.document_number must be the beneficiary's CPF (document_number)")
        return self


# ---------------------------------------------------------------- inbound

ConsultationStatusField = Annotated[ConsultationStatus | Unknown, open_enum_validator(ConsultationStatus)]


class BenefitsRequestCreated(InboundModel):
    benefits_request_key: str
    status: ConsultationStatusField


class BalanceRequestCreated(InboundModel):
    balance_request_key: str
    status: ConsultationStatusField


class BenefitSummary(InboundModel):
    benefit_number: str
    benefit_status: Annotated[BenefitStatus | Unknown, open_enum_validator(BenefitStatus)] | None = None
    grant_date: LenientDate | None = None


class ConsultationFailure(InboundModel):
    enumerator: Annotated[ConsultationError | Unknown, open_enum_validator(ConsultationError)]
    description: str | None = None


class CardBalance(InboundModel):
    limit: Decimal | None = None
    balance: Decimal | None = None


class PoliticallyExposed(InboundModel):
    type: Annotated[PoliticallyExposedType | Unknown, open_enum_validator(PoliticallyExposedType)] | None = None
    is_politically_exposed: bool | None = None


class BenefitBankAccount(InboundModel):
    bank_code: str | None = None
    account_branch: str | None = None
    account_number: str | None = None
    account_digit: str | None = None


def _assistance_type(value: Any) -> Any:
    if value is None or isinstance(value, Unknown):
        return value
    text = str(value)
    return text if text in ASSISTANCE_TYPE_NAMES else Unknown(text)


class BalanceData(InboundModel):
    """The benefit's data from a successful balance request (seed 004 §2)."""

    name: str | None = None
    document_number: str | None = None
    benefit_number: str
    state: str | None = None
    birth_date: LenientDate | None = None
    grant_date: LenientDate | None = None
    """The DDB (Data de Despacho do Benefício): the 90-day rule counts from it."""
    benefit_status: Annotated[BenefitStatus | Unknown, open_enum_validator(BenefitStatus)] | None = None
    benefit_situation: Annotated[BenefitSituation | Unknown, open_enum_validator(BenefitSituation)] | None = None
    block_type: Annotated[BlockType | Unknown, open_enum_validator(BlockType)] | None = None
    credit_type: Annotated[CreditType | Unknown, open_enum_validator(CreditType)] | None = None
    alimony: Annotated[AlimonyCode | Unknown, open_enum_validator(AlimonyCode)] | None = None
    assistance_type: str | None = None
    benefit_end_date: LenientDate | None = None
    benefit_quota_expiration_date: LenientDate | None = None
    max_total_balance: Decimal | None = None
    used_total_balance: Decimal | None = None
    available_total_balance: Decimal | None = None
    social_benefit_max_balance: Decimal | None = None
    social_benefit_used_balance: Decimal | None = None
    consigned_credit: CardBalance | None = None
    benefit_card: CardBalance | None = None
    consigned_card: CardBalance | None = None
    politically_exposed: PoliticallyExposed | None = None
    has_power_of_attorney: bool | None = None
    has_judicial_concession: bool | None = None
    has_entity_representation: bool | None = None
    number_of_portabilities: int | None = None
    number_of_active_reservations: int | None = None
    number_of_suspended_reservations: int | None = None
    number_of_refinanced_reservations: int | None = None
    number_of_active_suspended_reservations: int | None = None
    disbursement_bank_account: BenefitBankAccount | None = None

    _check_assistance = field_validator("assistance_type", mode="before")(_assistance_type)

    def to_facts(self) -> BenefitFacts:
        """The benefit in the loan's own terms (the adapter's edge: nothing of the wire leaks past it)."""
        return BenefitFacts(
            benefit_number=self.benefit_number,
            grant_date=_date_or_none(self.grant_date),
            benefit_status=self.benefit_status,
            benefit_situation=self.benefit_situation,
            block_type=self.block_type,
            assistance_type=self.assistance_type,
            assistance_type_known=self.assistance_type in ASSISTANCE_TYPE_NAMES,
            has_entity_representation=self.has_entity_representation,
            benefit_end_date=_date_or_none(self.benefit_end_date),
            benefit_quota_expiration_date=_date_or_none(self.benefit_quota_expiration_date),
            available_total_balance=self.available_total_balance,
            loans_margin=self.consigned_credit.balance if self.consigned_credit else None,
            paying_account=self._paying_account(),
            politically_exposed=self.politically_exposed.is_politically_exposed if self.politically_exposed else None,
        )

    def _paying_account(self) -> BenefitAccount | None:
        account = self.disbursement_bank_account
        if account is None or not all(
            (account.bank_code, account.account_branch, account.account_number, account.account_digit)
        ):
            return None
        return BenefitAccount(
            bank_code=str(account.bank_code).zfill(3),
            branch_number=str(account.account_branch),
            account_number=str(account.account_number),
            account_digit=str(account.account_digit),
        )


def _date_or_none(value: object) -> date | None:
    return value if isinstance(value, date) and not isinstance(value, Unknown) else None
