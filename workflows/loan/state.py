"""Everything a loan carries: one typed object, queried whole and passed through continue-as-new."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.benefit import BenefitFacts
from domain.loan import DisbursementAccount, Product
from workflows.loan.news import ProviderNews


class PortabilityFacts(BaseModel):
    """What a portability proposal has become, as the provider's webhooks and answers say."""

    proposal_key: str
    portability_leg_key: str | None = None
    refinancing_leg_key: str | None = None
    signing_links: dict[str, str] = Field(default_factory=dict)  # leg → its CCB's address
    proposal_status: str | None = None
    portability_number: str | None = None
    ctc_rejection: str | None = None
    consent_status: str | None = None
    consent_deadline: date | None = None
    retention: str | None = None
    final_due_balance: Decimal | None = None
    legs_signed: bool = False
    paid: bool = False
    portability_reserved: bool = False
    last_portability_answer: str | None = None
    installment: Decimal | None = None  # the portability leg's, as the provider priced it
    margin_exceeded: bool = False  # Dataprev's last answer for the portability leg: HW
    origin_query_key: str | None = None  # the origin-contract query (seed 002 §12) this loan made
    released_installment: Decimal | None = None  # what the origin bank released, as Dataprev says
    origin_query_failure: str | None = None
    reduction_offer: Decimal | None = None  # the installment that fits the margin, when it does not
    reductions: int = 0
    troco_disbursed: bool = False
    legs_canceled: list[str] = Field(default_factory=list)

    def keys(self) -> set[str]:
        keys = (self.proposal_key, self.portability_leg_key, self.refinancing_leg_key, self.origin_query_key)
        return {k for k in keys if k}


class Stage(StrEnum):
    CONSULTATION = "consultation"
    SIMULATION = "simulation"
    ELIGIBILITY = "eligibility"
    ISSUANCE = "issuance"
    DOCUMENTS = "documents"
    AWAITING_DOCUMENTS = "awaiting_documents"
    AWAITING_SIGNATURE = "awaiting_signature"
    SIGNATURE_VALIDATION = "signature_validation"
    MARGIN_RELEASE = "margin_release"
    AVERBACAO = "averbacao"
    AWAITING_BENEFICIARY_CONFIRMATION = "awaiting_beneficiary_confirmation"  # anuência, in Meu INSS
    AWAITING_COLLATERAL_CORRECTION = "awaiting_collateral_correction"
    AWAITING_INSTALLMENT_REDUCTION = "awaiting_installment_reduction"
    BALANCE_RECHECK = "balance_recheck"
    DISBURSEMENT = "disbursement"
    AWAITING_REAPRESENTACAO = "awaiting_reapresentacao"
    # A portability (Port+Refin): the proposal, the CTC's answer, the beneficiary's consent, the
    # origin bank's answer, the payoff; then the signature and averbação stages above; the troco.
    PROPOSAL = "proposal"
    CTC_ANSWER = "ctc_answer"
    CONSENT = "consent"
    ORIGIN_BANK = "origin_bank"
    PAYOFF = "payoff"
    TROCO = "troco"
    CLOSED = "closed"


class Status(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    CANCELED_PERMANENTLY = "canceled_permanently"


class RuleFailure(BaseModel):
    rule: str
    message: str
    source: str


class PricedOption(BaseModel):
    """One disbursement option, as the provider priced it (the figures the loan depends on)."""

    disbursement_date: date
    first_due_date: date | None = None
    last_due_date: date | None = None
    installment_value: Decimal | None = None
    issue_amount: Decimal | None = None
    released_amount: Decimal | None = None
    total_iof: Decimal | None = None
    monthly_rate: Decimal | None = None
    monthly_cet: Decimal | None = None
    annual_cet: Decimal | None = None


class PricingCheck(BaseModel):
    """The local engine's verdict on the provider's simulation (issue: catch a provider changing numbers)."""

    matches: bool
    differences: list[str] = Field(default_factory=list)


class DataprevAnswer(BaseModel):
    enumerator: str
    code: str | None = None
    description: str | None = None
    action: str  # retry | cancel | confirm | unknown
    at: datetime | None = None


class Signer(BaseModel):
    """Who signs the CCB, as the provider's issuance answer lists them (for the formalization front end)."""

    name: str | None = None
    document_number: str | None = None
    role: str | None = None
    email: str | None = None
    signature_url: str | None = None


class EventRecord(BaseModel):
    """A provider event as the loan saw it (the full payload stays in the workflow history)."""

    event_id: str
    webhook_type: str
    key: str
    status: str | None = None
    detail: str | None = None
    occurred_at: datetime | None = None
    received_at: datetime
    effect: str = ""


class OperatorAction(BaseModel):
    kind: str
    at: datetime
    note: str = ""


class LoanState(BaseModel):
    request_key: str
    product: Product
    rules_name: str | None = None  # the rule set it decides by (loan.rules)
    stage: Stage = Stage.CONSULTATION
    status: Status = Status.IN_PROGRESS
    outcome_reason: str | None = None
    rejection: list[RuleFailure] = Field(default_factory=list)

    # provider keys
    requester_identifier_key: str | None = None  # ours, at the provider: quote it in support calls
    benefits_request_key: str | None = None
    balance_request_keys: list[str] = Field(default_factory=list)
    debt_key: str | None = None
    contract_number: str | None = None
    related_party_key: str | None = None

    # consultation
    term_document_key: str | None = None  # the authorization term's PDF, uploaded by the service
    listed_benefits: list[str] | None = None
    consultation_failure: str | None = None
    balance: BenefitFacts | None = None
    balance_failure: str | None = None

    # eligibility: risks the rules let through, stated for operators (never a silent reject)
    eligibility_risks: list[RuleFailure] = Field(default_factory=list)
    disbursement_accounts: list[DisbursementAccount] | None = None  # where the money goes (edition 2)

    # pricing
    chosen_option: PricedOption | None = None
    pricing_check: PricingCheck | None = None
    issued_options: list[PricedOption] = Field(default_factory=list)
    installment_value: Decimal | None = None

    # deadlines
    consultation_deadline: datetime | None = None
    disbursement_window_end: datetime | None = None
    margin_release_at: datetime | None = None
    correction_deadline: datetime | None = None

    # formalization: what a signing front end needs
    contract_urls: list[str] = Field(default_factory=list)
    signers: list[Signer] = Field(default_factory=list)
    documents_attached: bool = False
    document_problem: str | None = None
    signature_submitted_at: datetime | None = None
    signature_received: bool = False

    # averbação
    collateral_constituted: bool = False
    last_dataprev: DataprevAnswer | None = None
    averbacao_answers: int = 0
    corrections: int = 0
    corrected_benefit_number: str | None = None  # carried into every later call
    corrected_name: str | None = None
    reservation_status: str | None = None  # Dataprev's success returns besides the inclusion (BF, BR, BS)
    pending_action: str | None = None
    # Anuência: the reservation waits for the beneficiary's confirmation in Meu INSS until then.
    confirmation_deadline: datetime | None = None
    confirmation_notices: int = 0
    pending_reservation_amount: Decimal | None = None
    rechecks: int = 0
    # The provider refused the new balance request's confirmation (its code and words): the loan waits
    # for the provider to resume the averbação instead of canceling the debt for good.
    balance_confirmation_refused: str | None = None

    # disbursement
    disbursed: bool = False
    refusal: str | None = None
    refusals: int = 0
    reapresentacoes: int = 0

    # how the provider ended it, if it did: (status, reason)
    provider_final_status: str | None = None
    provider_final_reason: str | None = None

    events: list[EventRecord] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    duplicate_events: int = 0
    lookups: int = 0  # times the loan asked the provider for its state after a silence
    # A polled provider's operation (``workflows.loan.port``): who, its own status words, the borrower's
    # formalization link (for the sales channel; not in the Web UI's details), how often asked.
    provider: str | None = None
    provider_status: str | None = None
    formalization_link: str | None = None
    polls: int = 0
    stage_since: datetime | None = None  # when the loan entered its current stage (stage durations)
    portability: PortabilityFacts | None = None
    buffered: list[ProviderNews] = Field(default_factory=list)
    unknown_values: list[str] = Field(default_factory=list)
    operator_actions: list[OperatorAction] = Field(default_factory=list)
    actions_done: list[str] = Field(default_factory=list)  # operators' actions taken, by identity (once each)
    released_keys: bool = False
    runs: int = 1

    @property
    def closed(self) -> bool:
        return self.status != Status.IN_PROGRESS

    def known_keys(self) -> set[str]:
        keys = {k for k in (self.benefits_request_key, self.debt_key) if k}
        if self.portability is not None:
            keys |= self.portability.keys()
        return keys | set(self.balance_request_keys)
