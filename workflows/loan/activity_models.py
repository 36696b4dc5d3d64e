"""One input object per activity, and their results."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.loan import (
    CollateralFix,
    DisbursementAccount,
    DocumentRef,
    Documents,
    LoanRequest,
    ProviderId,
    SignatureSubmission,
)
from workflows.loan.news import ProviderNews
from workflows.loan.state import PricedOption, PricingCheck, RefinancedBalance, Signer


class ConsultationInput(BaseModel):
    loan_id: str
    request: LoanRequest
    attempt: int = 0  # a new balance request after "success_balance_request_not_found" is attempt 1, 2, ...
    benefit_number: str | None = None  # an operator's correction of the benefit number, carried on
    term_document_key: str | None = None  # the authorization term's PDF, once uploaded


class TermUploadInput(BaseModel):
    request_key: str
    term: DocumentRef


class TermUploaded(BaseModel):
    document_key: str


class ProviderKey(BaseModel):
    key: str
    status: str | None = None


class SimulateInput(BaseModel):
    request: LoanRequest


def option_for(options: list[PricedOption], day: date) -> PricedOption | None:
    """The option a loan takes: the one for its disbursement ``day``, else the first (None: none)."""
    return next((o for o in options if o.disbursement_date == day), options[0] if options else None)


class Simulated(BaseModel):
    options: list[PricedOption]
    """Loans simulated before the answer was trimmed (``only_for``) recorded every option."""
    pricing_check: PricingCheck
    refinanced: list[RefinancedBalance] = Field(default_factory=list)
    """The refinanced operations' payoffs, when the provider's answer lists them."""

    def only_for(self, day: date) -> Simulated:
        """The answer as the loan reads it: only the option it takes (``option_for``), the pricing check
        still the verdict on every option. The loan chooses the same option from this as from all of
        them, and its history keeps one option instead of one per day of the disbursement window."""
        chosen = option_for(self.options, day)
        return self.model_copy(update={"options": [chosen] if chosen is not None else []})


class IssueInput(BaseModel):
    loan_id: str
    request: LoanRequest
    assistance_type: str | None
    # The edition-2 decisions the workflow pinned (None in loans issued before them):
    requester_identifier_key: str | None = None
    disbursement_accounts: list[DisbursementAccount] | None = None
    politically_exposed: bool | None = None
    benefit_number: str | None = None


class Issued(BaseModel):
    debt_key: str
    contract_number: str | None
    related_party_key: str
    options: list[PricedOption]
    contract_urls: list[str] = Field(default_factory=list)
    signers: list[Signer] = Field(default_factory=list)


class DocumentsInput(BaseModel):
    request_key: str
    debt_key: str
    related_party_key: str
    documents: Documents


class SignInput(BaseModel):
    debt_key: str
    submission: SignatureSubmission
    requester_identifier_key: str | None = None  # to read the debt first on a retry (None: loans before it)


class CorrectionInput(BaseModel):
    debt_key: str
    fix: CollateralFix
    account_holder_name: str
    account_holder_cpf: str
    # When Dataprev gave the answer that waits for this correction: a retry that finds a later answer
    # knows the provider took the correction and asked again (None: loans before it, or no such answer).
    answered_at: datetime | None = None


class RecalculateInput(BaseModel):
    debt_key: str
    installment_value: Decimal


class Recalculated(BaseModel):
    options: list[PricedOption]


class ConfirmBalanceInput(BaseModel):
    debt_key: str
    balance_request_key: str


class DebtKeyInput(BaseModel):
    debt_key: str


class ReapresentacaoInput(BaseModel):
    debt_key: str
    disbursement_date: date
    account: DisbursementAccount | None
    account_holder_name: str
    account_holder_cpf: str


class ReleaseInput(BaseModel):
    loan_id: str
    keys: list[str] = Field(default_factory=list)


class LookupInput(BaseModel):
    """What a loan that heard nothing for too long asks the provider about."""

    debt_key: str
    requester_identifier_key: str | None = None
    collateral: bool = False


class LookedUp(BaseModel):
    """The provider's state, as the webhooks it would have sent (applied once each, by identity)."""

    events: list[ProviderNews] = Field(default_factory=list)
    not_found: list[str] = Field(default_factory=list)
    """What the loan holds a key for and the provider answered "not found" for (``debt``, ``proposal``)."""


class ProposalInput(BaseModel):
    loan_id: str
    request: LoanRequest
    assistance_type: str | None = None
    politically_exposed: bool | None = None


class Proposed(BaseModel):
    """A portability proposal as created: its key, its legs' keys and their CCBs' addresses."""

    proposal_key: str
    portability_leg_key: str | None = None
    refinancing_leg_key: str | None = None
    signing_links: dict[str, str] = Field(default_factory=dict)
    portability_installment: Decimal | None = None
    troco: Decimal | None = None  # what the refinancing leg pays the borrower, as the provider priced it


class SignLegsInput(BaseModel):
    proposal_key: str
    signing_links: dict[str, str]
    submission: SignatureSubmission


class ProposalKeyInput(BaseModel):
    proposal_key: str


class OriginQueryInput(BaseModel):
    loan_id: str
    portability_leg_key: str
    portability_number: str
    attempt: int = 0


class OriginQueried(BaseModel):
    origin_query_key: str


class PortabilityReductionInput(BaseModel):
    proposal_key: str
    installment_value: Decimal


class PortabilityReduced(BaseModel):
    """The portability leg after the reduction: its installment and the new CCB to sign."""

    installment_value: Decimal
    document_url: str | None = None


class PortabilityPricingInput(BaseModel):
    request: LoanRequest
    today: date  # the disbursement date the legs are priced for (the workflow's clock, pinned)
    max_monthly_rate: Decimal
    max_installments: int


class PortabilityPriced(BaseModel):
    """The local engine's price of a portability, or why it refuses the offer (naming the field)."""

    installment: Decimal | None = None
    troco: Decimal | None = None
    refusal: str | None = None


class ProposalLookupInput(BaseModel):
    proposal_key: str
    collateral: bool = False  # also each leg's last Dataprev answer (from the payoff on)


class AdmissionInput(BaseModel):
    """A loan its caller started without a provider or without its CPF hash (``activities.admission``)."""

    request: LoanRequest
    route: bool
    hash_cpf: bool


class Admitted(BaseModel):
    provider: ProviderId | None = None
    in100: bool = True  # the routed loan has its IN100 consultation (workflows.loan.routing.consults)
    refusal: str | None = None  # no provider can take it: the field and why
    cpf_hash: str | None = None  # None: the worker holds no PII_HASH_KEY
