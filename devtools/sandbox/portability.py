"""The sandbox's portability + refinancing (Port+Refin, seed 002): a proposal that moves through the
CTC, the beneficiary's consent, the origin bank's answer, the payoff and each leg's averbação over
time, with webhooks in the seed's and the public pages' shapes, per-CPF scenarios, and the provider's
calls a lender makes for the flow. A test double of the provider, never production.

The order of events is not published (README, portability assumptions); the sandbox plays this one,
kept here only:

1. ``POST /v2/credit_transfer/proposal`` answers ``pending_response`` with both legs
   ``waiting_signature``.
2. The CTC answers: ``rejected`` (``data.error``; the proposal ends) or ``pending_acceptance`` with
   the portability number (NU).
3. The consent is registered at Dataprev (``credit_transfer.portability_authorization``
   ``awaiting_confirmation``, deadline registration + 5 days), then ``confirmed`` — or ``expired``
   (or ``denied``), and the proposal is ``canceled``.
4. The origin bank answers: ``retained`` (``data.retained_reason``; the proposal ends) or
   ``accepted`` with its balance and contract.
5. Once accepted and every leg signed, the payoff: ``settlement_sent`` (``data.receipt``),
   ``pending_settlement_confirmation``, ``paid``.
6. The origin bank releases its reservation (what the origin-contract query then shows), and the
   portability leg's averbação runs (``credit_transfer.proposal.collateral``; teimosinha on every
   error but HX, seed 002 §14): the new installment must fit in what was released plus the free
   margin, or Dataprev answers HW until the lender lowers it (seed 002 §13) and signs the new CCB.
   Without a successful balance request for the benefit it waits "for the partner's action"
   (proposta page) and resumes by itself once one exists.
7. Then the refinancing leg's averbação (``credit_operation.collateral``, keyed by the leg, seed 002
   §11), then the troco: ``credit_transfer.proposal.credit_operation`` ``disbursed``.

A proposal that ends unpaid cancels its legs (``credit_transfer.proposal.credit_operation``
``canceled`` each).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, TypeVarTuple

from fastapi import APIRouter, Request
from fastapi.responses import Response
from opentelemetry import propagate
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from devtools.sandbox import dataprev
from devtools.sandbox.bodies import (
    InstallmentReduction,
    LegSignature,
    OriginContractQuery,
    PortabilityFinancial,
    ProposalRequest,
    RefinancingFinancial,
)
from devtools.sandbox.clock import now
from devtools.sandbox.enumerators import (
    CONSENT_DEADLINE_DAYS,
    RETENTION_REASONS,
    CreditOperationLeg,
    CreditOperationStatus,
    PortabilityAuthorizationStatus,
    PortRefinWebhookType,
    ProposalStatus,
    retention_reason,
)
from devtools.sandbox.journal import Durable, peek
from devtools.sandbox.offers import issuance_option
from devtools.sandbox.pricing import Option, PricingError, Terms, limits_broken, money, quote
from devtools.sandbox.provider import MIN_DOCUMENT_SIDE, SandboxProvider, naive_local, t_local, z_utc
from devtools.sandbox.refusal import SUSPENDED, ProviderRefusal, validation_refusal
from devtools.sandbox.scenarios import SUCCESS, AverbacaoStep, Faults
from devtools.sandbox.timers import Timer, method_name
from devtools.sandbox.wire import decode, json_response

M = TypeVar("M", bound=BaseModel)
Ts = TypeVarTuple("Ts")

LENDER_ISPB = "32402502"  # the provider's own (seed 002 §13's account); the payoff leaves from it
PARTICIPANTS: tuple[dict[str, str], ...] = (
    {"name": "BCO DO BRASIL S.A.", "bank_code": "001", "ispb": "00000000"},
    {"name": "BCO SANTANDER (BRASIL) S.A.", "bank_code": "033", "ispb": "90400888"},
    {"name": "CAIXA ECONOMICA FEDERAL", "bank_code": "104", "ispb": "00360305"},
    {"name": "BCO BRADESCO S.A.", "bank_code": "237", "ispb": "60746948"},
    {"name": "BCO BMG S.A.", "bank_code": "318", "ispb": "61186680"},
    {"name": "QI SOCIEDADE DE CRÉDITO DIRETO S.A.", "bank_code": "329", "ispb": LENDER_ISPB},
    {"name": "ITAÚ UNIBANCO S.A.", "bank_code": "341", "ispb": "60701190"},
    {"name": "BCO PAN S.A.", "bank_code": "623", "ispb": "59285411"},
    {"name": "CETELEM-BNP", "bank_code": "752", "ispb": "01522368"},
)
"""The CTC participants the sandbox lists (seed 002 §9's shape; public bank codes and ISPBs)."""

CTC_REJECTION_TEXT = {
    "ECTC0023": "portability already in progress for this contract",
    "ECTC0028": "portability already finished for this contract",
}
MIN_TROCO_SHARE = Decimal("0.05")
"""The troco must be at least 5 % of (Σ refinancing installments − Σ portability installments), else
CT000118 (docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/simulacao)."""
ORIGIN_INSTALLMENTS, ORIGIN_OPEN_INSTALLMENTS = 84, 60
"""The origin contract the sandbox makes up for the CTC's answer: 84 installments, 60 still open."""


class PortabilityScenario(BaseModel):
    """Per-CPF behaviour of Port+Refin (``PUT /_sandbox/portability/scenarios/{cpf}``); the default is
    the happy path: accepted, consent confirmed, both legs reserved, troco disbursed."""

    model_config = ConfigDict(extra="forbid")

    # The CTC refuses the proposal with this code (e.g. "ECTC0023").
    ctc_rejection: Annotated[str, Field(pattern=r"^[A-Z0-9]{4,12}$")] | None = None
    consent: Literal["confirmed", "expired", "denied"] = "confirmed"
    # The authorization first waits this long in pending_inclusion (its registration at Dataprev, as
    # published: docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/webhook-autorizacao-
    # de-portabilidade), with no deadline yet. Unset: registered at once (ours, the earlier shape).
    pending_inclusion_seconds: Annotated[float, Field(gt=0, le=600)] | None = None
    retention: Annotated[str, AfterValidator(retention_reason)] | None = None  # the origin bank retains the client
    final_due_balance: Decimal | None = None  # the origin bank's balance (default: last_due_balance)
    # The installment the origin bank releases at Dataprev (default: the new portability installment).
    released_installment: Decimal | None = None
    # Margin free besides what is released (default: the CPF's loans margin, sandbox.scenarios).
    free_margin: Decimal | None = None
    # Each averbação attempt of a leg takes the next step ("success" or an averbação enumerator); the
    # last step repeats. Unset: the margin decides.
    portability_averbacao: list[AverbacaoStep] | None = None
    refinancing_averbacao: list[AverbacaoStep] | None = None
    # The origin-contract query (seed 002 §12) fails with this enumerator.
    origin_contract_failure: str | None = None


@dataclass
class Leg:
    kind: CreditOperationLeg
    key: str
    contract_number: str
    installment: Decimal
    number_of_installments: int
    options: list[dict[str, Any]]
    final_disbursement_amount: Decimal
    accounts: list[dict[str, Any]]
    fine_configuration: dict[str, Any]
    document_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = CreditOperationStatus.WAITING_SIGNATURE.value
    signed_url: str | None = None
    collateral_constituted: bool = False
    collateral_status: str = "pending_reservation"
    last_response: dict[str, Any] = field(default_factory=dict)
    last_response_at: datetime | None = None
    attempts: int = 0
    generation: int = 0  # bumped to void the leg's scheduled attempts (a new CCB to sign)

    @property
    def document_url(self) -> str:
        return f"https://sandbox.invalid/documents/{self.key}/{self.document_key}/CCB-{self.contract_number}.pdf"

    @property
    def signed(self) -> bool:
        return self.signed_url is not None

    def answer(self) -> dict[str, Any]:
        """Seed 002 §13's shape."""
        return {
            "credit_operation_key": self.key,
            "contract_number": self.contract_number,
            "document_key": self.document_key,
            "document_url": self.document_url,
            "signed_url": self.signed_url,
            "credit_operation_status": self.status,
            "fine_configuration": self.fine_configuration,
            "disbursement_accounts": self.accounts,
            "disbursement_options": self.options,
            "final_disbursement_amount": self.final_disbursement_amount,
            "collateral_is_constituted": self.collateral_constituted,
        }


@dataclass
class Proposal:
    key: str
    request: ProposalRequest
    balance: Decimal  # what the payoff pays: last_due_balance, then the origin bank's answer
    portability: Leg
    refinancing: Leg | None
    borrower_party_key: str
    status: str = ProposalStatus.PENDING_RESPONSE.value
    portability_number: str | None = None
    started_on: date | None = None
    authorization_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    authorization_status: str | None = None
    consent_requested_at: datetime | None = None
    released: Decimal | None = None  # the origin bank's installment, once it removed its contract
    released_on: date | None = None
    waiting_for_consultation: bool = False
    generation: int = 0  # bumped when the proposal ends: voids every scheduled step

    @property
    def cpf(self) -> str:
        return self.request.cpf

    @property
    def benefit_number(self) -> str:
        return self.request.collaterals[0].collateral_data.benefit_number

    @property
    def legs(self) -> list[Leg]:
        return [self.portability] + ([self.refinancing] if self.refinancing else [])

    @property
    def ended(self) -> bool:
        return self.status in {"rejected", "retained", "canceled"}

    def answer(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "proposal_key": self.key,
            "proposal_status": self.status,
            "borrower": {
                "name": self.request.borrower.name,
                "document_number": self.cpf,
                "related_party_key": self.borrower_party_key,
            },
            "portability_credit_operation": self.portability.answer(),
            "origin_contract": self.request.origin_contract.model_dump(mode="python", exclude_none=True),
        }
        if self.portability_number:
            body["portability_number"] = self.portability_number
        if self.refinancing:
            body["refinancing_credit_operation"] = self.refinancing.answer()
        return body


def participant(ispb: str) -> dict[str, str] | None:
    return next((p for p in PARTICIPANTS if p["ispb"] == ispb), None)


class PortabilitySandbox(Durable):
    """The proposals, their timers and webhooks; HTTP lives in :func:`portability_routes`."""

    DURABLE_KEYED = ("scenarios", "proposals", "_by_leg")  # sandbox.persistence
    DURABLE_SINGLE = ("_next_contract", "_next_number")

    def __init__(self, provider: SandboxProvider) -> None:
        self.provider = provider
        self.settings = provider.settings
        self.scenarios: dict[str, PortabilityScenario] = {}
        self.proposals: dict[str, Proposal] = {}
        self._by_leg: dict[str, str] = {}
        self._next_contract = 1
        self._next_number = 298_096_242
        provider.timers.register("proposal", self)

    def scenario(self, cpf: str) -> PortabilityScenario:
        return self.scenarios.get(cpf) or PortabilityScenario()

    def proposal(self, key: str) -> Proposal:
        found = self.proposals.get(key)
        if found is None:
            raise ProviderRefusal(404, "CT000404", f"proposal {key} not found", "Not Found")
        return found

    def by_leg_key(self, credit_operation_key: str) -> Proposal:
        key = self._by_leg.get(credit_operation_key)
        if key is None:
            raise ProviderRefusal(404, "COP000027", f"credit operation {credit_operation_key} not found", "Not Found")
        return self.proposals[key]

    # ------------------------------------------------------------ plumbing

    def _faults(self, proposal: Proposal) -> Faults:
        return self.provider.faults_for(proposal.cpf)

    async def _send(self, key: str, body: dict[str, Any], faults: Faults) -> None:
        delay = 0.0 if faults.webhook_before_response else self.settings.processing_delay_seconds
        trace_headers: dict[str, str] = {}
        propagate.inject(trace_headers)  # the webhook continues the trace of the call that caused it
        await self.provider.dispatcher.submit(key, body, faults, delay=delay, headers=trace_headers)

    def _later(
        self,
        proposal: Proposal,
        delay: float,
        step: Callable[[Proposal, *Ts], Awaitable[None]],
        *args: *Ts,
        leg: Leg | None = None,
    ) -> None:
        """Run ``step(proposal, *args)`` after ``delay`` unless the proposal ended (or the leg got a new
        CCB) meanwhile. ``step`` is one of this object's methods and ``args`` plain data: the timer is
        recorded by the method's name, so a restarted sandbox can call it again."""
        name = method_name(self, step)
        self.provider.timers.schedule(
            Timer(
                "proposal",
                proposal.key,
                proposal.generation,
                name,
                tuple(args),
                time.time() + delay,
                leg=leg.kind.value if leg else None,
                leg_generation=leg.generation if leg else 0,
            )
        )

    def timer_is_live(self, timer: Timer) -> bool:
        proposal = self.proposals.get(timer.key)
        if proposal is None or proposal.generation != timer.generation:
            return False
        leg = next((item for item in proposal.legs if item.kind.value == timer.leg), None)
        return timer.leg is None or (leg is not None and leg.generation == timer.leg_generation)

    async def run_timer(self, timer: Timer) -> None:
        await getattr(self, timer.method)(self.proposals[timer.key], *timer.args)

    def _step(self) -> float:
        return self.settings.processing_delay_seconds

    async def _proposal_webhook(self, proposal: Proposal, data: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {
            "webhook_type": PortRefinWebhookType.PROPOSAL.value,
            "proposal_key": proposal.key,
            "proposal_status": proposal.status,
            "event_datetime": t_local(now()),
        }
        if data is not None:
            body["data"] = data
        await self._send(proposal.key, body, self._faults(proposal))

    async def _leg_webhook(self, proposal: Proposal, leg: Leg) -> None:
        body = {
            "webhook_type": PortRefinWebhookType.PROPOSAL_CREDIT_OPERATION.value,
            "proposal_key": proposal.key,
            "event_datetime": t_local(now()),
            "data": {
                "credit_operation_type": leg.kind.operation_type,
                "credit_operation_key": leg.key,
                "credit_operation_status": leg.status,
            },
        }
        await self._send(proposal.key, body, self._faults(proposal))

    # ------------------------------------------------------------ pricing

    def _quote(self, terms: Terms, code: str) -> list[Option]:
        try:
            options = quote(terms, self.provider.product)
        except PricingError as error:
            raise ProviderRefusal(400, code, str(error)) from None
        broken = limits_broken(self.provider.product, options, terms.number_of_installments)
        if broken:
            raise ProviderRefusal(400, code, broken)
        return options

    def _price_portability(
        self, financial: PortabilityFinancial, balance: Decimal, installment: Decimal | None
    ) -> list[Option]:
        """The ported balance is fixed; the installment or the rate follows from the other."""
        fixed_installment = installment if installment is not None else financial.installment_face_value
        return self._quote(
            Terms(
                first_due_date=financial.first_due_date,
                disbursement_date=now().date(),
                limit_days_to_disburse=financial.limit_days_to_disburse or 0,
                number_of_installments=financial.number_of_installments,
                installment=fixed_installment,
                disbursed_amount=balance,
                monthly_rate=None if fixed_installment is not None else financial.monthly_interest_rate,
            ),
            "CT000100",
        )

    def _price_refinancing(self, financial: RefinancingFinancial) -> list[Option]:
        return self._quote(
            Terms(
                first_due_date=financial.first_due_date,
                disbursement_date=now().date(),
                limit_days_to_disburse=financial.limit_days_to_disburse,
                number_of_installments=financial.number_of_installments,
                installment=financial.installment_face_value,
                disbursed_amount=financial.disbursed_amount,
                monthly_rate=financial.monthly_interest_rate,
            ),
            "CT000110",
        )

    # ------------------------------------------------------------ the proposal

    async def create(self, request: ProposalRequest) -> dict[str, Any]:
        origin = participant(request.origin_contract.ispb)
        if origin is None:
            raise ProviderRefusal(400, "CT000020", "origin_contract.ispb is not a CTC participant")
        if request.origin_contract.ispb == LENDER_ISPB:
            raise ProviderRefusal(400, "CT000021", "a contract cannot be brought from the lender itself")
        self._check_documents(request)
        balance = request.origin_contract.last_due_balance
        ported = self._price_portability(request.portability_credit_operation.financial, balance, None)
        portability = Leg(
            kind=CreditOperationLeg.PORTABILITY,
            key=str(uuid.uuid4()),
            contract_number=request.portability_credit_operation.contract_number or self._contract_number(),
            installment=ported[0].installment,
            number_of_installments=request.portability_credit_operation.financial.number_of_installments,
            # The whole ported amount goes to the origin bank: nothing reaches the borrower.
            options=[issuance_option(o, payoff=balance) for o in ported],
            final_disbursement_amount=Decimal("0.00"),
            accounts=[{"ispb": origin["ispb"], "name": origin["name"]}],
            fine_configuration=_fine_configuration(None),
        )
        refinancing = self._refinancing_leg(request, portability, balance)
        proposal = Proposal(
            key=str(uuid.uuid4()),
            request=request,
            balance=balance,
            portability=portability,
            refinancing=refinancing,
            borrower_party_key=str(uuid.uuid4()),
        )
        self.proposals[proposal.key] = proposal
        for leg in proposal.legs:
            self._by_leg[leg.key] = proposal.key
        self._later(proposal, self._step(), self._ctc_answer)
        return proposal.answer()

    def _contract_number(self) -> str:
        number = f"PRT{self._next_contract:010d}"
        self._next_contract += 1
        return number

    def _refinancing_leg(self, request: ProposalRequest, portability: Leg, balance: Decimal) -> Leg | None:
        refinancing = request.refinancing_credit_operation
        if refinancing is None:
            return None
        priced = self._price_refinancing(refinancing.financial)
        troco = priced[0].released - balance
        if troco <= 0:
            raise ProviderRefusal(400, "CT000118", "the refinancing releases nothing above the ported balance")
        refinanced_total = priced[0].installment * refinancing.financial.number_of_installments
        ported_total = portability.installment * portability.number_of_installments
        minimum = money(MIN_TROCO_SHARE * (refinanced_total - ported_total))
        if troco < minimum:
            raise ProviderRefusal(400, "CT000118", f"troco {troco} is below the minimum allowed {minimum}")
        account = refinancing.disbursement_bank_account
        return Leg(
            kind=CreditOperationLeg.REFINANCING,
            key=str(uuid.uuid4()),
            contract_number=refinancing.contract_number or self._contract_number(),
            installment=priced[0].installment,
            number_of_installments=refinancing.financial.number_of_installments,
            # It pays off the ported contract; the troco is the rest.
            options=[issuance_option(o, payoff=balance) for o in priced],
            final_disbursement_amount=troco,
            accounts=[
                {
                    "account_digit": account.account_digit,
                    "account_branch": account.branch_number,
                    "account_number": account.account_number,
                    "ispb": account.ispb,
                    "name": account.name,
                    "document_number": account.document_number,
                }
            ],
            fine_configuration=_fine_configuration(refinancing.financial),
        )

    async def _ctc_answer(self, proposal: Proposal) -> None:
        code = self.scenario(proposal.cpf).ctc_rejection
        if code:
            proposal.status = ProposalStatus.REJECTED.value
            reason = CTC_REJECTION_TEXT.get(code, "refused by the CTC")
            await self._end(proposal, {"error": {"code": code, "reason": reason}})
            return
        today = now().date()
        proposal.portability_number = f"{today:%Y%m%d}{self._next_number:013d}"
        self._next_number += 1
        proposal.started_on = today
        proposal.status = ProposalStatus.PENDING_ACCEPTANCE.value
        await self._proposal_webhook(proposal, {"portability_number": proposal.portability_number})
        self._later(proposal, self._step(), self._register_consent)

    async def _authorization_webhook(self, proposal: Proposal, data: dict[str, Any]) -> None:
        body = {
            "webhook_type": PortRefinWebhookType.PORTABILITY_AUTHORIZATION.value,
            "portability_authorization_key": proposal.authorization_key,
            "proposal_key": proposal.key,
            "portability_authorization_status": proposal.authorization_status,
            "event_datetime": t_local(now()),
            "data": {"portability_number": proposal.portability_number, **data},
        }
        await self._send(proposal.key, body, self._faults(proposal))

    @staticmethod
    def _consent_request(proposal: Proposal) -> dict[str, Any]:
        requested = proposal.consent_requested_at or now()
        return {
            "requested_at": t_local(requested),
            "expiration_date": (requested.date() + timedelta(days=CONSENT_DEADLINE_DAYS)).isoformat(),
        }

    async def _register_consent(self, proposal: Proposal) -> None:
        including = self.scenario(proposal.cpf).pending_inclusion_seconds
        if including is not None and proposal.authorization_status is None:
            proposal.authorization_status = "pending_inclusion"
            data = {"requested_at": t_local(now()), "expiration_date": None, "confirmation_date": None}
            await self._authorization_webhook(proposal, data)
            self._later(proposal, including, self._register_consent)
            return
        proposal.consent_requested_at = now()
        proposal.authorization_status = PortabilityAuthorizationStatus.AWAITING_CONFIRMATION.value
        await self._authorization_webhook(proposal, {**self._consent_request(proposal), "confirmation_date": None})
        # The beneficiary answers in Meu INSS (or the deadline passes): compressed for the sandbox.
        self._later(proposal, self.settings.portability_consent_seconds, self._consent_answer)

    async def _consent_answer(self, proposal: Proposal) -> None:
        outcome = self.scenario(proposal.cpf).consent
        requested = self._consent_request(proposal)
        if outcome == "confirmed":
            proposal.authorization_status = PortabilityAuthorizationStatus.CONFIRMED.value
            await self._authorization_webhook(proposal, {**requested, "confirmation_date": now().date().isoformat()})
            self._later(proposal, self._step(), self._origin_bank_answer)
            return
        proposal.authorization_status = (
            PortabilityAuthorizationStatus.EXPIRED.value
            if outcome == "expired"
            else PortabilityAuthorizationStatus.DENIED.value
        )
        await self._authorization_webhook(proposal, {**requested, "confirmation_date": None})
        proposal.status = ProposalStatus.CANCELED.value
        await self._end(proposal, None)

    async def _origin_bank_answer(self, proposal: Proposal) -> None:
        scenario = self.scenario(proposal.cpf)
        if scenario.retention is not None:
            proposal.status = ProposalStatus.RETAINED.value
            reason = scenario.retention
            await self._end(proposal, {"retained_reason": {"reason": reason, "description": RETENTION_REASONS[reason]}})
            return
        if scenario.final_due_balance is not None:
            proposal.balance = scenario.final_due_balance
        proposal.status = ProposalStatus.ACCEPTED.value
        today = now().date()
        origin = proposal.request.origin_contract
        original = {
            "origin_contract_number": origin.contract_number,
            "origin_ispb_number": origin.ispb,
            "final_due_balance": proposal.balance,
            "final_due_date": today.isoformat(),
            "installment_face_value": self._origin_installment(proposal),
            "installment_number": ORIGIN_INSTALLMENTS,
            "opened_installment_number": ORIGIN_OPEN_INSTALLMENTS,
            "overdue_installment_number": 0,
            "contract_date": (today - timedelta(days=730)).isoformat(),
        }
        await self._proposal_webhook(
            proposal,
            {
                "final_due_balance": proposal.balance,
                "portability_number": proposal.portability_number,
                "original_contract": original,
            },
        )
        await self._settle_when_signed(proposal)

    def _origin_installment(self, proposal: Proposal) -> Decimal:
        released = self.scenario(proposal.cpf).released_installment
        return released if released is not None else proposal.portability.installment

    async def _end(self, proposal: Proposal, data: dict[str, Any] | None) -> None:
        """The proposal ends unpaid (rejected, retained, canceled): its legs are canceled."""
        proposal.generation += 1
        await self._proposal_webhook(proposal, data)
        for leg in proposal.legs:
            leg.generation += 1
            leg.status = CreditOperationStatus.CANCELED.value
            await self._leg_webhook(proposal, leg)

    async def cancel(self, proposal: Proposal) -> None:
        if proposal.ended:
            return
        if proposal.status not in {
            ProposalStatus.PENDING_RESPONSE.value,
            ProposalStatus.PENDING_ACCEPTANCE.value,
            ProposalStatus.ACCEPTED.value,
        }:
            raise ProviderRefusal(400, "CT000090", f"a proposal in {proposal.status} can no longer be canceled")
        proposal.status = ProposalStatus.CANCELED.value
        await self._end(proposal, None)

    # ------------------------------------------------------------ signature and payoff

    def sign(self, proposal: Proposal, kind: CreditOperationLeg, signature: LegSignature) -> dict[str, Any]:
        leg = proposal.portability if kind is CreditOperationLeg.PORTABILITY else proposal.refinancing
        if leg is None:
            raise ProviderRefusal(404, "CT000404", f"proposal {proposal.key} has no {kind.value}", "Not Found")
        if leg.status != CreditOperationStatus.WAITING_SIGNATURE.value:
            raise ProviderRefusal(400, "CT000060", f"{kind.value} is {leg.status}, not waiting for a signature")
        if signature.signed_pdf_path != leg.document_url:
            # A signature of a superseded CCB (before an installment reduction) signs nothing.
            raise ProviderRefusal(400, "CT000061", "signed_pdf_path is not this operation's current CCB")
        leg.signed_url = signature.signed_pdf_path
        leg.status = CreditOperationStatus.SIGNED.value
        if proposal.status == ProposalStatus.ACCEPTED.value:
            self._later(proposal, 0.0, self._settle_when_signed)
        elif proposal.released is not None and not leg.collateral_constituted:
            self._resume_averbacao(proposal, leg)
        return leg.answer()

    def _resume_averbacao(self, proposal: Proposal, leg: Leg) -> None:
        first_pending = next((item for item in proposal.legs if not item.collateral_constituted), None)
        if first_pending is leg:  # the refinancing leg's turn comes after the portability leg's
            self._later(proposal, self._step(), self._attempt_leg, leg.kind, leg=leg)

    async def _settle_when_signed(self, proposal: Proposal) -> None:
        if proposal.status != ProposalStatus.ACCEPTED.value or not all(leg.signed for leg in proposal.legs):
            return
        proposal.status = ProposalStatus.SETTLEMENT_SENT.value
        origin = participant(proposal.request.origin_contract.ispb) or {}
        lender = participant(LENDER_ISPB) or {}
        receipt = {
            "amount": proposal.balance,
            "timestamp": naive_local(now()),
            "description": f"{origin.get('bank_code')} {origin.get('name')}",
            "transaction_key": str(uuid.uuid4()),
            "origin": {"bank_code": lender.get("bank_code"), "name": lender.get("name"), "type": "checking_account"},
            "destination": {
                "bank_code": origin.get("bank_code"),
                "name": origin.get("name"),
                "type": "checking_account",
                "purpose": "portability settlement",
            },
        }
        await self._proposal_webhook(proposal, {"receipt": receipt})
        self._later(proposal, self._step(), self._settlement_pending)

    async def _settlement_pending(self, proposal: Proposal) -> None:
        proposal.status = ProposalStatus.PENDING_SETTLEMENT_CONFIRMATION.value
        await self._proposal_webhook(proposal)
        self._later(proposal, self._step(), self._paid)

    async def _paid(self, proposal: Proposal) -> None:
        proposal.status = ProposalStatus.PAID.value
        await self._proposal_webhook(proposal)
        self._later(proposal, self._step(), self._origin_released)

    async def _origin_released(self, proposal: Proposal) -> None:
        proposal.released = self._origin_installment(proposal)
        proposal.released_on = now().date()
        await self._attempt(proposal, proposal.portability)

    # ------------------------------------------------------------ averbação

    async def _attempt_leg(self, proposal: Proposal, kind: CreditOperationLeg) -> None:
        """A scheduled attempt names its leg by kind (plain data in a timer)."""
        leg = proposal.portability if kind is CreditOperationLeg.PORTABILITY else proposal.refinancing
        if leg is not None:
            await self._attempt(proposal, leg)

    def _free_margin(self, proposal: Proposal) -> Decimal:
        scenario = self.scenario(proposal.cpf)
        if scenario.free_margin is not None:
            return scenario.free_margin
        return self.provider.margins(proposal.cpf)[1]

    def _has_balance_consultation(self, proposal: Proposal) -> bool:
        return any(
            c.kind == "balance" and c.success and c.cpf == proposal.cpf and c.benefit_number == proposal.benefit_number
            for c in self.provider.consultations.values()
        )

    def _averbacao_step(self, proposal: Proposal, leg: Leg) -> str:
        scenario = self.scenario(proposal.cpf)
        script = (
            scenario.portability_averbacao
            if leg.kind is CreditOperationLeg.PORTABILITY
            else scenario.refinancing_averbacao
        )
        if script:
            return script[min(leg.attempts, len(script) - 1)]
        released = proposal.released or Decimal(0)
        free = self._free_margin(proposal)
        if leg.kind is CreditOperationLeg.PORTABILITY:
            fits = leg.installment <= released + free
        else:
            # It takes the portability's place at Dataprev and needs only its increase in margin.
            left = released + free - proposal.portability.installment
            fits = leg.installment - proposal.portability.installment <= left
        return SUCCESS if fits else "consignable_margin_excceded"

    async def _attempt(self, proposal: Proposal, leg: Leg) -> None:
        if proposal.ended or leg.collateral_constituted or not leg.signed:
            return  # an unsigned (new) CCB waits for its signature, which resumes the averbação
        if leg.kind is CreditOperationLeg.PORTABILITY and not self._has_balance_consultation(proposal):
            await self._wait_for_consultation(proposal, leg)
            return
        proposal.waiting_for_consultation = False
        step = self._averbacao_step(proposal, leg)
        leg.attempts += 1
        leg.last_response_at = now()
        method = leg.kind.operation_type
        action = dataprev.Action.CONFIRM if step == SUCCESS else dataprev.action(step, port_refin=True)
        if step == SUCCESS:
            included = {"enumerator": dataprev.SUCCESSFULLY_INCLUDED, "reservation_method": method}
            leg.last_response = {"success": [included]}
        else:
            leg.last_response = {"errors": [{"enumerator": step, "reservation_method": method}]}
        if action == dataprev.Action.CONFIRM:
            # Success, or HX "reservation_already_included" (Confirmar averbação, seed 002 §14).
            leg.collateral_constituted, leg.collateral_status = True, "reserved"
        await self._collateral_webhook(proposal, leg, step)
        if not leg.collateral_constituted:
            # Teimosinha: every other error of seed 002's table (and one no table has) is retried.
            self._later(proposal, self.settings.teimosinha_interval_seconds, self._attempt_leg, leg.kind, leg=leg)
        elif leg.kind is CreditOperationLeg.PORTABILITY and proposal.refinancing is not None:
            refinancing = proposal.refinancing
            self._later(proposal, self._step(), self._attempt_leg, refinancing.kind, leg=refinancing)
        elif leg.kind is CreditOperationLeg.REFINANCING:
            self._later(proposal, self._step(), self._disburse_troco)

    async def _wait_for_consultation(self, proposal: Proposal, leg: Leg) -> None:
        """No valid benefit consultation: the reservation waits for the partner (proposta page)."""
        if not proposal.waiting_for_consultation:
            proposal.waiting_for_consultation = True
            body = {
                "webhook": {
                    "key": leg.key,
                    "data": {
                        "enumerator": "success_balance_request_not_found",
                        "description": "Success balance request not found for the specified benefit number",
                    },
                    "status": "pending_requester_action",
                    "webhook_type": "social_security_success_balance_request_not_found",
                    "event_datetime": t_local(now()),
                }
            }
            await self._send(leg.key, body, self._faults(proposal))
        self._later(proposal, self.settings.teimosinha_interval_seconds, self._attempt_leg, leg.kind, leg=leg)

    async def _collateral_webhook(self, proposal: Proposal, leg: Leg, step: str) -> None:
        at = leg.last_response_at or now()
        method = leg.kind.operation_type
        collateral_data: dict[str, Any] = {
            "status": leg.collateral_status,
            "last_response": (
                {"success": [{"enumerator": dataprev.SUCCESSFULLY_INCLUDED}]}
                if step == SUCCESS
                else {"errors": [{"enumerator": step}]}
            ),
            "last_response_event_datetime": z_utc(at),
            "reservation_method": method,
        }
        data = {
            "collateral_type": "social_security",
            "collateral_constituted": leg.collateral_constituted,
            "collateral_data": collateral_data,
        }
        if leg.kind is CreditOperationLeg.PORTABILITY:
            body: dict[str, Any] = {
                "webhook_type": PortRefinWebhookType.PROPOSAL_COLLATERAL.value,
                "proposal_key": proposal.key,
                "event_datetime": t_local(at),
                "data": {"credit_operation_type": method, "credit_operation_key": leg.key, **data},
            }
            await self._send(proposal.key, body, self._faults(proposal))
        else:
            # Seed 002 §11: the refinancing leg's attempts are the new-credit webhook, keyed by the leg.
            body = {
                "webhook_type": "credit_operation.collateral",
                "key": leg.key,
                "event_time": t_local(at),
                "data": data,
            }
            await self._send(leg.key, body, self._faults(proposal))

    async def _disburse_troco(self, proposal: Proposal) -> None:
        leg = proposal.refinancing
        if leg is None:
            return
        leg.status = CreditOperationStatus.DISBURSED.value
        await self._leg_webhook(proposal, leg)

    def collateral_view(self, proposal: Proposal, kind: CreditOperationLeg) -> dict[str, Any]:
        """Seed 002 §10's last response of one leg."""
        leg = proposal.portability if kind is CreditOperationLeg.PORTABILITY else proposal.refinancing
        if leg is None:
            raise ProviderRefusal(404, "CT000404", f"proposal {proposal.key} has no {kind.value}", "Not Found")
        collateral = proposal.request.collaterals[0].collateral_data
        return {
            "collateral_constituted": leg.collateral_constituted,
            "collateral_type": "social_security",
            "updated_at": naive_local(leg.last_response_at or now()),
            "collateral_data": {
                "state": collateral.state,
                "benefit_number": int(collateral.benefit_number),
                "status": leg.collateral_status,
                "last_response": leg.last_response,
                "last_response_event_datetime": z_utc(leg.last_response_at) if leg.last_response_at else None,
            },
        }

    # ------------------------------------------------------------ installment reduction

    def reduce_installment(self, proposal: Proposal, reduction: InstallmentReduction) -> dict[str, Any]:
        leg = proposal.portability
        if proposal.ended or leg.collateral_constituted:
            raise ProviderRefusal(
                400, "CT000079", f"the portability of a proposal in {proposal.status} cannot be changed now"
            )
        if reduction.installment_face_value >= leg.installment:
            raise ProviderRefusal(
                400, "CT000080", f"installment_face_value must be below the current {leg.installment}"
            )
        financial = proposal.request.portability_credit_operation.financial
        priced = self._price_portability(financial, proposal.balance, reduction.installment_face_value)
        leg.installment = priced[0].installment
        leg.options = [issuance_option(o, payoff=proposal.balance) for o in priced]
        # A new CCB: to be signed again before the averbação is tried again (seed 002 §13 answers
        # waiting_signature with a new document).
        leg.document_key, leg.signed_url = str(uuid.uuid4()), None
        leg.status = CreditOperationStatus.WAITING_SIGNATURE.value
        leg.generation += 1
        return leg.answer()

    # ------------------------------------------------------------ origin contract (seed 002 §12)

    async def query_origin_contract(self, proposal: Proposal, query: OriginContractQuery) -> dict[str, Any]:
        key = str(uuid.uuid4())
        failure = self.scenario(proposal.cpf).origin_contract_failure
        if failure is None and query.portability_number != proposal.portability_number:
            # Not this lender's portability: Dataprev finds it with another destination bank (PK).
            failure = "wrong_bank_code_destination"
        data: dict[str, Any]
        if failure:
            data = {"enumerator": failure, "description": dataprev.description(failure) or failure.replace("_", " ")}
        else:
            data = {
                # Printed as a JSON number in seed 002 (kept: the reader must take it as text).
                "portability_number": int(query.portability_number),
                "portability_status": "open",
                "benefit_number": int(proposal.benefit_number),
                "portability_start_date": (proposal.started_on or now().date()).isoformat(),
                "deleted_contracts": self._deleted_contracts(proposal),
            }
        body = {
            "webhook": {
                "key": key,
                "data": data,
                "status": "failure" if failure else "success",
                "webhook_type": PortRefinWebhookType.ORIGIN_CONTRACT.value,
                "event_datetime": t_local(now()),
            }
        }
        await self._send(key, body, self._faults(proposal))
        return {
            "origin_contract_request_key": key,
            "status": "pending_search",
            "status_events": [{"status": "pending_search"}],
        }

    def _deleted_contracts(self, proposal: Proposal) -> list[dict[str, Any]]:
        if proposal.released is None or proposal.released_on is None:
            return []  # the origin bank still holds its reservation
        origin = participant(proposal.request.origin_contract.ispb) or {}
        return [
            {
                "origin_bank": {"bank_code": int(origin.get("bank_code", "0")), "name": origin.get("name")},
                "contract_number": proposal.request.origin_contract.contract_number,
                "last_installment_paid": ORIGIN_INSTALLMENTS - ORIGIN_OPEN_INSTALLMENTS,
                "exclusion_date": proposal.released_on.strftime("%d%m%Y"),
                "period_amount": proposal.released,
            }
        ]

    # ------------------------------------------------------------ sandbox controls

    def _check_documents(self, request: ProposalRequest) -> None:
        """The identity documents a proposal names were uploaded, as JPEG of at least 250 x 250 px
        (docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/formalizacao: SSC000061)."""
        for holder in [request.borrower, *(request.related_parties or [])]:
            for name in ("document_identification", "document_identification_back", "selfie"):
                key = getattr(holder, name)
                if key is None:
                    continue
                document = self.provider.documents.get(str(key))
                if document is None or not document.jpeg or min(document.width, document.height) < MIN_DOCUMENT_SIDE:
                    raise ProviderRefusal(400, "SSC000061", f"The document: {name} should be in JPEG format.")

    def state(self, proposal: Proposal) -> dict[str, Any]:
        return {
            "proposal_key": proposal.key,
            "documents_attached_to": proposal.request.documents_holder,
            "proposal_status": proposal.status,
            "portability_number": proposal.portability_number,
            "authorization_status": proposal.authorization_status,
            "balance": str(proposal.balance),
            "released": str(proposal.released) if proposal.released is not None else None,
            "waiting_for_consultation": proposal.waiting_for_consultation,
            "legs": {
                leg.kind.value: {
                    "credit_operation_key": leg.key,
                    "status": leg.status,
                    "installment": str(leg.installment),
                    "collateral_constituted": leg.collateral_constituted,
                    "averbacao_attempts": leg.attempts,
                    "final_disbursement_amount": str(leg.final_disbursement_amount),
                }
                for leg in proposal.legs
            },
        }


def _fine_configuration(financial: RefinancingFinancial | None) -> dict[str, Any]:
    given = financial.fine_configuration if financial else None
    if given is not None:
        return {
            "contract_fine_rate": given.contract_fine_rate,
            "interest_base": given.interest_base,
            "monthly_rate": given.monthly_rate,
        }
    # Seed 002 §13's values, for a leg that names none.
    return {"contract_fine_rate": Decimal("0.02"), "interest_base": "calendar_days", "monthly_rate": Decimal("0.01")}


# ---------------------------------------------------------------- HTTP


FAULTS_HEADER = "X-Sandbox-Faults"


_json = json_response


def portability_routes(sandbox: PortabilitySandbox) -> APIRouter:
    """The Port+Refin endpoints and their ``/_sandbox/portability`` controls, over its provider's
    tokens, faults, consultations, timers and webhook dispatcher."""
    provider = sandbox.provider
    router = APIRouter()

    async def body_of(request: Request, model: type[M]) -> M:
        try:
            return model.model_validate(decode(await request.body()))
        except ValidationError as error:
            raise validation_refusal(error) from None
        except ValueError:
            raise ProviderRefusal(400, "LEG000040", "body is not valid JSON") from None

    async def guarded(request: Request, cpf: str | None, handler: Callable[[], Awaitable[Response]]) -> Response:
        """As every sandbox endpoint: its authentication, then this CPF's (or the header's) faults, then the call."""
        await provider.authenticate(request)
        header: Faults | None = None
        if raw := request.headers.get(FAULTS_HEADER):
            try:
                header = Faults.model_validate_json(raw)
            except ValidationError as error:
                raise ProviderRefusal(400, "SBX000001", f"bad {FAULTS_HEADER}: {error.errors()[0]['msg']}") from None
        faults = provider.faults_for(cpf, header)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if provider.take_budget(cpf, "suspended", header):
            return _json(SUSPENDED, 500)
        if provider.take_budget(cpf, "fail_5xx", header):
            return _json({"title": "Service Unavailable", "code": "SBX000503", "description": "injected 5xx"}, 503)
        response = await handler()
        if faults.timeout_s:
            await asyncio.sleep(faults.timeout_s)  # done, but answered late
        return response

    @router.get("/v2/credit_transfer/participants")
    async def participants(request: Request) -> Response:
        async def handle() -> Response:
            return _json(list(PARTICIPANTS))

        return await guarded(request, None, handle)

    @router.post("/v2/credit_transfer/proposal")
    async def create_proposal(request: Request) -> Response:
        body = await body_of(request, ProposalRequest)
        idempotency_key = request.headers.get("idempotency-key")

        async def handle() -> Response:
            answer = provider.remembered("proposal", idempotency_key)
            if answer is None:
                answer = await sandbox.create(body)
                provider.remember("proposal", idempotency_key, answer)
            return _json(answer, 201)

        return await guarded(request, body.cpf, handle)

    @router.get("/v2/credit_transfer/proposal/{proposal_key}")
    async def read_proposal(request: Request, proposal_key: str) -> Response:
        proposal = sandbox.proposal(proposal_key)

        async def handle() -> Response:
            return _json(proposal.answer())

        return await guarded(request, proposal.cpf, handle)

    @router.delete("/v2/credit_transfer/proposal/{proposal_key}")
    async def cancel_proposal(request: Request, proposal_key: str) -> Response:
        proposal = sandbox.proposal(proposal_key)

        async def handle() -> Response:
            await sandbox.cancel(proposal)
            return _json({"proposal_key": proposal.key, "proposal_status": proposal.status})

        return await guarded(request, proposal.cpf, handle)

    @router.put("/v2/credit_transfer/proposal/{proposal_key}/portability_credit_operation")
    async def reduce_installment(request: Request, proposal_key: str) -> Response:
        proposal = sandbox.proposal(proposal_key)
        body = await body_of(request, InstallmentReduction)

        async def handle() -> Response:
            return _json(sandbox.reduce_installment(proposal, body))

        return await guarded(request, proposal.cpf, handle)

    @router.post("/v2/credit_transfer/proposal/{proposal_key}/{leg}/signature")
    async def sign_leg(request: Request, proposal_key: str, leg: CreditOperationLeg) -> Response:
        proposal = sandbox.proposal(proposal_key)
        body = await body_of(request, LegSignature)

        async def handle() -> Response:
            return _json(sandbox.sign(proposal, leg, body))

        return await guarded(request, proposal.cpf, handle)

    @router.get("/v2/credit_transfer/proposal/{proposal_key}/{leg}/collateral")
    async def leg_collateral(request: Request, proposal_key: str, leg: CreditOperationLeg) -> Response:
        proposal = sandbox.proposal(proposal_key)

        async def handle() -> Response:
            return _json(sandbox.collateral_view(proposal, leg))

        return await guarded(request, proposal.cpf, handle)

    @router.post("/social_security/reservation/external_key/{credit_operation_key}/portability_origin_contract")
    async def origin_contract(request: Request, credit_operation_key: str) -> Response:
        proposal = sandbox.by_leg_key(credit_operation_key)
        body = await body_of(request, OriginContractQuery)
        idempotency_key = request.headers.get("idempotency-key")

        async def handle() -> Response:
            answer = provider.remembered("origin_contract", idempotency_key)
            if answer is None:
                answer = await sandbox.query_origin_contract(proposal, body)
                provider.remember("origin_contract", idempotency_key, answer)
            return _json(answer, 201)

        return await guarded(request, proposal.cpf, handle)

    # ------------------------------------------------------------ controls (tests, demo)

    @router.put("/_sandbox/portability/scenarios/{cpf}")
    async def put_scenario(cpf: str, scenario: PortabilityScenario) -> dict[str, str]:
        sandbox.scenarios[cpf] = scenario
        return {"cpf": cpf, "status": "set"}

    @router.delete("/_sandbox/portability/scenarios/{cpf}")
    async def delete_scenario(cpf: str) -> dict[str, str]:
        sandbox.scenarios.pop(cpf, None)
        return {"cpf": cpf, "status": "cleared"}

    @router.get("/_sandbox/portability/proposals")
    async def proposals_of(document_number: str) -> list[str]:
        """The keys of every proposal made for a CPF (a test counts duplicates)."""
        return [p.key for p in peek(sandbox.proposals) if p.cpf == document_number]

    @router.get("/_sandbox/portability/proposals/{proposal_key}")
    async def proposal_state(proposal_key: str) -> dict[str, Any]:
        return sandbox.state(sandbox.proposal(proposal_key))

    return router
