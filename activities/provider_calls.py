"""The loan's calls to the provider, as Temporal activities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from temporalio import activity

from domain.loan import DocumentRef
from pricing.engine import PricingError, quote
from pricing.product import ProductConfig
from pricing.render import quote_request_from
from provider.client import ProviderClient
from provider.models.debt import AttachedDocuments, BalanceRequestConfirmation, Recalculate, SignatureEvidence
from workflows.state import PricingCheck

from . import documents, mapping
from .claims import KeyClaimer
from .errors import invalid_document, provider_errors
from .models import (
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
        ]

    @activity.defn
    @provider_errors
    async def request_benefits(self, payload: ConsultationInput) -> ProviderKey:
        created = await self._provider.request_benefits(
            mapping.benefits_request(payload.request),
            idempotency_key=f"{payload.request.request_key}:benefits",
        )
        await self._claimer.claim(created.benefits_request_key, payload.loan_id)
        return ProviderKey(key=created.benefits_request_key, status=str(created.status))

    @activity.defn
    @provider_errors
    async def request_balance(self, payload: ConsultationInput) -> ProviderKey:
        created = await self._provider.request_balance(
            mapping.balance_request(payload.request),
            idempotency_key=f"{payload.request.request_key}:balance:{payload.attempt}",
        )
        await self._claimer.claim(created.balance_request_key, payload.loan_id)
        return ProviderKey(key=created.balance_request_key, status=str(created.status))

    @activity.defn
    @provider_errors
    async def simulate(self, payload: SimulateInput) -> Simulated:
        result = await self._provider.simulate(mapping.simulation_request(payload.request, self._lender))
        options = mapping.priced(result.data.disbursement_options)
        try:
            local = quote(quote_request_from(mapping.financial(payload.request, self._lender)), self._product)
            differences = mapping.compare(options, mapping.local_priced(local.options))
        except PricingError as error:
            differences = [f"local engine cannot price this request: {error}"]
        return Simulated(options=options, pricing_check=PricingCheck(matches=not differences, differences=differences))

    @activity.defn
    @provider_errors
    async def issue_debt(self, payload: IssueInput) -> Issued:
        # requester_identifier_key = the loan's request key: a retried POST /debt returns the same debt.
        answer = await self._provider.issue_debt(
            mapping.issuance_request(payload.request, self._lender, payload.assistance_type)
        )
        await self._claimer.claim(answer.key, payload.loan_id)
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
    async def attach_documents(self, payload: DocumentsInput) -> None:
        docs = payload.documents
        keys = {
            role: await self._upload(payload.request_key, role, ref)
            for role, ref in (
                ("identity_front", docs.identity_front),
                ("identity_back", docs.identity_back),
                ("selfie", docs.selfie),
            )
        }
        await self._provider.attach_documents(
            payload.debt_key,
            payload.related_party_key,
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
    async def sign(self, payload: SignInput) -> None:
        await self._provider.sign(payload.debt_key, SignatureEvidence.model_validate(payload.submission.model_dump()))

    @activity.defn
    @provider_errors
    async def correct_collateral(self, payload: CorrectionInput) -> None:
        await self._provider.correct_collateral(
            payload.debt_key, mapping.collateral_correction(payload.fix, payload.account_holder_cpf)
        )

    @activity.defn
    @provider_errors
    async def recalculate(self, payload: RecalculateInput) -> Recalculated:
        answer = await self._provider.recalculate(
            payload.debt_key, Recalculate(installment_face_value=payload.installment_value)
        )
        return Recalculated(options=mapping.priced(answer.data.disbursement_options))

    @activity.defn
    @provider_errors
    async def confirm_balance_request(self, payload: ConfirmBalanceInput) -> None:
        await self._provider.confirm_balance_request(
            payload.debt_key, BalanceRequestConfirmation(balance_request_key=payload.balance_request_key)
        )

    @activity.defn
    @provider_errors
    async def cancel_permanently(self, payload: DebtKeyInput) -> None:
        await self._provider.cancel_permanently(payload.debt_key)

    @activity.defn
    @provider_errors
    async def change_disbursement_date(self, payload: ReapresentacaoInput) -> None:
        await self._provider.change_disbursement_date(
            payload.debt_key,
            mapping.change_disbursement_date(
                payload.disbursement_date,
                payload.account,
                holder_name=payload.account_holder_name,
                holder_cpf=payload.account_holder_cpf,
            ),
        )

    @activity.defn
    async def release_provider_keys(self, payload: ReleaseInput) -> None:
        await self._claimer.release(payload.keys, payload.loan_id)
