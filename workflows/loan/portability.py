"""A portability (Port+Refin, seed 002 and the provider's public flow): another bank's loan brought
over, and optionally refinanced for a troco — a journey of its own: the consultation, the Updates,
the visibility and the endings are the loan's; the stages after the consultation are the proposal's:

    proposal → ctc_answer → consent → origin_bank → awaiting_signature → payoff → averbacao → troco

Each wait reads facts the proposal's webhooks set (``workflows.loan.facts._portability``), so their order does
not matter: the CTC's answer, the beneficiary's consent (its deadline — registration + 5 days — a
durable timer), the origin bank's acceptance or retention, the payoff, the portability leg's averbação
(Port+Refin's table: every error but HX is teimosinha, retried by the provider) and the troco's
disbursement. A canceled proposal ends the loan wherever it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import ptbr
    from domain.calendar import SAO_PAULO, end_of_day
    from domain.loan import InstallmentReduction, SignatureSubmission, VerifiedOperator
    from workflows.loan.activity_models import (
        OriginQueryInput,
        PortabilityPricingInput,
        PortabilityReductionInput,
        ProposalInput,
        ProposalKeyInput,
        ProposalLookupInput,
        SignLegsInput,
    )
    from workflows.loan.core import (
        ACTIVITY_FAILURES,
        CLEANUP_TIMEOUT,
        CONSENT_EXPLAINS_A_CANCEL,
        LoanRun,
        ends,
        failure_text,
    )
    from workflows.loan.decisions import portability_eligibility, portability_pricing_check, portability_reduction
    from workflows.loan.endings import Ending
    from workflows.loan.facts import note_unknown
    from workflows.loan.new_credit import cancel_debt
    from workflows.loan.news import ConsentStatus as Consent
    from workflows.loan.news import ProposalStatus
    from workflows.loan.news_order import CONSENT_DECIDED
    from workflows.loan.port import (
        CANCEL_PROPOSAL,
        CREATE_PROPOSAL,
        LOOK_UP_PROPOSAL,
        PORTABILITY_SIGNING_LINK,
        PRICE_PORTABILITY,
        QUERY_ORIGIN_CONTRACT,
        REDUCE_PORTABILITY_INSTALLMENT,
        SIGN_LEGS,
    )
    from workflows.loan.prelude import Consultation
    from workflows.loan.state import PortabilityFacts, Stage, Status

ANSWERED_BY_CTC = frozenset(s.value for s in ProposalStatus) - {
    ProposalStatus.PENDING_SUBMISSION.value,
    ProposalStatus.PENDING_RESPONSE.value,
}
CONSENT_NEWS_GRACE = timedelta(minutes=2)
"""How long a canceled proposal waits for the consent's news that explains it (webhooks arrive out of
order). ASSUMED: the provider sends both within seconds; one place to change it (README, assumptions)."""
PORTABILITY_ELIGIBILITY = "portability-eligibility"
"""Patch: a portability is checked against the eligibility rules that apply to it before its proposal."""
CONSENT_AS_PUBLISHED = "consent-as-published"
"""Patch: the consent waits through pending_inclusion and unknown statuses, and a refusal cancels the
proposal at the provider unless it is known ended."""
PROPOSAL_ENDED = frozenset({ProposalStatus.CANCELED.value, ProposalStatus.REJECTED.value})
ORIGIN_ANSWERED = frozenset(
    s.value
    for s in (
        ProposalStatus.ACCEPTED,
        ProposalStatus.RETAINED,
        ProposalStatus.SETTLEMENT_SENT,
        ProposalStatus.PENDING_SETTLEMENT_CONFIRMATION,
        ProposalStatus.PAID,
    )
)
PAYOFF_STARTED = frozenset(
    s.value
    for s in (ProposalStatus.SETTLEMENT_SENT, ProposalStatus.PENDING_SETTLEMENT_CONFIRMATION, ProposalStatus.PAID)
)
"""A portability past these cannot be canceled: the money left for the origin bank (the provider
refuses too)."""


class PortabilityJourney:
    actions_at_provider = False

    def __init__(self, loan: LoanRun) -> None:
        self.loan = loan
        self.consultation = Consultation(loan)
        self.stages: dict[Stage, Callable[[], Awaitable[None]]] = {
            Stage.SIMULATION: self._propose,  # nothing to simulate: the origin bank's balance decides
            Stage.PROPOSAL: self._propose,
            Stage.CTC_ANSWER: self._ctc_answer,
            Stage.CONSENT: self._consent,
            Stage.ORIGIN_BANK: self._origin_bank,
            Stage.AWAITING_SIGNATURE: self._legs_signed,
            Stage.PAYOFF: self._payoff,
            Stage.AVERBACAO: self._portability_averbacao,
            Stage.AWAITING_INSTALLMENT_REDUCTION: self._awaiting_portability_reduction,
            Stage.TROCO: self._troco,
        }

    async def step(self) -> None:
        if self.loan.state.stage == Stage.CONSULTATION:
            await self.consultation.run()
            return
        await self._proposal_ended()
        await self.stages[self.loan.state.stage]()

    def _facts(self) -> PortabilityFacts:
        assert self.loan.state.portability is not None
        return self.loan.state.portability

    async def _proposal_ended(self) -> None:
        facts = self.loan.state.portability
        if facts is None or facts.proposal_status != ProposalStatus.CANCELED:
            return
        if (
            facts.consent_status in (None, Consent.AWAITING_CONFIRMATION.value)
            and CONSENT_EXPLAINS_A_CANCEL in self.loan.patches
        ):
            # The provider cancels a proposal because the consent expired or was denied, and sends both
            # webhooks; delivered out of order, the cancel arrives first. A short wait for the consent's
            # news names the cause instead of a bare "canceled".
            await self.loan.wait(
                lambda: facts.consent_status not in (None, Consent.AWAITING_CONFIRMATION.value),
                until=workflow.now() + CONSENT_NEWS_GRACE,
            )
        if facts.consent_status in (Consent.EXPIRED, Consent.DENIED):  # the usual cause: named, not guessed
            raise ends(Status.CANCELED, self._consent_refused(facts))
        raise ends(Status.CANCELED, "the portability proposal was canceled")

    @staticmethod
    def _consent_refused(facts: PortabilityFacts) -> str:
        if facts.consent_status == Consent.EXPIRED:
            return f"consent_expired: not confirmed in Meu INSS by {ptbr.day(facts.consent_deadline)}"
        return f"consent_{facts.consent_status}: the beneficiary did not authorize it"

    # ------------------------------------------------------------ operators' actions

    async def sign(self, submission: SignatureSubmission) -> None:
        """Each leg's CCB."""
        facts = self._facts()
        signing = SignLegsInput(
            proposal_key=facts.proposal_key, signing_links=facts.signing_links, submission=submission
        )
        await self.loan.activity(SIGN_LEGS, signing)
        facts.legs_signed = True

    async def reduce(self, reduction: InstallmentReduction) -> None:
        """The portability leg's installment (seed 002 §13)."""
        await self._reduce_portability(
            reduction.installment_value, by=f"an operator: {reduction.note}", operator=reduction.verified_operator
        )

    def check_reduction(self, reduction: InstallmentReduction) -> None:
        """Seed 002 §13 sets no limit for the portability leg: the operator decides."""

    def check_cancel(self) -> None:
        port = self.loan.state.portability
        if port is not None and port.proposal_status in PAYOFF_STARTED:
            raise ValueError(f"the origin bank is being paid off ({port.proposal_status}): the portability stays")

    async def _reduce_portability(
        self, installment: Decimal, *, by: str, operator: VerifiedOperator | None = None
    ) -> None:
        """The portability leg's installment lowered: a new CCB, signed again before the provider tries
        the averbação again (its answer is ``waiting_signature``)."""
        loan, state = self.loan, self.loan.state
        facts = self._facts()
        async with loan.lock:
            reduced = await loan.activity(
                REDUCE_PORTABILITY_INSTALLMENT,
                PortabilityReductionInput(proposal_key=facts.proposal_key, installment_value=installment),
            )
        facts.installment = state.installment_value = reduced.installment_value
        facts.reductions += 1
        facts.reduction_offer = None
        facts.legs_signed, state.signature_submitted_at = False, None
        facts.signing_links = {PORTABILITY_SIGNING_LINK: reduced.document_url} if reduced.document_url else {}
        loan.operator("reduce_installment", f"{reduced.installment_value} (portability leg, by {by})", by=operator)
        loan.enter(Stage.AWAITING_SIGNATURE)

    # ------------------------------------------------------------ stages

    async def _propose(self) -> None:
        loan = self.loan
        state, request, rules = loan.state, loan.request, loan.rules
        assert state.balance is not None
        if state.portability is None:
            if workflow.patched(PORTABILITY_ELIGIBILITY):
                # The eligibility rules that apply to a portability, before anything is proposed.
                decided = portability_eligibility(state, request, rules)
                if decided.failures:
                    reason = "ineligible: " + ", ".join(f.rule for f in decided.failures)
                    raise ends(Status.REJECTED, reason, rejection=decided.failures)
                state.eligibility_risks += decided.risks
            # Priced here first: an offer the rules refuse never reaches the provider.
            priced = await loan.call(
                PRICE_PORTABILITY,
                PortabilityPricingInput(
                    request=request,
                    today=workflow.now().astimezone(SAO_PAULO).date(),
                    max_monthly_rate=rules.max_monthly_rate,
                    max_installments=rules.max_installments,
                ),
                local=True,
            )
            if priced.refusal is not None:
                raise ends(Status.REJECTED, f"pricing: {priced.refusal}")
            assistance = state.balance.assistance_type
            proposed = await loan.call(
                CREATE_PROPOSAL,
                ProposalInput(
                    loan_id=loan.loan_id,
                    request=request,
                    assistance_type=str(assistance) if assistance is not None else None,
                    politically_exposed=state.balance.politically_exposed,
                ),
            )
            state.pricing_check = portability_pricing_check(priced, proposed)
            state.portability = PortabilityFacts(
                proposal_key=proposed.proposal_key,
                portability_leg_key=proposed.portability_leg_key,
                refinancing_leg_key=proposed.refinancing_leg_key,
                signing_links=proposed.signing_links,
            )
            state.debt_key = proposed.portability_leg_key
            state.portability.installment = state.installment_value = proposed.portability_installment
            self.loan.drain()
        self.loan.enter(Stage.CTC_ANSWER)

    async def _ctc_answer(self) -> None:
        facts = self._facts()
        await self.loan.wait_on_provider(
            lambda: facts.proposal_status in ANSWERED_BY_CTC, look_up=self._look_up_proposal
        )
        if facts.proposal_status == ProposalStatus.REJECTED:
            raise ends(Status.REJECTED, f"CTC rejected the portability: {facts.ctc_rejection or 'no reason given'}")
        self.loan.enter(Stage.CONSENT)

    async def _consent(self) -> None:
        facts = self._facts()
        # Patched: only a decided consent is an answer. pending_inclusion (being registered at Dataprev,
        # published) and a word the loan does not know (flagged) keep it waiting — they ended it before;
        # the wait asks the provider after a silence; a consent refused cancels a proposal still live.
        as_published = workflow.patched(CONSENT_AS_PUBLISHED)

        def answered() -> bool:
            if facts.proposal_status == ProposalStatus.CANCELED:
                return True
            if as_published:
                return facts.consent_status in CONSENT_DECIDED
            return facts.consent_status not in (None, Consent.AWAITING_CONFIRMATION.value)

        if as_published:
            await self.loan.wait_on_provider(
                lambda: answered() or facts.consent_deadline is not None, look_up=self._look_up_proposal
            )
        else:
            await self.loan.wait(lambda: answered() or facts.consent_deadline is not None)
        if not answered() and facts.consent_deadline is not None:
            deadline = end_of_day(facts.consent_deadline)
            if not await self.loan.wait(answered, until=deadline, summary="consent deadline"):
                facts.consent_status = Consent.EXPIRED.value  # our timer saw the deadline pass first
                raise ends(Status.CANCELED, self._consent_refused(facts), cancel_at_provider=True)
        await self._proposal_ended()
        if facts.consent_status != Consent.CONFIRMED:
            # Not yet known canceled at the provider: cancel it there (cancel_at_provider skips one that is).
            raise ends(Status.CANCELED, self._consent_refused(facts), cancel_at_provider=as_published)
        self.loan.enter(Stage.ORIGIN_BANK)

    async def _origin_bank(self) -> None:
        facts = self._facts()
        await self.loan.wait_on_provider(
            lambda: facts.proposal_status in ORIGIN_ANSWERED or facts.proposal_status == ProposalStatus.CANCELED,
            look_up=self._look_up_proposal,
        )
        await self._proposal_ended()
        if facts.proposal_status == ProposalStatus.RETAINED:
            raise ends(Status.CANCELED, f"retained by the origin bank: {facts.retention or 'no reason given'}")
        self.loan.enter(Stage.AWAITING_SIGNATURE)

    async def _legs_signed(self) -> None:
        facts = self._facts()
        await self.loan.wait(lambda: facts.legs_signed)  # the submit_signature Update signs both legs
        self.loan.enter(Stage.PAYOFF)

    async def _payoff(self) -> None:
        facts = self._facts()
        await self.loan.wait_on_provider(
            lambda: facts.paid or facts.proposal_status == ProposalStatus.CANCELED, look_up=self._look_up_proposal
        )
        await self._proposal_ended()
        self.loan.enter(Stage.AVERBACAO)

    async def _portability_averbacao(self) -> None:
        facts = self._facts()
        await self.loan.wait_on_provider(
            lambda: facts.portability_reserved or facts.margin_exceeded, look_up=self._look_up_legs
        )
        if not facts.portability_reserved:
            await self._margin_exceeded(facts)
            return
        if facts.refinancing_leg_key is None:
            raise ends(Status.COMPLETED, "ported")
        self.loan.enter(Stage.TROCO)

    async def _margin_exceeded(self, facts: PortabilityFacts) -> None:
        """HW for the portability leg: ask Dataprev what the origin bank released (seed 002 §12), and
        lower the installment to what fits — by itself within the rules' limit, else an operator's
        Update decides (seed 002 §13). The provider keeps trying meanwhile (teimosinha)."""
        if facts.released_installment is None and facts.origin_query_failure is None and facts.portability_number:
            if facts.origin_query_key is None:
                assert facts.portability_leg_key is not None
                queried = await self.loan.call(
                    QUERY_ORIGIN_CONTRACT,
                    OriginQueryInput(
                        loan_id=self.loan.loan_id,
                        portability_leg_key=facts.portability_leg_key,
                        portability_number=facts.portability_number,
                    ),
                )
                facts.origin_query_key = queried.origin_query_key
                self.loan.drain()
            await self.loan.wait(
                lambda: (
                    facts.released_installment is not None
                    or facts.origin_query_failure is not None
                    or facts.portability_reserved
                )
            )
        if facts.portability_reserved:
            return
        balance, current = self.loan.state.balance, facts.installment or Decimal(0)
        free = (
            (balance.loans_margin if balance.loans_margin is not None else balance.available_total_balance)
            if (balance is not None)
            else None
        )
        offer = portability_reduction(
            current, facts.released_installment, free, self.loan.rules.max_installment_reduction
        )
        facts.margin_exceeded = False  # decided on this answer; the next HW decides again
        if offer is None and facts.released_installment is not None:
            return  # the origin bank released enough: not its doing; the provider's teimosinha goes on
        facts.reduction_offer = offer.installment if offer else None
        if offer is not None and offer.automatic:
            try:
                await self._reduce_portability(offer.installment, by="the loan's rules")
                return
            except ACTIVITY_FAILURES as error:
                note_unknown(self.loan.state, f"automatic reduction refused: {failure_text(error)[1]}"[:300])
        self.loan.enter(Stage.AWAITING_INSTALLMENT_REDUCTION)

    async def _awaiting_portability_reduction(self) -> None:
        facts, done = self._facts(), self._facts().reductions
        await self.loan.wait(lambda: facts.reductions > done or facts.portability_reserved)
        if facts.portability_reserved:
            self.loan.enter(Stage.AVERBACAO)

    async def _troco(self) -> None:
        facts = self._facts()
        await self.loan.wait_on_provider(
            lambda: facts.troco_disbursed or bool(facts.legs_canceled), look_up=self._look_up_legs
        )
        if not facts.troco_disbursed:
            raise ends(Status.CANCELED, f"ported, but the troco was canceled ({', '.join(facts.legs_canceled)})")
        raise ends(Status.COMPLETED, "ported; troco disbursed")

    async def cancel_at_provider(self, ending: Ending) -> None:
        """An ending that cancels (the operator, our consent deadline) cancels the proposal at the
        provider — unless the provider ended it already, or the origin bank was paid (then there is a
        ported loan to keep, not a proposal to cancel)."""
        loan, state = self.loan, self.loan.state
        if state.portability is None:  # no proposal yet: a debt, if anything
            await cancel_debt(loan, ending)
            return
        facts = state.portability
        if not ending.cancel_at_provider or facts.proposal_status in PROPOSAL_ENDED or facts.paid:
            if ending.cancel_at_provider and facts.paid:
                state.status, state.outcome_reason = Status.COMPLETED, f"{ending.reason}: too late, the loan was ported"
            return
        try:
            async with loan.lock:
                await loan.activity(CANCEL_PROPOSAL, ProposalKeyInput(proposal_key=facts.proposal_key), CLEANUP_TIMEOUT)
        except ACTIVITY_FAILURES as error:
            state.outcome_reason = (
                f"{ending.reason}; the provider did not take the cancellation: {failure_text(error)[1]}"
            )

    async def _look_up_proposal(self, *, collateral: bool = False) -> None:
        """After a silence: the proposal as the provider holds it, applied as the webhooks it implies."""
        lookup = ProposalLookupInput(proposal_key=self._facts().proposal_key, collateral=collateral)
        await self.loan.apply_lookup(LOOK_UP_PROPOSAL, lookup)

    async def _look_up_legs(self) -> None:
        await self._look_up_proposal(collateral=True)
