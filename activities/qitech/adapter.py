"""The loan's calls to the provider, as Temporal activities."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import documents
from activities.errors import invalid_document, provider_errors
from activities.housekeeping import pin_current_rules
from activities.qitech import mapping
from activities.qitech.client import ProviderClient
from activities.qitech.enumerators import DebtStatus
from activities.qitech.errors import ALREADY_DONE_CODES, TIMED_OUT, ProviderBusinessError, ProviderError
from activities.qitech.lookup import collateral_event, debt_event, proposal_events
from activities.qitech.models.debt import (
    AttachedDocuments,
    BalanceRequestConfirmation,
    CreditOperationView,
    Recalculate,
    SignatureEvidence,
)
from activities.qitech.models.portability import (
    CreditOperationAnswer,
    InstallmentReduction,
    LegSignature,
    OriginContractQuery,
)
from activities.qitech.models.webhooks import ProviderWebhook, ReceivedWebhook, parse_webhook
from activities.qitech.news import translate
from activities.qitech.participants import TABLE as CTC_PARTICIPANTS_TABLE
from activities.qitech.participants import CtcParticipantsCatalog
from activities.qitech.portability_enumerators import CreditOperationLeg, CreditOperationStatus, ProposalStatus
from activities.qitech.render import quote_request_from
from domain.loan import DocumentRef, Documents
from domain.pricing.engine import PricingError, quote
from domain.pricing.portability import TrocoLeg
from domain.pricing.portability import price_portability as portability_price
from domain.pricing.product import ProductConfig
from domain.regulation import AUTHORIZATION_TERM_VALIDITY_DAYS
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
    OriginQueried,
    OriginQueryInput,
    PortabilityPriced,
    PortabilityPricingInput,
    PortabilityReduced,
    PortabilityReductionInput,
    ProposalInput,
    ProposalKeyInput,
    ProposalLookupInput,
    Proposed,
    ProviderKey,
    ReapresentacaoInput,
    Recalculated,
    RecalculateInput,
    ReleaseInput,
    SignInput,
    SignLegsInput,
    Simulated,
    SimulateInput,
    TermUploaded,
    TermUploadInput,
)
from workflows.loan.decisions import price_check
from workflows.loan.port import BUSINESS_ERROR
from workflows.loan.state import PricingCheck, RefinancedBalance, Signer

SIGNED_OR_LATER = frozenset(
    s.value
    for s in (
        DebtStatus.SIGNATURE_RECEIVED,
        DebtStatus.SIGNATURE_FINISHED,
        DebtStatus.SIGNED,
        DebtStatus.ISSUED,
        DebtStatus.DISBURSED,
        DebtStatus.OPENED,
        DebtStatus.SETTLED,
    )
)
"""A debt in these has its signature (the published state machine: signed, then issued and paid out)."""


DELIVERED = "documents_delivered"
"""The heartbeat an attach_documents attempt records once its request went out in full."""


GATEWAY_TIMEOUT = 504
"""A gateway that stopped waiting for the provider (RFC 9110 §15.6.5): the request reached it, like a timeout."""


def _attachment_digest(attachment: DocumentsInput) -> str:
    """Which attachment a heartbeat speaks of, without what it carries (its URIs may name the borrower)."""
    return hashlib.sha256(attachment.model_dump_json().encode()).hexdigest()[:32]


PROPOSAL_ENDED_AT_PROVIDER = frozenset({ProposalStatus.CANCELED, ProposalStatus.REJECTED, ProposalStatus.RETAINED})
"""A proposal in these has nothing left to cancel (maquinas-de-status; the Consignado Privado twin)."""


LEG_SIGNED = frozenset({CreditOperationStatus.SIGNED, CreditOperationStatus.DISBURSED})
"""A leg's statuses once its CCB is signed (a retry does not sign it again)."""


class KeyClaimer(Protocol):
    """Tells the webhook router that a provider key belongs to a loan (inbox.routes implements it)."""

    async def claim(self, key: str, loan_id: str) -> None: ...

    async def release(self, keys: list[str], loan_id: str) -> None: ...


class LoanActivities:
    """Activities share one provider client (token, connection pool) per worker process."""

    def __init__(
        self,
        provider: ProviderClient,
        claimer: KeyClaimer,
        lender: mapping.LenderTerms,
        product: ProductConfig,
        http: httpx.AsyncClient | None = None,
        participants: CtcParticipantsCatalog | None = None,
    ) -> None:
        self._provider = provider
        self._participants = participants
        self._claimer = claimer
        self._lender = lender
        self._product = product
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.request_benefits,
            self.request_balance,
            self.simulate,
            self.issue_debt,
            self.attach_documents,
            self.sign,
            self.correct_collateral,
            self.recalculate,
            self.confirm_balance_request,
            self.cancel_permanently,
            self.change_disbursement_date,
            self.release_provider_keys,
            self.upload_authorization_term,
            self.look_up_provider_state,
            self.create_proposal,
            self.sign_legs,
            self.cancel_proposal,
            self.look_up_proposal,
            self.price_portability,
            self.query_origin_contract,
            self.reduce_portability_installment,
            self.refresh_ctc_participants,
            pin_current_rules,
        ]

    @activity.defn
    @provider_errors
    async def request_benefits(self, consultation: ConsultationInput) -> ProviderKey:
        created = await self._provider.request_benefits(
            mapping.benefits_request(consultation.request, term_document_key=consultation.term_document_key),
            idempotency_key=f"{consultation.request.request_key}:benefits",
        )
        return await self._routed(created.benefits_request_key, str(created.status), consultation.loan_id)

    @activity.defn
    @provider_errors
    async def request_balance(self, consultation: ConsultationInput) -> ProviderKey:
        # A new balance request during the averbação (attempt 1, 2, ...) relies on the term this loan
        # already sent while it is valid (seed 004 §2 case 1); otherwise the term goes again (case 2).
        term = consultation.request.authorization_term
        still_valid = datetime.now(UTC) < term.signed_at + timedelta(days=AUTHORIZATION_TERM_VALIDITY_DAYS.value)
        created = await self._provider.request_balance(
            mapping.balance_request(
                consultation.request,
                benefit_number=consultation.benefit_number,
                with_term=not (consultation.attempt > 0 and still_valid),
                term_document_key=consultation.term_document_key,
            ),
            idempotency_key=f"{consultation.request.request_key}:balance:{consultation.attempt}",
        )
        return await self._routed(created.balance_request_key, str(created.status), consultation.loan_id)

    async def _routed(self, key: str, status: str, loan_id: str) -> ProviderKey:
        """A consultation the provider created, its key routed to the loan (its webhook finds the loan)."""
        await self._claimer.claim(key, loan_id)
        return ProviderKey(key=key, status=status)

    @activity.defn
    @provider_errors
    async def upload_authorization_term(self, upload: TermUploadInput) -> TermUploaded:
        """The IN100 term's signed PDF: checked (PDF/A, at most 2 MB) and uploaded once."""
        try:
            content = await documents.fetch(upload.term, self._http, field="authorization_term")
            documents.check_pdfa(content, "authorization_term")
        except documents.DocumentUnusable as error:
            raise invalid_document(str(error)) from None
        uploaded = await self._provider.upload_document(
            content,
            filename="authorization_term.pdf",
            content_type="application/pdf",
            idempotency_key=f"{upload.request_key}:term:{documents.digest(content)[:32]}",
        )
        return TermUploaded(document_key=uploaded.document_key)

    @activity.defn
    @provider_errors
    async def simulate(self, simulation: SimulateInput) -> Simulated:
        result = await self._provider.simulate(mapping.simulation_request(simulation.request, self._lender))
        refinancing = bool(simulation.request.refinanced_operations)
        options = mapping.priced(result.data.disbursement_options, refinancing=refinancing)
        # A refinancing's payoff is the provider's (what it disburses less what reaches the borrower):
        # ours is checked on the same payoff, never on a figure the caller sent.
        payoffs = {o.disbursement_date: o.payoff for o in options}
        try:
            local = quote(quote_request_from(mapping.financial(simulation.request, self._lender)), self._product)
            check = price_check(options, mapping.local_priced(local.options, payoffs))
        except PricingError as error:
            check = PricingCheck(matches=False, differences=[f"local engine cannot price this request: {error}"])
        refinanced = [
            RefinancedBalance(operation_key=op.operation_key, payoff_amount=op.payoff_amount)
            for op in result.data.refinanced_credit_operations
            if op.payoff_amount is not None
        ]
        answer = Simulated(options=options, pricing_check=check, refinanced=refinanced)
        return answer.only_for(simulation.request.financial.disbursement_date)

    @activity.defn
    @provider_errors
    async def issue_debt(self, issuance: IssueInput) -> Issued:
        # The requester_identifier_key is the workflow's (a UUID of the request key, or the key itself
        # for loans issued before that): a retried POST /debt returns the same debt.
        answer = await self._provider.issue_debt(
            mapping.issuance_request(
                issuance.request,
                self._lender,
                issuance.assistance_type,
                requester_key=issuance.requester_identifier_key,
                accounts=issuance.disbursement_accounts,
                politically_exposed=issuance.politically_exposed,
                benefit_number=issuance.benefit_number,
            )
        )
        await self._claimer.claim(answer.key, issuance.loan_id)
        data = answer.data
        contract = data.contract
        return Issued(
            debt_key=answer.key,
            contract_number=contract.number if contract else None,
            related_party_key=mapping.signer_related_party_key(data, issuance.request) or "",
            options=mapping.priced(data.disbursement_options, refinancing=bool(issuance.request.refinanced_operations)),
            contract_urls=list(contract.urls) if contract else [],
            signers=[
                Signer(
                    name=s.signer_name,
                    document_number=s.signer_document_number,
                    role=s.signer_role,
                    email=s.signer_email,
                    signature_url=s.signature_url,
                )
                for s in (contract.all_signers if contract else [])
            ],
        )

    async def _upload(self, request_key: str, role: str, ref: DocumentRef) -> str:
        try:
            content = await documents.fetch(ref, self._http, field=role)
            documents.check_jpeg(content, role)
        except documents.DocumentUnusable as error:
            raise invalid_document(str(error)) from None
        # Same document, same key: a retried upload returns the document already stored.
        uploaded = await self._provider.upload_document(
            content,
            filename=f"{role}.jpg",
            content_type="image/jpeg",
            idempotency_key=f"{request_key}:document:{role}:{documents.digest(content)[:32]}",
        )
        return uploaded.document_key

    async def _uploaded(self, request_key: str, docs: Documents | None) -> dict[str, str] | None:
        """The identity documents uploaded (JPEG, checked first), by the provider's field names."""
        if docs is None:
            return None
        return {
            "document_identification": await self._upload(request_key, "identity_front", docs.identity_front),
            "document_identification_back": await self._upload(request_key, "identity_back", docs.identity_back),
            "selfie": await self._upload(request_key, "selfie", docs.selfie),
        }

    @activity.defn
    @provider_errors
    async def attach_documents(self, attachment: DocumentsInput) -> None:
        """The documents attached once. Nothing the provider publishes reads a debt's documents back, and
        it cancels a contract whose documents are duplicated or missing (seed 001 §6), so a retry can
        neither look nor simply send again. What the attempts know stands in for the read: an attempt
        records (a heartbeat, kept by Temporal for the next attempt) that its request went out in full,
        and clears it when the provider answers with a refusal or the connection drops. A retry that
        finds the record — the previous attempt died or timed out waiting for the answer — takes the
        documents as attached (the README's assumptions table)."""
        delivered = {DELIVERED: _attachment_digest(attachment)}
        if delivered in activity.info().heartbeat_details:
            activity.logger.info("the documents went out in full on an earlier attempt: not sent again")
            return
        keys = await self._uploaded(attachment.request_key, attachment.documents)

        async def went_out() -> None:
            activity.heartbeat(delivered)

        try:
            await self._provider.attach_documents(
                attachment.debt_key,
                attachment.related_party_key,
                AttachedDocuments.model_validate(keys),
                on_delivered=went_out,
            )
        except ProviderError as error:
            if error.unanswered != TIMED_OUT and error.status != GATEWAY_TIMEOUT:
                # Answered (a refusal, a 5xx: nothing attached) or the connection dropped: a retry sends
                # again. The SDK flushes this last heartbeat before it reports the failure.
                activity.heartbeat({DELIVERED: None})
            raise

    @activity.defn
    @provider_errors
    async def sign(self, signature: SignInput) -> LookedUp:
        """``POST /debt/{key}/signed``; its answer (``signature_received``, seed 001 §6) is news the loan
        applies as a fact, as it would the webhook that says the same."""
        if activity.info().attempt > 1 and signature.requester_identifier_key:
            # The first attempt may have signed before its answer was lost (a worker that died, a
            # timeout): the provider's state says so, and the signature is not sent twice.
            held = await self._provider.credit_operation(signature.requester_identifier_key)
            if held is not None and held.credit_operation_status_enumerator in SIGNED_OR_LATER:
                activity.logger.info("the debt is already %s: signed", held.credit_operation_status_enumerator)
                return self._answered(signature.debt_key, DebtStatus.SIGNED.value)
        answer = await self._provider.sign(
            signature.debt_key,
            # Who sent it is the loan's record, not the provider's: the evidence only.
            SignatureEvidence.model_validate(signature.submission.model_dump(exclude={"verified_operator"})),
        )
        return self._answered(signature.debt_key, str(answer.status) if answer.status else None)

    @staticmethod
    def _answered(debt_key: str, status: str | None) -> LookedUp:
        """The signature's answer as the ``debt`` webhook it equals (its own identity: the webhook, when
        it comes, is applied too, to the same effect)."""
        if status is None:
            return LookedUp()
        body = {"webhook_type": "debt", "key": debt_key, "status": status, "data": {}}
        received = ReceivedWebhook(
            event_id=f"answer:{debt_key}:signed:{status}", received_at=datetime.now(UTC), webhook=parse_webhook(body)
        )
        return LookedUp(events=[translate(received)])

    @staticmethod
    async def _once(action: str, call: Awaitable[object]) -> None:
        """A change at the provider, made once: on a retry (the first attempt's answer may have been
        lost after the provider applied it), the provider saying the change is already in place is
        success, not a refusal. On a first attempt a refusal is a refusal."""
        try:
            await call
        except ProviderBusinessError as refused:
            if activity.info().attempt > 1 and refused.code in ALREADY_DONE_CODES.get(action, frozenset()):
                activity.logger.info("%s already in place at the provider (a lost answer): done", action)
                return
            raise

    async def _held(self, debt_key: str) -> CreditOperationView | None:
        """The debt as the provider holds it now, read by a retry before it changes anything again (its
        first attempt may have made the change and lost the answer: a worker that died, a timeout).
        None when the provider will not say: the retry then makes the change, as a first attempt would."""
        try:
            return await self._provider.credit_operation_by_key(debt_key)
        except ProviderBusinessError as refused:
            activity.logger.info("the debt could not be read first (%s): the change is made again", refused.code)
            return None

    async def _corrected(self, correction: CorrectionInput) -> bool:
        """Whether the provider already took this correction: the collateral constituted since, the
        corrected benefit number in place, or Dataprev answered after the answer the correction was
        for (the provider waits for a correction before it asks Dataprev again)."""
        try:
            view = await self._provider.get_collateral(correction.debt_key)
        except ProviderBusinessError:
            return False
        data = view.collateral_data
        if view.collateral_constituted:
            return True
        if data is None:
            return False
        benefit = correction.fix.benefit_number
        if benefit and data.benefit_number is not None and str(data.benefit_number) == str(benefit):
            return True
        answered, waited_on = data.last_response_event_datetime, correction.answered_at
        return (
            isinstance(answered, datetime)
            and waited_on is not None
            and answered.tzinfo is not None
            and waited_on.tzinfo is not None
            and answered > waited_on
        )

    @activity.defn
    @provider_errors
    async def correct_collateral(self, correction: CorrectionInput) -> None:
        if activity.info().attempt > 1 and await self._corrected(correction):
            activity.logger.info("the correction is already at the provider: not sent again")
            return
        await self._once(
            "correct_collateral",
            self._provider.correct_collateral(
                correction.debt_key, mapping.collateral_correction(correction.fix, correction.account_holder_cpf)
            ),
        )

    @activity.defn
    @provider_errors
    async def recalculate(self, recalculation: RecalculateInput) -> Recalculated:
        if activity.info().attempt > 1:
            # A schedule already at (or below) the value was recalculated by the attempt whose answer
            # was lost; asking again would be refused (no reduction pending any more).
            held = await self._held(recalculation.debt_key)
            option = held.current_option() if held is not None else None
            value = option.installment_value if option is not None else None
            if option is not None and value is not None and value <= recalculation.installment_value:
                activity.logger.info("the installment is already %s: recalculated", value)
                return Recalculated(options=mapping.priced([option]))
        answer = await self._provider.recalculate(
            recalculation.debt_key, Recalculate(installment_face_value=recalculation.installment_value)
        )
        return Recalculated(options=mapping.priced(answer.data.disbursement_options))

    @activity.defn
    @provider_errors
    async def confirm_balance_request(self, confirmation: ConfirmBalanceInput) -> None:
        await self._once(
            "confirm_balance_request",
            self._provider.confirm_balance_request(
                confirmation.debt_key, BalanceRequestConfirmation(balance_request_key=confirmation.balance_request_key)
            ),
        )

    @activity.defn
    @provider_errors
    async def cancel_permanently(self, debt: DebtKeyInput) -> None:
        if activity.info().attempt > 1:
            held = await self._held(debt.debt_key)
            if held is not None and held.credit_operation_status_enumerator == DebtStatus.CANCELED_PERMANENTLY:
                activity.logger.info("the debt is already canceled permanently: not asked again")
                return
        await self._once("cancel_permanently", self._provider.cancel_permanently(debt.debt_key))

    @activity.defn
    @provider_errors
    async def change_disbursement_date(self, reapresentacao: ReapresentacaoInput) -> None:
        if activity.info().attempt > 1:
            held = await self._held(reapresentacao.debt_key)
            status = held.credit_operation_status_enumerator if held is not None else None
            if status is not None and status != DebtStatus.CANCELED:
                # A refused payment leaves the debt canceled until it is presented again: it was.
                activity.logger.info("the debt is %s: presented again already", status)
                return
        await self._once(
            "change_disbursement_date",
            self._provider.change_disbursement_date(
                reapresentacao.debt_key,
                mapping.change_disbursement_date(
                    reapresentacao.disbursement_date,
                    reapresentacao.account,
                    holder_name=reapresentacao.account_holder_name,
                    holder_cpf=reapresentacao.account_holder_cpf,
                ),
            ),
        )

    @activity.defn
    async def release_provider_keys(self, release: ReleaseInput) -> None:
        await self._claimer.release(release.keys, release.loan_id)

    @activity.defn
    @provider_errors
    async def look_up_provider_state(self, lookup: LookupInput) -> LookedUp:
        """Reconciliation: the provider's own state of this loan's debt, as the events it implies."""
        found: list[tuple[str, ProviderWebhook]] = []
        not_found: list[str] = []
        if lookup.requester_identifier_key:
            operation = await self._provider.credit_operation(lookup.requester_identifier_key)
            if operation is None:
                not_found.append("debt")  # our requester key created nothing the provider knows of
            elif event := debt_event(lookup.debt_key, operation):
                found.append(event)
        if lookup.collateral:
            try:
                collateral = await self._provider.get_collateral(lookup.debt_key)
            except ProviderBusinessError as refused:
                if refused.status != 404:
                    raise
                not_found.append("debt")
            else:
                if event := collateral_event(lookup.debt_key, collateral):
                    found.append(event)
        now = datetime.now(UTC)
        return LookedUp(
            events=[
                translate(ReceivedWebhook(event_id=identity, received_at=now, webhook=webhook))
                for identity, webhook in found
            ],
            not_found=sorted(set(not_found)),
        )

    @activity.defn
    @provider_errors
    async def create_proposal(self, proposal: ProposalInput) -> Proposed:
        """A portability proposal (and its troco), created once (an idempotency key the sandbox
        honours; the provider publishes no requester key for proposals); its keys routed to the loan
        before the workflow sees them, as every provider key is."""
        request = proposal.request
        await self._origin_is_a_participant(request.portability.origin_bank_ispb if request.portability else None)
        answer = await self._provider.create_proposal(
            mapping.proposal_request(
                request,
                self._lender,
                proposal.assistance_type,
                politically_exposed=proposal.politically_exposed,
                documents=await self._uploaded(request.request_key, request.documents),
            ),
            idempotency_key=f"{request.request_key}:proposal",
        )
        legs = {
            leg.value: answer.leg(leg)
            for leg in (CreditOperationLeg.PORTABILITY, CreditOperationLeg.REFINANCING)
            if answer.leg(leg) is not None
        }
        proposed = Proposed(
            proposal_key=answer.proposal_key,
            portability_leg_key=answer.portability_credit_operation.credit_operation_key
            if answer.portability_credit_operation
            else None,
            refinancing_leg_key=answer.refinancing_credit_operation.credit_operation_key
            if answer.refinancing_credit_operation
            else None,
            signing_links={name: leg.document_url for name, leg in legs.items() if leg and leg.document_url},
            portability_installment=leg_installment(answer.portability_credit_operation),
            troco=answer.refinancing_credit_operation.final_disbursement_amount
            if answer.refinancing_credit_operation
            else None,
        )
        for key in (proposed.proposal_key, proposed.portability_leg_key, proposed.refinancing_leg_key):
            if key:
                await self._claimer.claim(key, proposal.loan_id)
        return proposed

    async def _origin_is_a_participant(self, ispb: str | None) -> None:
        if self._participants is None or ispb is None:
            return
        if await self._participants.participant(ispb) is None:
            raise ApplicationError(
                f"origin_bank_ispb {ispb} is not a CTC participant (seed 002 §9): no contract can be brought from it",
                {"field": "portability.origin_bank_ispb"},
                type=BUSINESS_ERROR,
                non_retryable=True,
            )

    @activity.defn(name=CTC_PARTICIPANTS_TABLE)
    @provider_errors
    async def refresh_ctc_participants(self) -> int:
        """The CTC participants from the provider into the store (their Schedule runs it)."""
        if self._participants is None:
            raise ApplicationError("this worker keeps no CTC participants catalog", non_retryable=True)
        return len((await self._participants.refresh()).root)

    @activity.defn
    @provider_errors
    async def sign_legs(self, signing: SignLegsInput) -> None:
        """The borrower's signature of each leg's CCB (the same evidence for both). On a retry the
        proposal is read first: a leg the first attempt signed with this very CCB before its answer was
        lost (a worker killed between the legs, or before its completion reached the server) is not
        signed again — the provider would refuse it as no longer waiting for a signature."""
        evidence = signing.submission
        signed: set[str] = set()
        if activity.info().attempt > 1:
            held = await self._provider.proposal(signing.proposal_key)
            for leg, link in signing.signing_links.items():
                answer = held.leg(CreditOperationLeg(leg))
                if answer is not None and answer.signed_url == link and answer.credit_operation_status in LEG_SIGNED:
                    activity.logger.info("the %s is already %s: signed", leg, answer.credit_operation_status)
                    signed.add(leg)
        for leg, link in signing.signing_links.items():
            if leg in signed:
                continue
            await self._provider.sign_leg(
                signing.proposal_key,
                CreditOperationLeg(leg),
                LegSignature(
                    signed_pdf_path=link,
                    ip_address=evidence.ip_address,
                    signature_datetime=evidence.signature_datetime,
                    similarity_score=evidence.similarity_score,
                    biometry_analysis_reference=evidence.biometry_analysis_reference,
                ),
            )

    @activity.defn
    @provider_errors
    async def cancel_proposal(self, proposal: ProposalKeyInput) -> None:
        """The proposal (and its legs) canceled at the provider, once. A refusal is checked against the
        proposal as the provider holds it: one it already ended (canceled, rejected, retained — the
        consent refused, a lost answer) has nothing left to cancel, which is success; a live one is a
        refusal, naming the status it is in (e.g. the origin bank being paid off)."""
        try:
            await self._once("cancel_proposal", self._provider.cancel_proposal(proposal.proposal_key))
        except ProviderBusinessError as refused:
            status = (await self._provider.proposal(proposal.proposal_key)).proposal_status
            if status in PROPOSAL_ENDED_AT_PROVIDER:
                activity.logger.info("cancel_proposal: the proposal is already %s at the provider: done", status)
                return
            where = f"the proposal is {status or 'of no status'} at the provider"
            raise ProviderBusinessError(
                f"{refused}; {where}",
                status=refused.status,
                code=refused.code,
                description=f"{refused.description or refused}; {where}",
                path=refused.path,
            ) from refused

    @activity.defn
    @provider_errors
    async def query_origin_contract(self, query: OriginQueryInput) -> OriginQueried:
        """Ask Dataprev what the origin bank released (seed 002 §12), once per attempt of the loan's;
        the answer comes by webhook to the query's key, routed to the loan before it is returned."""
        created = await self._provider.query_origin_contract(
            query.portability_leg_key,
            OriginContractQuery(portability_number=query.portability_number),
            idempotency_key=f"{query.portability_leg_key}:origin:{query.attempt}",
        )
        await self._claimer.claim(created.origin_contract_request_key, query.loan_id)
        return OriginQueried(origin_query_key=created.origin_contract_request_key)

    @activity.defn
    @provider_errors
    async def reduce_portability_installment(self, reduction: PortabilityReductionInput) -> PortabilityReduced:
        """The portability leg's installment lowered (seed 002 §13). On a retry the proposal is read
        first: a leg already at (or below) the value was reduced by the attempt whose answer was lost."""
        if activity.info().attempt > 1:
            current = await self._provider.proposal(reduction.proposal_key)
            leg = current.portability_credit_operation
            installment = leg_installment(leg)
            if leg is not None and installment is not None and installment <= reduction.installment_value:
                return PortabilityReduced(installment_value=installment, document_url=leg.document_url)
        answer = await self._provider.reduce_portability_installment(
            reduction.proposal_key, InstallmentReduction(installment_face_value=reduction.installment_value)
        )
        return PortabilityReduced(
            installment_value=leg_installment(answer) or reduction.installment_value, document_url=answer.document_url
        )

    @activity.defn
    async def price_portability(self, pricing: PortabilityPricingInput) -> PortabilityPriced:
        """The portability leg's installment and the troco, priced here to the cent (pricing.portability);
        an offer above the rate cap or the installment maximum is refused, naming the field."""
        request = pricing.request
        port, terms = request.portability, request.financial
        assert port is not None and terms.monthly_interest_rate is not None
        troco = port.troco
        try:
            price = portability_price(
                ported_balance=port.last_due_balance,
                monthly_interest_rate=terms.monthly_interest_rate,
                number_of_installments=terms.number_of_installments,
                first_due_date=terms.first_due_date,
                disbursement_date=pricing.today,
                limit_days_to_disburse=terms.limit_days_to_disburse,
                troco=TrocoLeg(troco.installment_value, troco.monthly_interest_rate) if troco else None,
                max_monthly_rate=pricing.max_monthly_rate,
                max_installments=pricing.max_installments,
                product=self._product,
            )
        except PricingError as error:
            return PortabilityPriced(refusal=str(error))
        return PortabilityPriced(installment=price.installment, troco=price.troco)

    @activity.defn
    @provider_errors
    async def look_up_proposal(self, lookup: ProposalLookupInput) -> LookedUp:
        """Reconciliation for a portability: the proposal read back and each leg's last Dataprev
        answer (seed 002 §10), as the events they imply (applied once each, by identity)."""
        try:
            answer = await self._provider.proposal(lookup.proposal_key)
        except ProviderBusinessError as refused:
            if refused.status != 404:
                raise
            return LookedUp(not_found=["proposal"])
        collaterals = {}
        if lookup.collateral:
            for leg in CreditOperationLeg:
                if answer.leg(leg) is not None:
                    collaterals[leg] = await self._provider.leg_collateral(lookup.proposal_key, leg)
        now = datetime.now(UTC)
        found = proposal_events(answer, collaterals)
        return LookedUp(
            events=[
                translate(ReceivedWebhook(event_id=identity, received_at=now, webhook=webhook))
                for identity, webhook in found
            ]
        )


def leg_installment(leg: CreditOperationAnswer | None) -> Decimal | None:
    """A leg's installment as the provider priced it: its first option's first installment."""
    if leg is None or not leg.disbursement_options or not leg.disbursement_options[0].installments:
        return None
    return leg.disbursement_options[0].installments[0].total_amount
