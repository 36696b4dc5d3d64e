"""What the sandbox reads from the lender's requests, written from the bodies the seeds print (001/004
§1-§9 for new credit, 002 and the Port+Refin pages for a proposal) — the sandbox's own reading, never
the client's models: a double that parsed requests with the code under test would accept whatever that
code sends.

Tolerant where the provider is: fields it does not use are ignored, and numbers where the seeds print
numbers for identifiers (``"benefit_number": 2052711150``, ``"bank_code": 184``) are read as text. What
it needs is required, so a request without it is refused naming the field (``LEG000041``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Cpf = Annotated[str, Field(pattern=r"^\d{11}$")]
BenefitNumber = Annotated[str, Field(pattern=r"^\d{1,10}$")]
Text = Annotated[str, Field(min_length=1)]
Money = Annotated[Decimal, Field(gt=0)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)


# ---------------------------------------------------------------- consultations (seed 004 §1-§2)


class Signer(Body):
    name: Text
    document_number: Cpf
    email: str | None = None


class SignedObject(Body):
    """The signed term: a document from ``/upload``, or its text (``raw_text``, seed 004 §1)."""

    document_key: str | None = None
    raw_text: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SignedObject:
        if not self.document_key and not self.raw_text:
            raise ValueError("signed_object needs document_key or raw_text")
        return self


class TermSignature(Body):
    signer: Signer
    authentication_type: str | None = None
    signed_object: SignedObject


class AuthorizationTerm(Body):
    document_number: Cpf
    legal_representative_document_number: Cpf | None = None
    signature: TermSignature


class BenefitsRequest(Body):
    document_number: Cpf
    authorization_term: AuthorizationTerm


class BalanceRequest(Body):
    """Case 1 (the term sent before) has no ``authorization_term``; case 2 carries it."""

    document_number: Cpf
    benefit_number: BenefitNumber
    authorization_term: AuthorizationTerm | None = None


# ---------------------------------------------------------------- simulation and issuance (seed 004 §3-§4)


class Financial(Body):
    """Two of installment, disbursed amount and monthly rate (seed 004 §3; seed 001's batch example
    gives the installment and the amount and lets the rate follow)."""

    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=60)] = 0
    number_of_installments: Annotated[int, Field(ge=1, le=420)]
    installment_face_value: Money | None = None
    disbursed_amount: Money | None = None
    monthly_interest_rate: Annotated[Decimal, Field(gt=0, lt=1)] | None = None
    rebates: list[dict[str, Any]] | None = None


class OperationKey(Body):
    operation_key: Text


class SimulationRequest(Body):
    financial: Financial
    refinanced_credit_operations: list[OperationKey] | None = None


class SimulationBatch(Body):
    """Seed 001 §3: ``{"complex_operation": true, "operation_batch": [...]}``."""

    operation_batch: Annotated[list[SimulationRequest], Field(min_length=1)]


class Person(Body):
    name: Text
    individual_document_number: Cpf
    email: str | None = None
    role_type: str = "issuer"
    # The identity documents' keys, when they travel in the creation's payload (seed 004 §5; a
    # proposal's: the Port+Refin formalização page).
    document_identification: str | None = None
    document_identification_back: str | None = None
    selfie: str | None = None

    @property
    def has_documents(self) -> bool:
        return bool(self.document_identification)


class Representative(Person):
    role_type: str = "issuer_legal_representative"


class CollateralData(Body):
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    benefit_number: BenefitNumber
    assistance_type: str | None = None
    operation_category: str | None = None


class Collateral(Body):
    collateral_type: str = "social_security"
    collateral_data: CollateralData


class DisbursementAccount(Body):
    name: str | None = None
    bank_code: Text
    branch_number: Text
    account_number: Text
    account_digit: str | None = None
    document_number: str | None = None
    transfer_method: str | None = None
    percentage_receivable: Decimal = Decimal(100)


class IssuanceRequest(Body):
    """``POST /debt``. ``requester_identifier_key`` is the requester's UUID4 the published lookup finds
    the debt by (docs.qitech.com.br/documentation/emissao_de_divida/consulta_por_requester_identifier_key):
    the sandbox needs it to answer a repeated creation with the same debt."""

    requester_identifier_key: Text
    borrower: Person
    related_parties: list[Representative] | None = None
    financial: Financial
    collaterals: Annotated[list[Collateral], Field(min_length=1)]
    disbursement_bank_accounts: Annotated[list[DisbursementAccount], Field(min_length=1)]
    refinanced_credit_operations: list[OperationKey] | None = None
    purchaser_document_number: str | None = None


# ---------------------------------------------------------------- after the issuance (seed 004 §5-§9)


class AttachedDocuments(Body):
    document_identification: Text
    document_identification_back: Text
    selfie: Text


class SignatureEvidence(Body):
    """Seed 004 §6: ``ip_address`` and ``signature_datetime`` are the mandatory fields."""

    ip_address: Text
    signature_datetime: datetime
    similarity_score: Decimal | None = None
    biometry_analysis_reference: str | None = None


class CollateralCorrection(Body):
    """Seed 004 §7: the bank account, the benefit number or the name."""

    disbursement_bank_account: dict[str, Any] | None = None
    benefit_number: BenefitNumber | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _something(self) -> CollateralCorrection:
        if self.disbursement_bank_account is None and self.benefit_number is None and self.name is None:
            raise ValueError("give disbursement_bank_account, benefit_number or name")
        return self


class ReapresentacaoAccount(Body):
    """An account of seed 004 §9's reapresentação (its ``bank_code`` printed as a number)."""

    name: str | None = None
    document_number: str | None = None
    bank_code: Text
    ispb_number: str | None = None
    branch_number: Text
    account_number: Text
    account_digit: str | None = None
    account_type: str | None = None
    percentage_receivable: Decimal = Decimal(100)


class ChangeDisbursementDate(Body):
    disbursement_date: date
    disbursement_bank_accounts: list[ReapresentacaoAccount] | None = None


class Recalculate(Body):
    """The published recalculation (…/new-credit-and-refinancing/recalculate): the new installment."""

    installment_face_value: Money


class BalanceRequestConfirmation(Body):
    """Seed 004 §7 asks for "a request" confirming the new balance request but prints none: the key of
    that balance request is the sandbox's reading (the README's assumptions; the client assumes the same)."""

    balance_request_key: Text


# ---------------------------------------------------------------- portability + refinancing (seed 002, pages)


class PortabilityFinancial(Body):
    first_due_date: date
    number_of_installments: Annotated[int, Field(ge=1, le=420)]
    installment_face_value: Money | None = None
    monthly_interest_rate: Annotated[Decimal, Field(gt=0, lt=1)] | None = None
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=60)] | None = None


class PortabilityOperation(Body):
    financial: PortabilityFinancial
    contract_number: str | None = None


class FineConfiguration(Body):
    contract_fine_rate: Decimal
    interest_base: str
    monthly_rate: Decimal


class RefinancingFinancial(Body):
    first_due_date: date
    number_of_installments: Annotated[int, Field(ge=1, le=420)]
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=60)] = 0
    installment_face_value: Money | None = None
    monthly_interest_rate: Annotated[Decimal, Field(gt=0, lt=1)] | None = None
    disbursed_amount: Money | None = None
    fine_configuration: FineConfiguration | None = None


class TrocoAccount(Body):
    name: str | None = None
    document_number: str | None = None
    bank_code: str | None = None
    ispb: str | None = None
    branch_number: Text
    account_number: Text
    account_digit: str | None = None


class RefinancingOperation(Body):
    financial: RefinancingFinancial
    disbursement_bank_account: TrocoAccount
    contract_number: str | None = None


class OriginContract(Body):
    ispb: Annotated[str, Field(pattern=r"^\d{8}$")]
    contract_number: Text
    last_due_balance: Money


class ProposalRequest(Body):
    """``POST /v2/credit_transfer/proposal`` (the proposta page's root: borrower, related_parties,
    collaterals, the two operations, origin_contract)."""

    borrower: Person
    related_parties: list[Representative] | None = None
    collaterals: Annotated[list[Collateral], Field(min_length=1)]
    portability_credit_operation: PortabilityOperation
    refinancing_credit_operation: RefinancingOperation | None = None
    origin_contract: OriginContract

    @property
    def cpf(self) -> str:
        return self.borrower.individual_document_number

    @property
    def documents_holder(self) -> str | None:
        """Whose identity documents the proposal carries: "borrower", "legal_representative" or None."""
        if self.borrower.has_documents:
            return "borrower"
        if any(r.has_documents for r in self.related_parties or []):
            return "legal_representative"
        return None


class InstallmentReduction(Body):
    """Seed 002 §13."""

    installment_face_value: Money


class OriginContractQuery(Body):
    """Seed 002 §12."""

    request_type: str = "portability_number"
    portability_number: Annotated[str, Field(pattern=r"^\d{1,30}$")]


class LegSignature(Body):
    """A leg's signature: the signed CCB's address and the evidence (seed 004 §6's mandatory fields)."""

    signed_pdf_path: Text
    ip_address: Text
    signature_datetime: datetime
