"""Activities replaced by fakes registered under the same names: the workflow tests drive the
provider's answers and webhooks themselves."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.admission import Admissions
from activities.housekeeping import pin_current_rules
from activities.qitech.models.webhooks import ReceivedWebhook
from activities.qitech.news import translate
from workflows.loan.activity_models import (
    ConfirmBalanceInput,
    ConsultationInput,
    CorrectionInput,
    DebtKeyInput,
    DocumentsInput,
    Issued,
    IssueInput,
    LookedUp,
    LookupInput,
    ProviderKey,
    ReapresentacaoInput,
    Recalculated,
    RecalculateInput,
    ReleaseInput,
    SignInput,
    Simulated,
    SimulateInput,
)
from workflows.loan.decisions import price_check
from workflows.loan.loan_events import RECORD_LOAN_EVENTS, LoanEvent, RecordEvents
from workflows.loan.port import BUSINESS_ERROR, INVALID_DOCUMENT
from workflows.loan.routing import ProviderRouting
from workflows.loan.state import PricedOption

TEST_PII_HASH_KEY = b"test-pii-hash-key"
"""The workers of the workflow tests hash CPFs with this key (tests compute the expected hash with it)."""


@dataclass
class FakeProvider:
    calls: list[tuple[str, Any]] = field(default_factory=list)
    benefits_key: str = field(default_factory=lambda: f"benefits-{uuid.uuid4()}")
    balance_keys: list[str] = field(default_factory=lambda: [f"balance-{uuid.uuid4()}" for _ in range(4)])
    debt_key: str = field(default_factory=lambda: f"debt-{uuid.uuid4()}")
    installment: Decimal = Decimal("300.00")
    monthly_rate: Decimal = Decimal("0.0166")
    refuse: dict[str, str] = field(default_factory=dict)  # activity name -> provider code to refuse with
    invalid_documents: int = 0  # the next N attach_documents calls find an unusable document
    # What a reconciliation lookup finds (the provider's state as webhooks); the test sets it.
    lookup_finds: list[ReceivedWebhook] = field(default_factory=list)
    lookup_not_found: list[str] = field(default_factory=list)  # what the lookup answers 404 for
    sign_gate: asyncio.Event | None = None
    # What the provider answers the signature with, as news (the adapter's ``answer:`` events); none by default.
    sign_answers: list[ReceivedWebhook] = field(default_factory=list)
    # activity name -> how many of its next calls find the provider down (a retryable 503, as the
    # client reports one); a large number is an outage that outlasts the loan's patience.
    down: dict[str, int] = field(default_factory=dict)
    # Figures the provider's simulation prices its own way (PricedOption field -> its value): the
    # loan goes on with the provider's, and the price check says where ours differ.
    prices: dict[str, Any] = field(default_factory=dict)
    # What the provider pays off of a refinancing's operations out of each option (its answer's
    # disbursed less final amount): what the borrower receives is that much less, ours and theirs.
    payoff: Decimal | None = None
    # The outbox, as the sales channel's events reach it (by event id: a repeated batch is recorded
    # once, as the store's insert does); kept apart from ``calls``, which are the provider's.
    outbox: dict[str, LoanEvent] = field(default_factory=dict)
    outbox_down: int = 0  # the next N recordings find the store out of reach
    recordings: int = 0

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _record(self, name: str, call: Any) -> None:
        self.calls.append((name, call))
        if self.down.get(name, 0) > 0:
            self.down[name] -= 1
            raise ApplicationError(
                "provider unavailable: 503 from the fake",
                {"status": 503, "path": "/", "retryable": True},
                type="ProviderUnavailable",
            )
        if name in self.refuse:
            code = self.refuse[name]
            raise ApplicationError(
                f"provider refused: {code}",
                {"status": 400, "code": code, "description": "refused by the fake", "path": "/", "retryable": False},
                type=BUSINESS_ERROR,
                non_retryable=True,
            )

    def _options(self, request: Any, installment: Decimal | None = None) -> list[PricedOption]:
        terms = request.financial
        value = installment or terms.installment_value or self.installment
        return [
            PricedOption(
                disbursement_date=terms.disbursement_date + timedelta(days=i),
                first_due_date=terms.first_due_date,
                last_due_date=terms.first_due_date + timedelta(days=31 * (terms.number_of_installments - 1)),
                installment_value=value,
                issue_amount=Decimal("12000.00"),
                released_amount=Decimal("11500.00"),
                total_iof=Decimal("400.00"),
                monthly_rate=self.monthly_rate,
                monthly_cet=Decimal("0.0190"),
                annual_cet=Decimal("0.253000"),
            )
            for i in range(terms.limit_days_to_disburse + 1)
        ]

    def simulated(self, request: Any) -> Simulated:
        """The simulation's answer: the provider's options, checked against ours (the fake's own
        figures) by the adapters' comparison — a match only when they agree."""
        ours = self._options(request)
        if self.payoff is not None:
            paid = self.payoff
            ours = [
                o.model_copy(update={"released_amount": (o.released_amount or 0) - paid, "payoff": paid}) for o in ours
            ]
        theirs = [o.model_copy(update=self.prices) for o in ours]
        return Simulated(options=theirs, pricing_check=price_check(theirs, ours))

    def activities(self) -> list[Any]:
        fake = self

        @activity.defn(name="request_benefits")
        async def request_benefits(call: ConsultationInput) -> ProviderKey:
            fake._record("request_benefits", call)
            return ProviderKey(key=fake.benefits_key, status="pending_search")

        @activity.defn(name="request_balance")
        async def request_balance(call: ConsultationInput) -> ProviderKey:
            fake._record("request_balance", call)
            return ProviderKey(key=fake.balance_keys[call.attempt], status="pending_authorization")

        @activity.defn(name="simulate")
        async def simulate(call: SimulateInput) -> Simulated:
            fake._record("simulate", call)
            return fake.simulated(call.request)

        @activity.defn(name="issue_debt")
        async def issue_debt(call: IssueInput) -> Issued:
            fake._record("issue_debt", call)
            return Issued(
                debt_key=fake.debt_key,
                contract_number="TST0000000001",
                related_party_key=f"rp-{uuid.uuid4()}",
                options=fake._options(call.request),
            )

        @activity.defn(name="attach_documents")
        async def attach_documents(call: DocumentsInput) -> None:
            fake._record("attach_documents", call)
            if fake.invalid_documents > 0:
                fake.invalid_documents -= 1
                raise ApplicationError(
                    "selfie is 200x200, the provider needs at least 250x250", type=INVALID_DOCUMENT, non_retryable=True
                )

        @activity.defn(name="sign")
        async def sign(call: SignInput) -> LookedUp:
            fake._record("sign", call)
            if fake.sign_gate is not None:  # a slow provider: the signature Update stays in flight
                await fake.sign_gate.wait()
            return LookedUp(events=[translate(answer) for answer in fake.sign_answers])  # as the adapter does

        @activity.defn(name="correct_collateral")
        async def correct_collateral(call: CorrectionInput) -> None:
            fake._record("correct_collateral", call)

        @activity.defn(name="recalculate")
        async def recalculate(call: RecalculateInput) -> Recalculated:
            fake._record("recalculate", call)
            return Recalculated(
                options=[
                    PricedOption(
                        disbursement_date=date(2026, 1, 1),
                        installment_value=call.installment_value,
                    )
                ]
            )

        @activity.defn(name="confirm_balance_request")
        async def confirm_balance_request(call: ConfirmBalanceInput) -> None:
            fake._record("confirm_balance_request", call)

        @activity.defn(name="cancel_permanently")
        async def cancel_permanently(call: DebtKeyInput) -> None:
            fake._record("cancel_permanently", call)

        @activity.defn(name="change_disbursement_date")
        async def change_disbursement_date(call: ReapresentacaoInput) -> None:
            fake._record("change_disbursement_date", call)

        @activity.defn(name="release_provider_keys")
        async def release_provider_keys(call: ReleaseInput) -> None:
            fake._record("release_provider_keys", call)

        @activity.defn(name="look_up_provider_state")
        async def look_up_provider_state(call: LookupInput) -> LookedUp:
            fake._record("look_up_provider_state", call)
            found = [translate(found) for found in fake.lookup_finds]  # as the adapter does
            return LookedUp(events=found, not_found=list(fake.lookup_not_found))

        @activity.defn(name=RECORD_LOAN_EVENTS)
        async def record_loan_events(call: RecordEvents) -> None:
            fake.recordings += 1
            if fake.outbox_down > 0:
                fake.outbox_down -= 1
                raise RuntimeError("the store is out of reach (fake)")
            for event in call.events:
                fake.outbox.setdefault(event.event_id, event)

        return [
            record_loan_events,
            # The worker's own admission (routing, CPF hash), not a fake: it stands in for no provider.
            Admissions(ProviderRouting(), TEST_PII_HASH_KEY).admit_loan,
            look_up_provider_state,
            request_benefits,
            request_balance,
            simulate,
            issue_debt,
            attach_documents,
            sign,
            correct_collateral,
            recalculate,
            confirm_balance_request,
            cancel_permanently,
            change_disbursement_date,
            release_provider_keys,
            pin_current_rules,
        ]
