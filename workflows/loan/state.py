"""Everything a loan carries: one typed object, queried whole and passed through continue-as-new."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.benefit import BenefitFacts
from domain.loan import CollateralFix, DisbursementAccount, Product, Reapresentacao, VerifiedOperator
from workflows.loan.loan_events import SalesChannelLog
from workflows.loan.news import ProviderNews

# Stage and Status live in workflows.loan.stages (the sales channel's events use them too); most code
# imports them from here.
from workflows.loan.stages import Stage, Status

__all__ = [
    "DataprevAnswer",
    "EventRecord",
    "LoanState",
    "OperatorAction",
    "PortabilityFacts",
    "PricedOption",
    "PricingCheck",
    "RuleFailure",
    "Signer",
    "Stage",
    "Status",
]


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
    payoff: Decimal | None = None
    """What the provider pays off of the refinanced operations out of this option (None: nothing,
    or the answer does not say); the borrower receives ``released_amount``, after it."""


class RefinancedBalance(BaseModel):
    """One refinanced operation's payoff, as the provider's answer lists it."""

    operation_key: str
    payoff_amount: Decimal


class RefinancingPayoff(BaseModel):
    """What a refinancing pays off: the provider's figure (its simulation), beside the caller's
    expectation — the caller names the contracts, the provider says what they cost."""

    provider: Decimal | None
    """None: the provider's answer did not say (then nothing is assumed)."""
    expected: Decimal | None = None
    """What the request expected (``refinanced_operations[].payoff_amount``), when it said."""
    operations: list[RefinancedBalance] = Field(default_factory=list)

    @property
    def differs(self) -> bool:
        return self.expected is not None and self.provider is not None and self.expected != self.provider

    def text(self) -> str:
        theirs = (
            f"the provider pays off {self.provider}" if self.provider is not None else "the provider gave no payoff"
        )
        if self.expected is None:
            return theirs
        return f"{theirs}, the caller expected {self.expected}"


class PriceMismatch(BaseModel):
    """One figure where the provider's price is not ours, to the cent: which, ours, theirs."""

    field: str
    ours: str | None
    """None: our engine could not price it."""
    theirs: str | None
    """None: the provider's answer does not give it."""
    disbursement_date: date | None = None

    def text(self) -> str:
        day = f"{self.disbursement_date} " if self.disbursement_date else ""
        return f"{day}{self.field}: ours {self.ours or 'none'}, theirs {self.theirs or 'none'}"


class PricingCheck(BaseModel):
    """The local engine's verdict on the provider's price (issue: catch a provider changing numbers).
    ``matches`` only when some figure was compared and none differs."""

    matches: bool
    differences: list[str] = Field(default_factory=list)
    """In words (loans recorded before ``mismatches`` carry only these)."""
    mismatches: list[PriceMismatch] = Field(default_factory=list)


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
    # Who: the verified operator (sealed by the codec server after checking their SSO token), else
    # the name the caller gave, if any, with ``verified`` false.
    by: str | None = None
    verified: bool = False


class PendingChange(BaseModel):
    """A change to where the money goes, proposed by one operator, waiting for a second one (maker-checker);
    nothing reaches the provider before the approval."""

    id: str
    action: str  # the Update that proposed it: correct_collateral or reapresentar
    fix: CollateralFix | None = None
    reapresentacao: Reapresentacao | None = None
    proposed_by: VerifiedOperator
    at: datetime


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
    payoff: RefinancingPayoff | None = None
    """A refinancing's payoff, from the provider's simulation (and what the caller expected)."""
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
    # What the loan holds a key for and the provider answered "not found" for (``debt``, ``proposal``),
    # since when: shown to operators and filterable (ProviderDoesNotKnow); cleared once it is found.
    provider_does_not_know: list[str] = Field(default_factory=list)
    provider_does_not_know_since: datetime | None = None
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
    pending_change: PendingChange | None = None  # waits for a second operator's approval
    actions_done: list[str] = Field(default_factory=list)  # operators' actions taken, by identity (once each)
    released_keys: bool = False
    runs: int = 1
    # What the lender's sales channel was told (workflows.loan.sales_channel), and what waits for the outbox.
    sales_channel: SalesChannelLog = Field(default_factory=SalesChannelLog)

    @property
    def closed(self) -> bool:
        return self.status != Status.IN_PROGRESS

    def known_keys(self) -> set[str]:
        keys = {k for k in (self.benefits_request_key, self.debt_key) if k}
        if self.portability is not None:
            keys |= self.portability.keys()
        return keys | set(self.balance_request_keys)
