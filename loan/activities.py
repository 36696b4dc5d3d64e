"""The loan's calls to the provider, as Temporal activities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import httpx
from temporalio import activity

from domain.loan import DocumentRef
from pricing.engine import PricingError, quote
from pricing.product import ProductConfig
from pricing.render import quote_request_from
from provider.client import ProviderClient
from provider.models.debt import AttachedDocuments, BalanceRequestConfirmation, Recalculate, SignatureEvidence

from . import documents, mapping
from .activity_models import (
    ConfirmBalanceInput,
    ConsultationInput,
    CorrectionInput,
    DebtKeyInput,
    DocumentsInput,
    Issued,
    IssueInput,
    ProviderKey,
    ReapresentacaoInput,
    Recalculated,
    RecalculateInput,
    ReleaseInput,
    SignInput,
    Simulated,
    SimulateInput,
)
from .errors import invalid_document, provider_errors
from .rules import LoanPolicy, LoanRules, current_rules
from .state import PricingCheck


class KeyClaimer(Protocol):
    """Tells the webhook router that a provider key belongs to a loan (mailbox.claims implements it)."""

    async def claim(self, key: str, loan_id: str) -> None: ...

    async def release(self, keys: list[str], loan_id: str) -> None: ...


@activity.defn
async def pin_current_rules(policy: LoanPolicy) -> LoanRules:
    """The worker's current rule set, for a loan whose caller sent none (recorded in its history)."""
    return current_rules(policy)


class LoanActivities:
    """Activities share one provider client (token, connection pool) per worker process."""

    def __init__(
        self,
        provider: ProviderClient,
        claimer: KeyClaimer,
        lender: mapping.LenderTerms,
        product: ProductConfig,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._provider = provider
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
            pin_current_rules,
        ]

    @activity.defn
    @provider_errors
    async def request_benefits(self, consultation: ConsultationInput) -> ProviderKey:
        created = await self._provider.request_benefits(
            mapping.benefits_request(consultation.request),
            idempotency_key=f"{consultation.request.request_key}:benefits",
        )
        await self._claimer.claim(created.benefits_request_key, consultation.loan_id)
        return ProviderKey(key=created.benefits_request_key, status=str(created.status))

    @activity.defn
    @provider_errors
    async def request_balance(self, consultation: ConsultationInput) -> ProviderKey:
        created = await self._provider.request_balance(
            mapping.balance_request(consultation.request),
            idempotency_key=f"{consultation.request.request_key}:balance:{consultation.attempt}",
        )
        await self._claimer.claim(created.balance_request_key, consultation.loan_id)
        return ProviderKey(key=created.balance_request_key, status=str(created.status))

    @activity.defn
    @provider_errors
    async def simulate(self, simulation: SimulateInput) -> Simulated:
        result = await self._provider.simulate(mapping.simulation_request(simulation.request, self._lender))
        options = mapping.priced(result.data.disbursement_options)
        try:
            local = quote(quote_request_from(mapping.financial(simulation.request, self._lender)), self._product)
            differences = mapping.compare(options, mapping.local_priced(local.options))
        except PricingError as error:
            differences = [f"local engine cannot price this request: {error}"]
        return Simulated(options=options, pricing_check=PricingCheck(matches=not differences, differences=differences))

    @activity.defn
    @provider_errors
    async def issue_debt(self, issuance: IssueInput) -> Issued:
        # requester_identifier_key = the loan's request key: a retried POST /debt returns the same debt.
        answer = await self._provider.issue_debt(
            mapping.issuance_request(issuance.request, self._lender, issuance.assistance_type)
        )
        await self._claimer.claim(answer.key, issuance.loan_id)
        borrower = answer.data.borrower
        return Issued(
            debt_key=answer.key,
            contract_number=answer.data.contract.number if answer.data.contract else None,
            related_party_key=(borrower.related_party_key if borrower else None) or "",
            options=mapping.priced(answer.data.disbursement_options),
        )

    async def _upload(self, request_key: str, role: str, ref: DocumentRef) -> str:
        try:
            content = await documents.fetch(ref, self._http)
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

    @activity.defn
    @provider_errors
    async def attach_documents(self, attachment: DocumentsInput) -> None:
        docs = attachment.documents
        keys = {
            role: await self._upload(attachment.request_key, role, ref)
            for role, ref in (
                ("identity_front", docs.identity_front),
                ("identity_back", docs.identity_back),
                ("selfie", docs.selfie),
            )
        }
        await self._provider.attach_documents(
            attachment.debt_key,
            attachment.related_party_key,
            AttachedDocuments.model_validate(
                {
                    "document_identification": keys["identity_front"],
                    "document_identification_back": keys["identity_back"],
                    "selfie": keys["selfie"],
                }
            ),
        )

    @activity.defn
    @provider_errors
    async def sign(self, signature: SignInput) -> None:
        await self._provider.sign(
            signature.debt_key, SignatureEvidence.model_validate(signature.submission.model_dump())
        )

    @activity.defn
    @provider_errors
    async def correct_collateral(self, correction: CorrectionInput) -> None:
        await self._provider.correct_collateral(
            correction.debt_key, mapping.collateral_correction(correction.fix, correction.account_holder_cpf)
        )

    @activity.defn
    @provider_errors
    async def recalculate(self, recalculation: RecalculateInput) -> Recalculated:
        answer = await self._provider.recalculate(
            recalculation.debt_key, Recalculate(installment_face_value=recalculation.installment_value)
        )
        return Recalculated(options=mapping.priced(answer.data.disbursement_options))

    @activity.defn
    @provider_errors
    async def confirm_balance_request(self, confirmation: ConfirmBalanceInput) -> None:
        await self._provider.confirm_balance_request(
            confirmation.debt_key, BalanceRequestConfirmation(balance_request_key=confirmation.balance_request_key)
        )

    @activity.defn
    @provider_errors
    async def cancel_permanently(self, debt: DebtKeyInput) -> None:
        await self._provider.cancel_permanently(debt.debt_key)

    @activity.defn
    @provider_errors
    async def change_disbursement_date(self, reapresentacao: ReapresentacaoInput) -> None:
        await self._provider.change_disbursement_date(
            reapresentacao.debt_key,
            mapping.change_disbursement_date(
                reapresentacao.disbursement_date,
                reapresentacao.account,
                holder_name=reapresentacao.account_holder_name,
                holder_cpf=reapresentacao.account_holder_cpf,
            ),
        )

    @activity.defn
    async def release_provider_keys(self, release: ReleaseInput) -> None:
        await self._claimer.release(release.keys, release.loan_id)
