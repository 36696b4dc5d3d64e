"""The sandbox's state and behaviour, without HTTP: consultations, debts, averbação, disbursement.

Every asynchronous answer goes through the dispatcher as a webhook in the seeds' exact shapes,
including their inconsistencies (``event_datetime`` vs ``event_time``, naive vs ``T``/``Z`` times,
the ``{"webhook": ...}`` envelope of the pending_requester_action family, the TED refusal without
``webhook_type``).
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVarTuple

from fastapi import Request
from opentelemetry import propagate
from PIL import Image, UnidentifiedImageError

from devtools.sandbox import dataprev
from devtools.sandbox.bodies import (
    AttachedDocuments,
    BalanceRequest,
    BalanceRequestConfirmation,
    BenefitsRequest,
    ChangeDisbursementDate,
    CollateralCorrection,
    Financial,
    IssuanceRequest,
    Person,
    Recalculate,
    SignatureEvidence,
    SimulationBatch,
    SimulationRequest,
)
from devtools.sandbox.clock import CLOCK, SAO_PAULO, end_of_day, now
from devtools.sandbox.delivery import WebhookDispatcher
from devtools.sandbox.enumerators import (
    ASSISTANCE_TYPE_NAMES,
    CONFIRMATION_CANCEL_REASONS,
    CONFIRMATION_DAYS,
    MARGIN_RELEASE_AFTER_DISBURSEMENT_END_DATE,
    MINIMUM_WAGE_INCREASE,
)
from devtools.sandbox.journal import Durable, peek
from devtools.sandbox.offers import issuance_option, simulation_response
from devtools.sandbox.pricing import PricingError, Product, Terms, money, quote
from devtools.sandbox.refusal import ProviderRefusal
from devtools.sandbox.scenarios import (
    CARD_MARGIN,
    PENDING_PREFIX,
    PENDING_WEBHOOK_TYPES,
    SUCCESS,
    ConsultationOutcome,
    ExistingOperation,
    Faults,
    Scenario,
    averbacao_description,
    averbacao_outcome,
    balance_outcome,
    benefit_number_for,
    benefits_outcome,
    mocked_balance,
)
from devtools.sandbox.settings import SandboxSettings
from devtools.sandbox.timers import Timer, Timers, method_name

if TYPE_CHECKING:
    from devtools.sandbox.authentication import RequestAuthentication

log = logging.getLogger(__name__)

Ts = TypeVarTuple("Ts")

MAX_RECALCULATION_CUT = Decimal("0.3")
"""How far a recalculation may lower the installment: the page says "dentro de uma variação permitida" and
prints none; the sandbox's own figure, 30 %."""
MIN_DOCUMENT_SIDE = 250  # seed 001 §5: JPEG, at least 250 x 250 px
MAX_TOTAL_BALANCE = Decimal("2450.00")  # 45 % of the sandbox's benefit


def _terms(financial: Financial, *, installment: Decimal | None = None) -> Terms:
    """What pricing needs of a request's ``financial`` (``installment``: a recalculation's new one)."""
    return Terms(
        first_due_date=financial.first_due_date,
        disbursement_date=financial.disbursement_date,
        limit_days_to_disburse=financial.limit_days_to_disburse,
        number_of_installments=financial.number_of_installments,
        installment=installment if installment is not None else financial.installment_face_value,
        disbursed_amount=None if installment is not None else financial.disbursed_amount,
        monthly_rate=financial.monthly_interest_rate,
    )


def _is_uuid4(text: str) -> bool:
    try:
        return uuid.UUID(text).version == 4
    except ValueError:
        return False


def naive_local(moment: datetime) -> str:
    """``2022-11-07 13:54:58``: how most webhooks print time."""
    return moment.astimezone(SAO_PAULO).strftime("%Y-%m-%d %H:%M:%S")


def t_local(moment: datetime) -> str:
    """``2022-11-24T15:42:12``: how the collateral and pending-action webhooks print it."""
    return moment.astimezone(SAO_PAULO).strftime("%Y-%m-%dT%H:%M:%S")


def z_utc(moment: datetime) -> str:
    """``2023-05-22T19:13:02Z``: how ``last_response_event_datetime`` prints it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Consultation:
    key: str
    kind: str
    cpf: str
    benefit_number: str | None
    success: bool
    created_at: datetime


@dataclass
class Document:
    key: str
    jpeg: bool
    width: int
    height: int


@dataclass
class Debt:
    key: str
    request: IssuanceRequest
    answer: dict[str, Any]
    cpf: str
    benefit_number: str
    related_party_key: str
    window_end: datetime
    installment: Decimal
    status: str = "waiting_signature"
    documents: AttachedDocuments | None = None
    signature: SignatureEvidence | None = None
    collateral_constituted: bool = False
    collateral_status: str = "pending_reservation"
    last_response: dict[str, Any] = field(default_factory=dict)
    last_response_at: datetime | None = None
    averbacao_attempts: int = 0
    disbursement_attempts: int = 0
    awaiting_correction: bool = False
    corrections: int = 0
    pending_action: str | None = None
    pending_since: datetime | None = None
    awaiting_reapresentacao: bool = False
    generation: int = 0  # bumped to void timers scheduled for an earlier state
    cancel_reason: str | None = None
    representative_party_key: str | None = None
    documents_party: str | None = None  # "borrower" or "legal_representative": whose related party took them
    minimum_wage_increase: bool = False
    refinanced: tuple[str, ...] = ()
    freed_installments: Decimal = Decimal(0)
    confirmation_deadline: datetime | None = None  # anuência: the beneficiary confirms in Meu INSS by then

    @property
    def final(self) -> bool:
        return self.status in {"canceled_permanently", "disbursed"} or (
            self.status == "canceled" and not self.awaiting_reapresentacao
        )


class SandboxProvider(Durable):
    # Its state for sandbox.persistence (never the timers' tasks or the dispatcher): dicts entry by
    # entry, the rest whole.
    DURABLE_KEYED = (
        "scenarios",
        "_budgets",
        "consultations",
        "documents",
        "debts",
        "_debt_by_requester",
        "_operation_owner",
        "_idempotent",
    )
    DURABLE_SINGLE = ("global_faults", "_settled_operations", "_next_contract")

    def __init__(self, settings: SandboxSettings, dispatcher: WebhookDispatcher, product: Product) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.product = product
        self.scenarios: dict[str, Scenario] = {}
        self.global_faults = Faults()
        self._budgets: dict[str, dict[str, int]] = {}
        self.consultations: dict[str, Consultation] = {}
        self.documents: dict[str, Document] = {}
        self.debts: dict[str, Debt] = {}
        self._debt_by_requester: dict[str, str] = {}
        self._operation_owner: dict[str, str] = {}
        self._settled_operations: set[str] = set()
        self._idempotent: dict[tuple[str, str], Any] = {}
        self._next_contract = 644_700
        self.timers = Timers()
        self.timers.register("debt", self)
        self.authentication: RequestAuthentication | None = None  # set by the app from its settings

    # ------------------------------------------------------------ scenarios and faults

    def set_scenario(self, cpf: str, scenario: Scenario) -> None:
        self.scenarios[cpf] = scenario
        faults = scenario.faults or Faults()
        self._budgets[cpf] = {
            "fail_5xx": faults.fail_5xx,
            "suspended": faults.suspended,
            "lose_answers": faults.lose_answers,
        }

    def set_global_faults(self, faults: Faults) -> None:
        self.global_faults = faults
        self._budgets["*"] = {
            "fail_5xx": faults.fail_5xx,
            "suspended": faults.suspended,
            "lose_answers": faults.lose_answers,
        }

    def faults_for(self, cpf: str | None, header: Faults | None = None) -> Faults:
        scenario = self.scenarios.get(cpf or "")
        return self.global_faults.merged(scenario.faults if scenario else None).merged(header)

    def take_budget(self, cpf: str | None, name: str, header: Faults | None) -> bool:
        """Whether this call spends one of the scope's N injected failures of this kind."""
        if header is not None and getattr(header, name) > 0:
            return True
        for scope in (cpf or "", "*"):
            budget = self._budgets.get(scope)
            if budget and budget.get(name, 0) > 0:
                budget[name] -= 1
                return True
        return False

    def scenario(self, cpf: str) -> Scenario:
        return self.scenarios.get(cpf) or Scenario()

    # ------------------------------------------------------------ timers

    def debt_later(self, debt: Debt, delay: float, action: Callable[[Debt, *Ts], Awaitable[None]], *args: *Ts) -> None:
        """Run ``action(debt, *args)`` after ``delay`` unless the debt's generation moved on meanwhile.
        ``action`` is one of this object's methods and ``args`` plain data: the timer is recorded by
        the method's name, so a restarted sandbox can call it again."""
        name = method_name(self, action)
        self.timers.schedule(Timer("debt", debt.key, debt.generation, name, tuple(args), time.time() + delay))

    def timer_is_live(self, timer: Timer) -> bool:
        debt = self.debts.get(timer.key)
        return debt is not None and debt.generation == timer.generation

    async def run_timer(self, timer: Timer) -> None:
        await getattr(self, timer.method)(self.debts[timer.key], *timer.args)

    async def aclose(self) -> None:
        self.timers.cancel()

    # ------------------------------------------------------------ authentication

    async def authenticate(self, request: Request) -> None:
        """Every call is checked as the provider publishes it (devtools.sandbox.authentication)."""
        if self.authentication is None:
            raise ProviderRefusal(401, "GDF000014", "the sandbox has no lender key to check with", "QI Unauthenticated")
        raw_path, query = request.scope.get("raw_path") or request.url.path.encode(), request.scope["query_string"]
        uri = raw_path.decode() + (f"?{query.decode()}" if query else "")
        body = getattr(request.state, "raw_body", None)
        if body is None:
            body = await request.body()
        self.authentication.check(request.method, uri, body, request.headers, CLOCK.wall())

    # ------------------------------------------------------------ idempotency

    def remembered(self, scope: str, key: str | None) -> Any:
        return self._idempotent.get((scope, key)) if key else None

    def remember(self, scope: str, key: str | None, value: Any) -> None:
        if key:
            self._idempotent[(scope, key)] = value

    # ------------------------------------------------------------ documents

    def upload(self, content: bytes) -> dict[str, Any]:
        key = str(uuid.uuid4())
        try:
            with Image.open(io.BytesIO(content)) as image:
                jpeg, (width, height) = image.format == "JPEG", image.size
        except (UnidentifiedImageError, OSError):
            jpeg, width, height = False, 0, 0
        self.documents[key] = Document(key, jpeg, width, height)
        return {"document_key": key}

    # ------------------------------------------------------------ consultations

    def _check_term(self, term: Any) -> None:
        key = term.signature.signed_object.document_key if term else None
        if key is not None and str(key) not in self.documents:
            raise ProviderRefusal(400, "DOC000001", f"authorization term document {key} was never uploaded")

    async def benefits_request(self, request: BenefitsRequest, faults: Faults) -> dict[str, Any]:
        self._check_term(request.authorization_term)
        cpf = request.document_number
        key = str(uuid.uuid4())
        outcome = self._consultation(cpf, benefits_outcome)
        self.consultations[key] = Consultation(key, "benefits", cpf, None, outcome.success, now())
        if outcome.success:
            scenario = self.scenario(cpf)
            data: Any = [
                {
                    "benefit_number": scenario.benefit_number or benefit_number_for(cpf),
                    "benefit_status": scenario.benefit_status or ("blocked" if self._new_benefit(cpf) else "elegible"),
                    "grant_date": self._ddb(cpf).isoformat(),
                }
            ]
        else:
            data = {"enumerator": outcome.enumerator, "description": outcome.description}
        body = {
            "webhook_type": "social_security_benefits_request",
            "key": key,
            "event_datetime": naive_local(now()),
            "status": "success" if outcome.success else "failure",
            "data": data,
        }
        await self._send(key, body, faults)
        return {"benefits_request_key": key, "status": "pending_search"}

    async def balance_request(self, request: BalanceRequest, faults: Faults) -> dict[str, Any]:
        self._check_term(request.authorization_term)
        cpf = request.document_number
        key = str(uuid.uuid4())
        outcome = self._consultation(cpf, balance_outcome)
        self.consultations[key] = Consultation(key, "balance", cpf, request.benefit_number, outcome.success, now())
        data: Any
        if outcome.success:
            signer = request.authorization_term.signature.signer.name if request.authorization_term else None
            data = self._balance_data(cpf, request.benefit_number, signer)
        else:
            data = {"enumerator": outcome.enumerator, "description": outcome.description}
        body = {
            "webhook_type": "social_security_balance_request",
            "key": key,
            "event_datetime": naive_local(now()),
            "status": "success" if outcome.success else "failure",
            "data": data,
        }
        await self._send(key, body, faults)
        return {
            "balance_request_key": key,
            "status": "pending_authorization" if request.authorization_term else "pending_search",
        }

    def _consultation(self, cpf: str, by_digit: Callable[[str], ConsultationOutcome]) -> ConsultationOutcome:
        forced = self.scenario(cpf).consultation
        if forced == SUCCESS:
            return ConsultationOutcome(True)
        if forced:
            return ConsultationOutcome(False, forced, forced.replace("_", " "))
        return by_digit(cpf)

    def _ddb(self, cpf: str) -> date:
        return self.scenario(cpf).ddb or (now().date() - timedelta(days=730))

    def _new_benefit(self, cpf: str) -> bool:
        """Inside its 90 days from the DDB: Blocked, block type 3 "Bloqueado na Concessão" (seed 004 §12)."""
        return now().date() < dataprev.margin_release_day(self._ddb(cpf))

    def card_margins(self, cpf: str) -> tuple[Decimal, Decimal]:
        """(RMC ``consigned_card``, RCC ``benefit_card``) left: the Mocks page's RCC for its digits 3 and
        8, else a full card margin (ours)."""
        rcc = mocked_balance(cpf).rcc_margin
        return CARD_MARGIN, CARD_MARGIN if rcc is None else rcc

    def margins(self, cpf: str) -> tuple[Decimal, Decimal]:
        """(left over every modality, left in the loans modality): IN 138 art. 5 — 45 % of the benefit
        = 35 % loans + 5 % RMC + 5 % RCC. The loans margin is the Mocks page's margemDisponivel (431.3)
        and the total adds the cards' (a scenario may set either)."""
        scenario = self.scenario(cpf)
        cards = sum(self.card_margins(cpf), Decimal(0))
        if scenario.available_total_balance is None:
            loans = mocked_balance(cpf).loans_margin if scenario.loans_margin is None else scenario.loans_margin
            return loans + cards, loans
        total = scenario.available_total_balance
        loans = scenario.loans_margin if scenario.loans_margin is not None else max(total - cards, Decimal(0))
        return total, loans

    def paying_account(self, cpf: str) -> dict[str, str]:
        scenario = self.scenario(cpf)
        if scenario.paying_account:
            return dict(scenario.paying_account)
        digest = int.from_bytes(cpf.encode(), "big")
        return {
            "bank_code": "341",
            "account_digit": str(digest % 10),
            "account_branch": "0155",
            "account_number": f"{digest % 1_000_000_000:09d}",
        }

    def _balance_data(self, cpf: str, benefit_number: str, signer_name: str | None) -> dict[str, Any]:
        scenario = self.scenario(cpf)
        available, loans = self.margins(cpf)
        rmc, rcc = self.card_margins(cpf)
        maximum = MAX_TOTAL_BALANCE
        new_benefit = self._new_benefit(cpf)
        return {
            "name": (signer_name or "BENEFICIARIO SANDBOX").upper(),
            "state": "SP",
            "alimony": "not_payer",
            "birth_date": "07021961",
            "grant_date": self._ddb(cpf).isoformat(),
            "credit_type": "checking_account",
            "block_type": scenario.block_type or ("blocked_by_granting_process" if new_benefit else "not_blocked"),
            "benefit_card": {"limit": Decimal("2083.2"), "balance": rcc},
            "benefit_number": benefit_number,
            "benefit_status": scenario.benefit_status or ("blocked" if new_benefit else "elegible"),
            "consigned_card": {"limit": Decimal("2083.2"), "balance": rmc},
            "assistance_type": scenario.assistance_type or "retirement_by_age",
            "document_number": cpf,
            "benefit_end_date": scenario.benefit_end_date.isoformat() if scenario.benefit_end_date else None,
            "consigned_credit": {"balance": loans},
            "benefit_situation": scenario.benefit_situation or "active",
            "max_total_balance": maximum,
            "used_total_balance": maximum - available,
            "politically_exposed": {"type": "not_politically_exposed", "is_politically_exposed": False},
            "has_power_of_attorney": False,
            "available_total_balance": available,
            "has_judicial_concession": False,
            "number_of_portabilities": 0,
            "disbursement_bank_account": self.paying_account(cpf),
            "has_entity_representation": bool(scenario.has_entity_representation),
            "social_benefit_max_balance": maximum,
            "social_benefit_used_balance": maximum - available,
            "benefit_quota_expiration_date": None,
            "number_of_active_reservations": 0,
            "number_of_suspended_reservations": 0,
            "number_of_refinanced_reservations": 0,
            "number_of_active_suspended_reservations": 0,
        }

    # ------------------------------------------------------------ simulation

    def simulate(self, payload: Any) -> dict[str, Any]:
        if isinstance(payload, dict) and "operation_batch" in payload:
            batch = SimulationBatch.model_validate(payload)
            return {"data": [self._simulate_one(r) for r in batch.operation_batch]}
        return self._simulate_one(SimulationRequest.model_validate(payload))

    def _simulate_one(self, request: SimulationRequest) -> dict[str, Any]:
        refinanced = self._refinanced(request.refinanced_credit_operations, cpf=None)
        try:
            result = quote(_terms(request.financial), self.product)
        except PricingError as error:
            raise ProviderRefusal(400, "SIM000001", str(error)) from None
        return simulation_response(
            result,
            key=str(uuid.uuid4()),
            requester_key=str(uuid.uuid4()),
            event_datetime=now(),
            number_of_installments=request.financial.number_of_installments,
            payoff=sum((op.balance for op in refinanced), Decimal(0)),
            refinanced=[(op.key, op.balance) for op in refinanced],
        )

    def operation(self, key: str) -> ExistingOperation | None:
        for cpf, scenario in self.scenarios.items():
            for operation in scenario.operations:
                if operation.key == key and key not in self._settled_operations:
                    self._operation_owner[key] = cpf
                    return operation
        return None

    def _refinanced(self, operations: Any, cpf: str | None) -> list[ExistingOperation]:
        """The operations a refinancing names, each one the CPF's and still open (else a 404 refusal)."""
        found = []
        for item in operations or []:
            key = str(item.operation_key)
            operation = self.operation(key)
            if operation is None or (cpf is not None and self._operation_owner.get(key) != cpf):
                raise ProviderRefusal(404, "COP000027", f"credit operation {key} not found", "Not Found")
            found.append(operation)
        return found

    # ------------------------------------------------------------ issuance

    async def issue_debt(self, request: IssuanceRequest, faults: Faults) -> dict[str, Any]:
        existing = self._debt_by_requester.get(request.requester_identifier_key)
        if existing:
            # A retried POST /debt: same requester_identifier_key, same debt (never a second one).
            return self.debts[existing].answer
        if not _is_uuid4(request.requester_identifier_key):
            # Published as a UUID4 (docs.qitech.com.br/documentation/emissao_de_divida/
            # consulta_por_requester_identifier_key).
            raise ProviderRefusal(400, "LEG000041", "requester_identifier_key must be a UUID4")
        collateral = request.collaterals[0].collateral_data
        cpf = request.borrower.individual_document_number
        refinanced = self._refinanced(request.refinanced_credit_operations, cpf)
        payoff = sum((op.balance for op in refinanced), Decimal(0))
        try:
            result = quote(_terms(request.financial), self.product)
        except PricingError as error:
            raise ProviderRefusal(400, "DBT000010", str(error)) from None
        key, related_party_key, representative_key = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        contract_number = f"TST{self._next_contract:010d}"
        self._next_contract += 1
        signers: list[Person] = list(request.related_parties) if request.related_parties else [request.borrower]
        created = now()
        answer = {
            "webhook_type": "debt",
            "key": key,
            "status": "waiting_signature",
            "event_datetime": naive_local(created),
            "data": {
                "borrower": {
                    "name": request.borrower.name,
                    "document_number": cpf,
                    "related_party_key": related_party_key,
                },
                "contract": {
                    "number": contract_number,
                    "urls": [f"https://sandbox.invalid/documents/{key}/CCB-{contract_number}.pdf"],
                    "signature_information": [
                        {
                            "signer_name": signer.name,
                            "signer_document_number": signer.individual_document_number,
                            "signer_role": signer.role_type,
                            "signer_email": signer.email,
                            "signer_external_key": None,
                            "signature_url": None,
                        }
                        for signer in signers
                    ],
                },
                "requester_identifier_key": request.requester_identifier_key,
                "related_parties": [
                    {
                        "name": party.name,
                        "document_number": party.individual_document_number,
                        "role_type": party.role_type,
                        "related_party_key": representative_key,
                    }
                    for party in request.related_parties or []
                ],
                "iof_charge_method": "financed",
                "collaterals": [
                    {
                        "absolute_amount": None,
                        "collateral_constituted": False,
                        "collateral_data": {
                            "state": collateral.state,
                            "benefit_number": int(collateral.benefit_number),
                            "reservation_method": "issuing",
                        },
                        "collateral_key": str(uuid.uuid4()),
                        "collateral_type": "social_security",
                        "created_at": created.replace(tzinfo=None).isoformat(),
                        "external_key": None,
                        "percentage": 1,
                        "reservation_method": {"enumerator": "issuing"},
                        "updated_at": created.replace(tzinfo=None).isoformat(),
                    }
                ],
                "disbursement_options": [issuance_option(o, payoff) for o in result],
            },
        }
        last_option = request.financial.disbursement_date + timedelta(days=request.financial.limit_days_to_disburse)
        installment = result[0].installment
        debt = Debt(
            key=key,
            request=request,
            answer=answer,
            cpf=cpf,
            benefit_number=collateral.benefit_number,
            related_party_key=related_party_key,
            window_end=end_of_day(last_option),
            installment=installment,
            representative_party_key=representative_key if request.related_parties else None,
            minimum_wage_increase=collateral.operation_category == MINIMUM_WAGE_INCREASE,
            refinanced=tuple(op.key for op in refinanced),
            freed_installments=sum((op.installment for op in refinanced), Decimal(0)),
        )
        self.debts[key] = debt
        self._debt_by_requester[request.requester_identifier_key] = key
        await self._send(key, answer, faults)
        ddb = self._ddb(cpf)
        if last_option < dataprev.margin_release_day(ddb):
            # Seed 004 §4: the margin is released only after DDB + 90 days; a window that ends
            # before then is canceled permanently with this reason.
            self.debt_later(debt, self.settings.processing_delay_seconds, self._cancel_for_ddb)
        return answer

    async def _cancel_for_ddb(self, debt: Debt) -> None:
        reason = MARGIN_RELEASE_AFTER_DISBURSEMENT_END_DATE
        await self._finish(debt, "canceled_permanently", {"cancel_reason": reason, "cancel_reason_enumerator": reason})

    # ------------------------------------------------------------ documents and signature

    def debt(self, key: str) -> Debt:
        debt = self.debts.get(key)
        if debt is None:
            raise ProviderRefusal(404, "COP000027", f"debt {key} not found", "Not Found")
        return debt

    def debt_by_requester(self, requester_key: str) -> Debt:
        key = self._debt_by_requester.get(requester_key)
        if key is None:
            raise ProviderRefusal(404, "COP000027", "credit operation not found", "Not Found")
        return self.debts[key]

    def credit_operation_view(self, debt: Debt) -> dict[str, Any]:
        """Field names of the published credit-operation lookup (its status enumerator included)."""
        option = debt.answer["data"]["disbursement_options"][0]
        # Signed and not yet validated: what its answer to POST /signed said it is.
        signed = debt.signature is not None and debt.status == "waiting_signature"
        return {
            "credit_operation_key": debt.key,
            "requester_identifier_key": debt.request.requester_identifier_key,
            "contract_number": debt.answer["data"]["contract"]["number"],
            "credit_operation_status_enumerator": "signature_received" if signed else debt.status,
            "issue_amount": option["issue_amount"],
            "total_iof": option.get("total_iof"),
            "disbursement_date": debt.request.financial.disbursement_date.isoformat(),
            "first_due_date": option.get("first_due_date"),
            "installments": option.get("installments", []),  # the current schedule (recalculated, if it was)
            "issuer_document_number": debt.cpf,
        }

    def attach_documents(self, debt: Debt, related_party_key: str, documents: AttachedDocuments) -> None:
        # A represented beneficiary's documents are the representative's, on his related party.
        signer_key = debt.representative_party_key or debt.related_party_key
        if related_party_key != signer_key:
            raise ProviderRefusal(404, "DBT000020", "related party not found for this debt", "Not Found")
        if debt.status != "waiting_signature":
            raise ProviderRefusal(400, "DBT000021", f"documents cannot be attached to a debt in {debt.status}")
        debt.documents = documents
        debt.documents_party = "legal_representative" if debt.representative_party_key else "borrower"

    async def sign(self, debt: Debt, evidence: SignatureEvidence, faults: Faults) -> dict[str, Any]:
        answer = {
            "data": {},
            "event_datetime": naive_local(now()),
            "key": debt.key,
            "status": "signature_received",
            "webhook_type": "debt",
        }
        if debt.signature is not None:
            return answer  # signing twice is signing once
        if debt.status != "waiting_signature":
            raise ProviderRefusal(400, "DBT000030", f"a debt in {debt.status} cannot be signed")
        debt.signature = evidence
        self.debt_later(debt, self.settings.processing_delay_seconds, self._validate_signature, faults)
        return answer

    def _documents_problem(self, debt: Debt) -> str | None:
        if debt.documents is None:
            return "documents missing"
        for key in (
            debt.documents.document_identification,
            debt.documents.document_identification_back,
            debt.documents.selfie,
        ):
            document = self.documents.get(str(key))
            if document is None:
                return f"document {key} was never uploaded"
            if not document.jpeg or min(document.width, document.height) < MIN_DOCUMENT_SIDE:
                return f"document {key} is not a JPEG of at least 250x250"
        assistance = debt.request.collaterals[0].collateral_data.assistance_type
        if assistance is not None and assistance not in ASSISTANCE_TYPE_NAMES:
            return "assistance_type not mapped"
        return None

    async def _validate_signature(self, debt: Debt, faults: Faults) -> None:
        problem = self._documents_problem(debt)
        if problem:
            # Seed 001 §6: document or assistance_type validation fails → canceled permanently, data {}.
            log.info("sandbox cancels %s permanently: %s", debt.key, problem)
            await self._finish(debt, "canceled_permanently", {})
            return
        debt.status = "signature_received"
        await self._send(debt.key, self._debt_webhook(debt, "signature_received", {}), faults)
        self.debt_later(debt, self.settings.processing_delay_seconds, self._attempt_averbacao)

    # ------------------------------------------------------------ averbação

    def _averbacao_step(self, debt: Debt) -> str:
        lifts_after = self.scenario(debt.cpf).block_lifts_after_attempts
        lifted = lifts_after is not None and debt.averbacao_attempts >= lifts_after
        if not lifted and now().date() < dataprev.margin_release_day(self._ddb(debt.cpf)):
            # Dataprev refuses a reservation on a benefit still inside its 90 days; the provider
            # keeps trying (teimosinha) until the margin is released.
            return "benefit_blocked_by_granting_process"
        script = self.scenario(debt.cpf).averbacao
        if script:
            index = min(debt.averbacao_attempts + debt.corrections, len(script) - 1)
            return script[index]
        _, loans_margin = self.margins(debt.cpf)
        if debt.installment > loans_margin + debt.freed_installments:
            # Seed 004 §7: a minimum-wage-increase reservation over the margin waits for the lender
            # (reduce the installment); any other is Dataprev's HW, retried (teimosinha).
            if debt.minimum_wage_increase:
                return PENDING_PREFIX + "margin_exceeded_for_minimum_wage_increase"
            return "consignable_margin_excceded"
        if debt.corrections:
            return SUCCESS  # the correction fixed what the CPF's scenario complained about
        return averbacao_outcome(debt.cpf)

    def _attempt_time(self, debt: Debt) -> datetime:
        step = self.settings.teimosinha_clock_step_seconds
        if not step or debt.last_response_at is None:
            return now()
        return debt.last_response_at + timedelta(seconds=step)

    async def _attempt_averbacao(self, debt: Debt) -> None:
        if debt.final or debt.collateral_constituted:
            return
        step = self._averbacao_step(debt)
        debt.averbacao_attempts += 1
        faults = self.faults_for(debt.cpf)
        attempt_at = self._attempt_time(debt)
        debt.last_response_at = attempt_at
        if step == SUCCESS and self.scenario(debt.cpf).anuencia is not None and not debt.confirmation_deadline:
            # Dataprev took the reservation; the beneficiary has 5 calendar days to confirm it in Meu INSS.
            debt.collateral_status = "pending_confirmation"
            debt.confirmation_deadline = end_of_day((attempt_at + timedelta(days=CONFIRMATION_DAYS)).date())
            await self._confirmation_notice(debt, self.scenario(debt.cpf).anuencia_notices)
            return
        if step == SUCCESS:
            debt.collateral_constituted = True
            debt.collateral_status = "reserved"
            debt.last_response = {
                "success": [{"enumerator": dataprev.SUCCESSFULLY_INCLUDED, "reservation_method": "new_credit"}]
            }
            body = {
                "key": debt.key,
                "data": {"collateral_type": "social_security", "collateral_constituted": True},
                "event_time": naive_local(attempt_at),
                "webhook_type": "credit_operation.collateral",
            }
            await self._send(debt.key, body, faults)
            self.debt_later(debt, self.settings.processing_delay_seconds, self._disburse)
            return
        if step.startswith(PENDING_PREFIX):
            enumerator = step.removeprefix(PENDING_PREFIX)
            debt.pending_action, debt.pending_since = enumerator, attempt_at
            description = (
                "Success balance request not found for the specified benefit number"
                if enumerator == "success_balance_request_not_found"
                else f"The margin for this reservation has been exceeded. Reservation Amount: {debt.installment}"
            )
            body = {
                "webhook": {
                    "key": debt.key,
                    "data": {"enumerator": enumerator, "description": description},
                    "status": "pending_requester_action",
                    "webhook_type": PENDING_WEBHOOK_TYPES.get(enumerator, f"social_security_{enumerator}"),
                    "event_datetime": t_local(attempt_at),
                }
            }
            await self._send(debt.key, body, faults)
            return
        debt.last_response = {"errors": [{"enumerator": step, "reservation_method": "new_credit"}]}
        body = {
            "webhook_type": "credit_operation.collateral",
            "key": debt.key,
            "event_time": t_local(attempt_at),
            "data": {
                "collateral_type": "social_security",
                "collateral_constituted": False,
                "collateral_data": {
                    "status": "pending_reservation",
                    "last_response": {"errors": [{"enumerator": step}]},
                    "last_response_event_datetime": z_utc(attempt_at),
                    "reservation_method": "new_credit",
                },
            },
        }
        await self._send(debt.key, body, faults)
        action = dataprev.action(step)
        if action == dataprev.Action.CANCEL:
            debt.awaiting_correction = True
            grace = self.scenario(debt.cpf).cancel_grace_seconds or self.settings.cancel_grace_seconds
            self.debt_later(debt, grace, self._cancel_after_error, step)
        elif action == dataprev.Action.CONFIRM:
            # "reservation_already_included": the margin is reserved; the operation goes on.
            debt.collateral_constituted = True
            debt.collateral_status = "reserved"
            self.debt_later(debt, self.settings.processing_delay_seconds, self._disburse)
        else:
            # Teimosinha (and the unmapped mock_error): try again until the window closes.
            self.debt_later(debt, self.settings.teimosinha_interval_seconds, self._attempt_averbacao)

    async def _confirmation_notice(self, debt: Debt, remaining: int) -> None:
        """The pending_confirmation webhook, sent again while the provider keeps asking Dataprev; then the
        beneficiary's answer (the scenario's)."""
        if debt.final or debt.collateral_constituted:
            return
        deadline = debt.confirmation_deadline
        assert deadline is not None
        body = {
            "key": debt.key,
            "webhook_type": "laas.social_security.reservation.status_change",
            "status": "pending_confirmation",
            "event_datetime": naive_local(now()),
            "data": {"confirmation_deadline": naive_local(deadline)},
        }
        await self._send(debt.key, body, self.faults_for(debt.cpf))
        every = self.scenario(debt.cpf).anuencia_every_seconds or self.settings.processing_delay_seconds
        if remaining > 1:
            self.debt_later(debt, every, self._confirmation_notice, remaining - 1)
        else:
            self.debt_later(debt, every, self._confirmation_answer)

    async def _confirmation_answer(self, debt: Debt) -> None:
        answer = self.scenario(debt.cpf).anuencia
        if debt.final or debt.collateral_constituted:
            return
        if answer == "confirmed":
            debt.collateral_constituted, debt.collateral_status = True, "reserved"
            debt.last_response = {
                "success": [{"enumerator": dataprev.SUCCESSFULLY_INCLUDED, "reservation_method": "new_credit"}]
            }
            body = {
                "key": debt.key,
                "data": {"collateral_type": "social_security", "collateral_constituted": True},
                "event_time": naive_local(now()),
                "webhook_type": "credit_operation.collateral",
            }
            await self._send(debt.key, body, self.faults_for(debt.cpf))
            self.debt_later(debt, self.settings.processing_delay_seconds, self._disburse)
            return
        # Refused, or the deadline passed: the provider de-averba and cancels the debt.
        reason = CONFIRMATION_CANCEL_REASONS["denied" if answer == "denied" else "expired"]
        await self._finish(debt, "canceled", {"cancel_reason": reason, "cancel_reason_enumerator": reason})

    async def _cancel_after_error(self, debt: Debt, enumerator: str) -> None:
        if not debt.awaiting_correction:
            return
        data = {"cancel_reason": averbacao_description(enumerator), "cancel_reason_enumerator": enumerator}
        await self._finish(debt, "canceled", data)

    def correct_collateral(self, debt: Debt, correction: CollateralCorrection) -> None:
        if debt.final or debt.collateral_constituted:
            raise ProviderRefusal(400, "COL000010", f"collateral of a debt in {debt.status} cannot be corrected")
        if correction.benefit_number:
            debt.benefit_number = correction.benefit_number  # what every later check compares with
        debt.corrections += 1
        if debt.awaiting_correction:
            debt.awaiting_correction = False
            debt.generation += 1  # voids the scheduled cancel
            self.debt_later(debt, self.settings.processing_delay_seconds, self._attempt_averbacao)

    def recalculate(self, debt: Debt, request: Recalculate) -> dict[str, Any]:
        if debt.pending_action not in {
            "margin_exceeded_for_new_beneficiary",
            "margin_exceeded_for_minimum_wage_increase",
        }:
            raise ProviderRefusal(400, "COP000489", "operation is not waiting for an installment reduction")
        new_value = request.installment_face_value
        if new_value >= debt.installment or new_value < money(debt.installment * (1 - MAX_RECALCULATION_CUT)):
            raise ProviderRefusal(
                400, "COP000490", "installment_face_value must be below the current one and at most 30 % lower"
            )
        financial = debt.request.financial
        if financial.monthly_interest_rate is None:
            # The page: "mantém taxa, prazo e estrutura" — a debt priced by its rate has none to keep.
            raise ProviderRefusal(400, "COP000489", "operation has no fixed rate to recalculate with")
        try:
            result = quote(_terms(financial, installment=new_value), self.product)
        except PricingError as error:
            raise ProviderRefusal(400, "COP000490", str(error)) from None
        debt.installment = new_value
        debt.answer["data"]["disbursement_options"] = [issuance_option(o) for o in result]
        debt.pending_action = None
        debt.corrections += 1
        self.debt_later(debt, self.settings.processing_delay_seconds, self._attempt_averbacao)
        return debt.answer

    def confirm_balance_request(self, debt: Debt, confirmation: BalanceRequestConfirmation) -> None:
        if debt.pending_action != "success_balance_request_not_found":
            raise ProviderRefusal(400, "COL000020", "operation is not waiting for a balance request")
        consultation = self.consultations.get(confirmation.balance_request_key)
        if (
            consultation is None
            or consultation.kind != "balance"
            or not consultation.success
            or consultation.cpf != debt.cpf
            or consultation.benefit_number != debt.benefit_number
            or (debt.pending_since is not None and consultation.created_at < debt.pending_since)
        ):
            raise ProviderRefusal(
                400, "COL000021", "no successful balance request for this benefit after the pending action"
            )
        debt.pending_action = None
        debt.corrections += 1
        self.debt_later(debt, self.settings.processing_delay_seconds, self._attempt_averbacao)

    def collateral_view(self, debt: Debt) -> dict[str, Any]:
        return {
            "collateral_constituted": debt.collateral_constituted,
            "collateral_type": "social_security",
            "updated_at": naive_local(debt.last_response_at or now()),
            "collateral_data": {
                "state": debt.request.collaterals[0].collateral_data.state,
                "benefit_number": int(debt.benefit_number),
                "status": debt.collateral_status,
                "last_response": debt.last_response,
                "last_response_event_datetime": z_utc(debt.last_response_at) if debt.last_response_at else None,
            },
        }

    # ------------------------------------------------------------ disbursement

    async def _disburse(self, debt: Debt) -> None:
        if debt.final:
            return
        script = self.scenario(debt.cpf).disbursement or ["success"]
        step = script[min(debt.disbursement_attempts, len(script) - 1)]
        debt.disbursement_attempts += 1
        faults = self.faults_for(debt.cpf)
        account = debt.request.disbursement_bank_accounts[0]
        if step == "success":
            debt.status = "disbursed"
            self._settled_operations.update(debt.refinanced)  # paid off out of this loan
            await self._send(debt.key, self._debt_webhook(debt, "disbursed", {}), faults)
            return
        debt.status = "canceled"
        debt.awaiting_reapresentacao = True
        if step == "ted_refusal":
            body: dict[str, Any] = {
                # Seeds 001/004 §8 print this one without webhook_type.
                "status": "canceled",
                "key": debt.key,
                "data": {
                    "ted_refusal": {
                        "transaction_key": str(uuid.uuid4()),
                        "description": f"{account.bank_code} {account.branch_number} {account.account_number}",
                        "fee": 0,
                        "reason_enumerator": "agencia_conta_invalida",
                        "timestamp": t_local(now()),
                        "amount": debt.answer["data"]["disbursement_options"][0]["issue_amount"],
                        "reason": "Agência ou Conta Destinatária do Crédito Inválida",
                    },
                    "cancel_reason": "ted_refusal",
                },
            }
        else:
            body = {
                "webhook_type": "debt",
                "data": {
                    "pix_refusal": {
                        "reason_enumerator": "invalid_document_number",
                        "reason": "CPF/CNPJ do usuário recebedor não é compatível com o titular da conta de destino.",
                    },
                    "cancel_reason": "pix_refusal",
                },
                "status": "canceled",
                "key": debt.key,
                "event_datetime": naive_local(now()),
            }
        await self._send(debt.key, body, faults)

    def change_disbursement_date(self, debt: Debt, request: ChangeDisbursementDate) -> dict[str, Any]:
        if not debt.awaiting_reapresentacao:
            raise ProviderRefusal(400, "DBT000040", f"a debt in {debt.status} has no refused payment to present again")
        if end_of_day(request.disbursement_date) > debt.window_end or request.disbursement_date < now().date():
            raise ProviderRefusal(
                400, "DBT000041", "disbursement_date must be today or later, within the disbursement window"
            )
        debt.awaiting_reapresentacao = False
        debt.status = "signature_received"
        accounts = request.disbursement_bank_accounts or []
        self.debt_later(debt, self.settings.processing_delay_seconds, self._disburse)
        return {
            "disbursement_accounts": [
                {
                    "account_branch": a.branch_number,
                    "account_digit": a.account_digit,
                    "account_number": a.account_number,
                    "account_type": a.account_type,
                    "amount_receivable": None,
                    "created_at": now().replace(tzinfo=None).isoformat(timespec="seconds"),
                    "disbursement_type": "ted",
                    "document_number": a.document_number,
                    "financial_institutions_code_number": a.bank_code,
                    "is_pix_disbursement": False,
                    "ispb": a.ispb_number,
                    "name": a.name,
                    "percentage_receivable": a.percentage_receivable,
                    "retry_counter": 0,
                }
                for a in accounts
            ],
            "disbursement_date": request.disbursement_date.isoformat(),
        }

    # ------------------------------------------------------------ cancel and window

    async def cancel_permanently(self, debt: Debt) -> None:
        if debt.status == "canceled_permanently":
            return
        if debt.status == "disbursed":
            raise ProviderRefusal(400, "DBT000050", "a disbursed debt cannot be canceled permanently")
        await self._finish(debt, "canceled_permanently", {})

    async def expire_windows(self, at: datetime | None = None) -> int:
        """Cancel, with the provider's 'manual' reason, every debt whose window closed unfinished."""
        moment = at or now()
        # A scan once a second reads every debt: through peek, and only those it cancels through the dict.
        expired = [
            d.key for d in peek(self.debts) if not d.final and d.status != "disbursed" and moment >= d.window_end
        ]
        for key in expired:
            data = {"cancel_reason": "Operacao cancelada manualmente", "cancel_reason_enumerator": "manual"}
            await self._finish(self.debts[key], "canceled", data)
        return len(expired)

    async def _finish(self, debt: Debt, status: str, data: dict[str, Any]) -> None:
        debt.status = status
        debt.awaiting_reapresentacao = False
        debt.awaiting_correction = False
        debt.generation += 1
        await self._send(debt.key, self._debt_webhook(debt, status, data), self.faults_for(debt.cpf))

    def _debt_webhook(self, debt: Debt, status: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": debt.key,
            "data": data,
            "status": status,
            "webhook_type": "debt",
            "event_datetime": naive_local(now()),
        }

    # ------------------------------------------------------------ delivery

    async def _send(self, key: str, body: dict[str, Any], faults: Faults) -> None:
        delay = 0.0 if faults.webhook_before_response else self.settings.processing_delay_seconds
        # The webhook carries the trace of the call that caused it (timers inherit the context),
        # so the lender's trace continues through the delivery.
        trace_headers: dict[str, str] = {}
        propagate.inject(trace_headers)
        await self.dispatcher.submit(key, body, faults, delay=delay, headers=trace_headers)
