"""A loan as the lender's channels ask for it, and the operator actions a running loan accepts.

These models travel through Temporal (pydantic data converter): the starter validates them before
anything starts, and the workflow reads them back. Their validators are pure (no clock, no I/O),
because the workflow re-validates them on every replay.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, IPvAnyAddress, model_validator

from domain.documents import Cnpj, Cpf
from domain.fields import Address, BankCode, BenefitNumber, NonEmptyStr, Phone, PositiveMoney, Rate, State
from domain.modeling import all_different, at_least_one, exactly

REQUEST_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,99}$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Product(StrEnum):
    NEW_CREDIT = "new_credit"
    REFINANCING = "refinancing"
    MINIMUM_WAGE_INCREASE = "minimum_wage_increase"  # new credit on the margin a benefit raise opens
    PORTABILITY = "portability"  # another bank's loan brought over (Port+Refin, seed 002), maybe with a troco


class ProviderId(StrEnum):
    """The loan providers the orchestrator speaks to (``workflows.loan.port`` says what each can do)."""

    QITECH = "qitech"  # seeds 000-002 and 004: consultation, simulation, issuance, webhooks
    PROVIDER_B = "provider_b"  # seed 003: operation creation, a formalization link, followed by polling


class IdentityDocument(Model):
    """The identity document the CCB names (seed 004 §4 ``document_identification_*``; ``cin`` is the
    new national identity card the provider's published issuance page accepts)."""

    kind: Literal["rg", "cnh", "rne", "passport", "cin"]
    number: Annotated[str, Field(min_length=1, max_length=30)]
    issued_on: date | None = None


class Person(Model):
    name: NonEmptyStr
    cpf: Cpf
    birth_date: date
    mother_name: NonEmptyStr
    email: str | None = None
    phone: Phone
    address: Address
    gender: Literal["female", "male"] | None = None
    is_pep: bool = False
    marital_status: NonEmptyStr | None = None
    nationality: NonEmptyStr | None = None
    identity_document: IdentityDocument | None = None


class JudicialAuthorization(Model):
    """The court's authorization (alvará) a legal representative needs for a new loan (IN 190/2025)."""

    court_case_number: NonEmptyStr
    issued_on: date


class LegalRepresentative(Person):
    judicial_authorization: JudicialAuthorization | None = None


class Benefit(Model):
    number: BenefitNumber
    state: State
    assistance_type: NonEmptyStr | None = None
    """The benefit's species as the enumerators spell it (``retirement_by_age``): the consultation
    finds it; a loan without one (the "Sem IN100" flow) needs it here."""


class FinancialTerms(Model):
    """Give two of installment_value, disbursed_amount, monthly_interest_rate (see provider Financial)."""

    installment_value: PositiveMoney | None = None
    disbursed_amount: PositiveMoney | None = None
    monthly_interest_rate: Rate | None = None
    number_of_installments: Annotated[int, Field(ge=1, le=420)]
    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=30)]

    @model_validator(mode="after")
    def _two_of_three(self) -> FinancialTerms:
        exactly(2, self, ("installment_value", "disbursed_amount", "monthly_interest_rate"))
        return self

    @property
    def last_disbursement_date(self) -> date:
        return self.disbursement_date + timedelta(days=self.limit_days_to_disburse)


class Troco(Model):
    """The refinancing of the ported loan that releases new money (the *troco*): its installment and
    rate (the released amount follows, as in a new-credit simulation)."""

    installment_value: PositiveMoney
    monthly_interest_rate: Rate


class PortabilityTerms(Model):
    """The loan to bring over: its bank (ISPB, a CTC participant), its number there and the balance
    the lender expects to pay off; optionally the troco."""

    origin_bank_ispb: Annotated[str, Field(pattern=r"^\d{8}$")]
    origin_contract_number: NonEmptyStr
    last_due_balance: PositiveMoney
    troco: Troco | None = None


class DisbursementAccount(Model):
    bank_code: BankCode
    branch_number: Annotated[str, Field(pattern=r"^\d{1,5}$")]
    account_number: Annotated[str, Field(pattern=r"^\d{1,20}$")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    account_type: Literal["checking_account", "savings_account", "payment_account"] | None = None
    transfer_method: Literal["pix", "ted"] = "pix"
    ispb_number: Annotated[str, Field(pattern=r"^\d{8}$")] | None = None
    holder_name: NonEmptyStr | None = None
    """The holder's name as the bank registers it; the borrower's name when not given."""
    percentage: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(100)
    """Share of the released amount paid into this account (several accounts add up to 100)."""


class RefinancedOperation(Model):
    """An operation a refinancing pays off: the caller names it by its key at the provider; what it
    costs to pay off is the provider's answer (its simulation), not the caller's."""

    operation_key: UUID
    installment_value: PositiveMoney | None = None
    """Credited to the margin the new installment needs (seed 004 §2: refinancing frees it)."""
    payoff_amount: PositiveMoney | None = None
    """What the caller *expects* its payoff to be, if it says: shown to operators beside the
    provider's figure when they differ, never used to price the loan."""


class RebateAccount(Model):
    name: NonEmptyStr
    cnpj: Cnpj
    bank_code: BankCode
    branch_number: Annotated[str, Field(pattern=r"^\d{1,5}$")]
    account_number: Annotated[str, Field(pattern=r"^\d{1,20}$")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]


class Rebate(Model):
    """A share of the operation's spread paid to a partner (seed 004 §4 "objeto financial com rebates")."""

    amount: Annotated[Decimal, Field(gt=0)]
    amount_type: Literal["percentage", "absolute"]
    fee_type: Literal["spread", "tac"] = "spread"
    account: RebateAccount


class DocumentRef(Model):
    """Where the activity fetches a document from: file:// (local store) or https:// (document service)."""

    uri: Annotated[str, Field(pattern=r"^(file|https?)://.+")]


class AuthorizationTerm(Model):
    """The IN100 term the beneficiary (or legal representative) signed: where and when, and what."""

    signed_at: AwareDatetime
    ip_address: IPvAnyAddress
    session_id: NonEmptyStr
    document_key: UUID | None = None  # the signed PDF already uploaded to the provider
    raw_text: NonEmptyStr | None = None  # or the term's running text
    document: DocumentRef | None = None  # or the signed PDF, which the service checks and uploads

    @model_validator(mode="after")
    def _one_form(self) -> AuthorizationTerm:
        if sum(form is not None for form in (self.document_key, self.raw_text, self.document)) != 1:
            raise ValueError("give exactly one of document_key, raw_text or document")
        return self


class Documents(Model):
    identity_front: DocumentRef
    identity_back: DocumentRef
    selfie: DocumentRef

    _distinct = all_different(
        "identity_front",
        "identity_back",
        "selfie",
        by="uri",
        refusal="identity_front, identity_back and selfie must be three different documents",
    )


class LoanRequest(Model):
    request_key: Annotated[str, Field(pattern=REQUEST_KEY_PATTERN)]
    """The caller's key: the workflow id is derived from it, and so is the provider's
    requester_identifier_key (a UUID, loan.mapping), so starting or issuing twice never makes a
    second loan."""
    product: Product = Product.NEW_CREDIT
    refinanced_operations: list[RefinancedOperation] = Field(default_factory=list)
    borrower: Person
    benefit: Benefit
    legal_representative: LegalRepresentative | None = None
    financial: FinancialTerms
    disbursement_accounts: list[DisbursementAccount] = Field(default_factory=list)
    """Where the money goes (several split it by percentage). Empty: the account the benefit is
    paid into, as the balance consultation names it (seeds 000 and 003)."""
    authorization_term: AuthorizationTerm
    documents: Documents | None = None
    contract_number: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    rebates: list[Rebate] = Field(default_factory=list)
    provider: ProviderId | None = None
    """Who issues the loan; None: the lender's routing rules decide when it starts (``workflows.loan.routing``)."""
    provider_product: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    """The provider's product code where it has a table of them (seed 003's ``cod_tabela``)."""
    portability: PortabilityTerms | None = None
    """For ``product: portability``: the contract brought over (``financial`` holds the new terms:
    the installment expected and the rate sent)."""

    @model_validator(mode="before")
    @classmethod
    def _earlier_shape(cls, data: Any) -> Any:
        # Loans started before accounts could be split or refinanced installments credited carry
        # one ``disbursement_account`` and bare ``refinanced_operation_keys`` in their input.
        if not isinstance(data, dict) or not {"disbursement_account", "refinanced_operation_keys"} & set(data):
            return data
        data = dict(data)
        account = data.pop("disbursement_account", None)
        if account is not None and "disbursement_accounts" not in data:
            data["disbursement_accounts"] = [account]
        keys = data.pop("refinanced_operation_keys", None)
        if keys and "refinanced_operations" not in data:
            data["refinanced_operations"] = [{"operation_key": key} for key in keys]
        return data

    @model_validator(mode="after")
    def _consistent(self) -> LoanRequest:
        refinances = self.product in (Product.REFINANCING, Product.MINIMUM_WAGE_INCREASE)
        if self.product == Product.REFINANCING and not self.refinanced_operations:
            raise ValueError("refinanced_operations: a refinancing needs the operations it refinances")
        if not refinances and self.refinanced_operations:
            raise ValueError("refinanced_operations: only a refinancing (or a minimum-wage increase) refinances")
        if len({op.operation_key for op in self.refinanced_operations}) != len(self.refinanced_operations):
            raise ValueError("refinanced_operations: an operation is listed twice")
        if (self.product == Product.PORTABILITY) != (self.portability is not None):
            raise ValueError("portability: a portability needs its terms, and only a portability has them")
        if self.portability and self.financial.monthly_interest_rate is None:
            raise ValueError("financial.monthly_interest_rate: a portability is offered at a rate")
        if self.portability and self.portability.troco and not self.disbursement_accounts:
            raise ValueError("disbursement_accounts: the troco needs the borrower's account")
        if self.legal_representative and self.legal_representative.cpf == self.borrower.cpf:
            raise ValueError("legal_representative.cpf: the representative cannot be the beneficiary")
        shares = sum((a.percentage for a in self.disbursement_accounts), Decimal(0))
        if self.disbursement_accounts and shares != 100:
            raise ValueError(f"disbursement_accounts: the percentages add up to {shares}, not 100")
        return self

    @property
    def signer(self) -> Person:
        return self.legal_representative or self.borrower

    @property
    def refinanced_operation_keys(self) -> list[UUID]:
        return [op.operation_key for op in self.refinanced_operations]

    @property
    def expected_payoff(self) -> Decimal | None:
        """What the caller expects the refinanced operations to cost (None: it did not say)."""
        given = [op.payoff_amount for op in self.refinanced_operations if op.payoff_amount is not None]
        return sum(given, Decimal(0)) if given else None

    @property
    def refinanced_installments(self) -> Decimal:
        """The monthly installments the refinanced operations free (those whose value is known)."""
        return sum((op.installment_value or Decimal(0) for op in self.refinanced_operations), Decimal(0))


# ------------------------------------------------------------------ operator actions (Workflow Updates)


class VerifiedOperator(BaseModel):
    """Who took an action, as verified where it entered: ``via`` ``sso`` when the codec server checked
    the operator's SSO token and group and sealed their name into the encrypted payload;
    ``development`` when a developer's own codec keys sealed a name (refused in production)."""

    model_config = ConfigDict(frozen=True)

    name: str
    subject: str
    via: str = "sso"
    at: AwareDatetime | None = None  # when the codec server sealed it

    def __str__(self) -> str:
        return self.name if self.name == self.subject else f"{self.name} ({self.subject})"


class OperatorCommand(Model):
    """An operator's action. ``verified_operator`` is never the caller's to set: the worker fills it from
    the seal inside the encrypted payload (``runtime.codec.operator_seal``) and empties it without one,
    whatever the caller wrote here."""

    verified_operator: VerifiedOperator | None = None


class BiometryAnalysisReference(StrEnum):
    """Which base the borrower's face was matched against (seeds 001/004 §6 "Biometry Analysis Reference")."""

    SERPRO = "serpro"
    TSE = "tse"
    NOT_FOUND = "not_found"


class SignatureEvidence(BaseModel):
    """The borrower's signature evidence (seed 001 §6): what an operator submits and what each provider's
    signature call sends. Its fields only (no configuration): each model that carries it keeps its own."""

    ip_address: IPvAnyAddress
    signature_datetime: AwareDatetime
    similarity_score: Annotated[Decimal, Field(ge=0, le=1)] | None = None
    biometry_analysis_reference: BiometryAnalysisReference

    @model_validator(mode="after")
    def _score(self) -> Self:
        if self.similarity_score is None and self.biometry_analysis_reference != BiometryAnalysisReference.NOT_FOUND:
            raise ValueError("similarity_score is required unless biometry_analysis_reference is not_found")
        return self


class SignatureSubmission(SignatureEvidence, OperatorCommand):
    """The borrower's signature evidence, as the formalization front end collected it (seed 001 §6)."""


class CollateralFix(OperatorCommand):
    """An operator's correction of the averbação data: bank account, benefit number or name (seed 004 §7)."""

    disbursement_account: DisbursementAccount | None = None
    benefit_number: BenefitNumber | None = None
    name: NonEmptyStr | None = None
    note: str = ""

    _something = at_least_one(
        "disbursement_account",
        "benefit_number",
        "name",
        refusal="correct at least one of disbursement_account, benefit_number, name",
    )


class InstallmentReduction(OperatorCommand):
    installment_value: PositiveMoney
    note: str = ""


class Reapresentacao(OperatorCommand):
    """Present a refused disbursement again: a new date inside the window, and optionally a new account."""

    disbursement_date: date
    disbursement_account: DisbursementAccount | None = None
    note: str = ""


class CancelRequest(OperatorCommand):
    reason: NonEmptyStr
    operator: NonEmptyStr = "operator"  # as the caller says; the verified operator, when there is one, prevails


class ChangeApproval(OperatorCommand):
    """A second operator's decision on a change to where the money goes (maker-checker): ``change_id``
    names the change they reviewed (``LoanState.pending_change.id``)."""

    change_id: NonEmptyStr
    approve: bool = True
    note: str = ""
