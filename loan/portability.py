"""A portability (Port+Refin, seed 002 and the provider's public flow): another bank's loan brought
over, and optionally refinanced for a troco, on the same loan workflow — the consultation, the
signature Update, the visibility and the endings are the loan's; the stages after the consultation
are the proposal's:

    proposal → ctc_answer → consent → origin_bank → awaiting_signature → payoff → averbacao → troco

Each wait reads facts the proposal's webhooks set (``loan.facts._portability``), so their order does
not matter: the CTC's answer, the beneficiary's consent (its deadline — registration + 5 days — a
durable timer), the origin bank's acceptance or retention, the payoff, the portability leg's averbação
(Port+Refin's table: every error but HX is teimosinha, retried by the provider) and the troco's
disbursement. A canceled proposal ends the loan wherever it is.
"""

from __future__ import annotations

from temporalio import workflow

from .core import LoanCore, ends

with workflow.unsafe.imports_passed_through():
    from domain.calendar import end_of_day
    from domain.loan import Product
    from provider.portability_enumerators import PortabilityAuthorizationStatus as Consent
    from provider.portability_enumerators import ProposalStatus

    from .activities import LoanActivities
    from .activity_models import ProposalInput
    from .state import PortabilityFacts, Stage, Status

ANSWERED_BY_CTC = frozenset(s.value for s in ProposalStatus) - {
    ProposalStatus.PENDING_SUBMISSION.value,
    ProposalStatus.PENDING_RESPONSE.value,
}
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


class PortabilityStages(LoanCore):
    """The proposal's stages; ``LoanWorkflow`` routes a portability's stages here after the consultation."""

    @property
    def _portability_loan(self) -> bool:
        return self._request.product == Product.PORTABILITY

    def _facts(self) -> PortabilityFacts:
        assert self._state.portability is not None
        return self._state.portability

    def _proposal_ended(self) -> None:
        facts = self._state.portability
        if facts is not None and facts.proposal_status == ProposalStatus.CANCELED:
            raise ends(Status.CANCELED, "the portability proposal was canceled")

    async def _portability_step(self) -> None:
        steps = {
            Stage.SIMULATION: self._propose,  # nothing to simulate: the origin bank's balance decides
            Stage.PROPOSAL: self._propose,
            Stage.CTC_ANSWER: self._ctc_answer,
            Stage.CONSENT: self._consent,
            Stage.ORIGIN_BANK: self._origin_bank,
            Stage.AWAITING_SIGNATURE: self._legs_signed,
            Stage.PAYOFF: self._payoff,
            Stage.AVERBACAO: self._portability_averbacao,
            Stage.TROCO: self._troco,
        }
        self._proposal_ended()
        await steps[self._state.stage]()

    async def _propose(self) -> None:
        state, request, rules = self._state, self._request, self._rules
        rate = request.financial.monthly_interest_rate
        if rate is not None and rate > rules.max_monthly_rate:
            raise ends(Status.REJECTED, f"max_monthly_rate: {rate} is above the cap of {rules.max_monthly_rate}")
        if request.financial.number_of_installments > rules.max_installments:
            raise ends(Status.REJECTED, f"max_installments: more than {rules.max_installments}")
        assert state.balance is not None
        if state.portability is None:
            assistance = state.balance.assistance_type
            proposed = await self._call(
                LoanActivities.create_proposal,
                ProposalInput(
                    loan_id=self._loan_id,
                    request=request,
                    assistance_type=str(assistance) if assistance is not None else None,
                    politically_exposed=state.balance.politically_exposed,
                ),
            )
            state.portability = PortabilityFacts(
                proposal_key=proposed.proposal_key,
                portability_leg_key=proposed.portability_leg_key,
                refinancing_leg_key=proposed.refinancing_leg_key,
                signing_links=proposed.signing_links,
            )
            state.debt_key = proposed.portability_leg_key
            self._drain()
        self._enter(Stage.CTC_ANSWER)

    async def _ctc_answer(self) -> None:
        facts = self._facts()
        await self._wait(lambda: facts.proposal_status in ANSWERED_BY_CTC)
        if facts.proposal_status == ProposalStatus.REJECTED:
            raise ends(Status.REJECTED, f"CTC rejected the portability: {facts.ctc_rejection or 'no reason given'}")
        self._enter(Stage.CONSENT)

    async def _consent(self) -> None:
        facts = self._facts()

        def answered() -> bool:
            return facts.consent_status not in (None, Consent.AWAITING_CONFIRMATION.value) or (
                facts.proposal_status == ProposalStatus.CANCELED
            )

        await self._wait(lambda: answered() or facts.consent_deadline is not None)
        if not answered() and facts.consent_deadline is not None:
            deadline = end_of_day(facts.consent_deadline)
            if not await self._wait(answered, until=deadline):
                raise ends(Status.CANCELED, f"consent_expired: not confirmed in Meu INSS by {facts.consent_deadline}")
        self._proposal_ended()
        if facts.consent_status != Consent.CONFIRMED:
            raise ends(Status.CANCELED, f"consent_{facts.consent_status}: the beneficiary did not authorize it")
        self._enter(Stage.ORIGIN_BANK)

    async def _origin_bank(self) -> None:
        facts = self._facts()
        await self._wait(
            lambda: facts.proposal_status in ORIGIN_ANSWERED or facts.proposal_status == ProposalStatus.CANCELED
        )
        self._proposal_ended()
        if facts.proposal_status == ProposalStatus.RETAINED:
            raise ends(Status.CANCELED, f"retained by the origin bank: {facts.retention or 'no reason given'}")
        self._enter(Stage.AWAITING_SIGNATURE)

    async def _legs_signed(self) -> None:
        facts = self._facts()
        await self._wait(lambda: facts.legs_signed)  # the submit_signature Update signs both legs
        self._enter(Stage.PAYOFF)

    async def _payoff(self) -> None:
        facts = self._facts()
        await self._wait(lambda: facts.paid or facts.proposal_status == ProposalStatus.CANCELED)
        self._proposal_ended()
        self._enter(Stage.AVERBACAO)

    async def _portability_averbacao(self) -> None:
        facts = self._facts()
        await self._wait_on_provider(lambda: facts.portability_reserved)
        if self._facts().refinancing_leg_key is None:
            raise ends(Status.COMPLETED, "ported")
        self._enter(Stage.TROCO)

    async def _troco(self) -> None:
        facts = self._facts()
        await self._wait(lambda: facts.troco_disbursed or bool(facts.legs_canceled))
        if not facts.troco_disbursed:
            raise ends(Status.CANCELED, f"ported, but the troco was canceled ({', '.join(facts.legs_canceled)})")
        raise ends(Status.COMPLETED, "ported; troco disbursed")
