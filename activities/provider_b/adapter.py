"""The second provider's adapter (seed 003) behind the polled-provider port (``workflows.loan.port``): create an
operation, follow it. The provider's vocabulary (``dsc_situacao_emprestimo``, its 400 body, its product
table) stops here; the workflow sees ``OperationFacts``.

Creating at most once. The seed shows no idempotency key and no lookup by our key. A creation whose
answer was lost after the request went out (``OperationOutcomeUnknown``) is retried by Temporal, and
every attempt after the first *looks first* for an operation it may have made (the provider's
operations for the CPF, an assumed endpoint: same benefit, installment count and issue amount,
created since the loan started) and adopts it instead of creating another.

Pricing. The seed has no simulation endpoint: the amounts (``issue_amount`` and the value the
request does not fix, both sent, seed 003 §2) come from our pricing engine at the product's monthly
rate from ``tabela_produto`` (assumed: the provider prices as the engine does). The product table is
read from the store, refreshed by a Temporal Schedule (``catalog``), fetched here only when the store
has none yet.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import as_application_error, personal_values
from activities.provider_b import status as b_status
from activities.provider_b.client import ProviderBClient
from activities.provider_b.errors import OperationOutcomeUnknown, OperationRefused
from activities.provider_b.mapping import OperationMappingError, Simulated, choose_product, operation_request
from activities.provider_b.models import OperationCreated, OperationView, Product, ProductTable
from activities.qitech import mapping
from activities.qitech.errors import ProviderError, ProviderUnavailable
from activities.qitech.render import quote_request_from
from domain.loan import LoanRequest, ProviderId
from domain.pricing.engine import PricingError, QuoteOption, quote
from domain.pricing.product import ProductConfig
from domain.redaction import redact_provider_text
from runtime.store.products import ProductTables
from workflows.loan.activity_models import Simulated as LoanSimulated
from workflows.loan.activity_models import SimulateInput
from workflows.loan.port import (
    BUSINESS_ERROR,
    CREATE_OPERATION,
    FOLLOW_OPERATION,
    REFRESH_PRODUCTS,
    SIMULATE,
    CreateOperationInput,
    FollowInput,
    OperationFacts,
    OperationPhase,
)
from workflows.loan.state import PricingCheck

PROVIDER = ProviderId.PROVIDER_B

PHASES = {
    b_status.OperationPhase.AWAITING_SIGNATURE: OperationPhase.AWAITING_SIGNATURE,
    b_status.OperationPhase.SIGNATURE_VALIDATION: OperationPhase.SIGNATURE_VALIDATION,
    b_status.OperationPhase.AVERBACAO: OperationPhase.AVERBACAO,
    b_status.OperationPhase.DISBURSEMENT: OperationPhase.DISBURSEMENT,
    b_status.OperationPhase.DISBURSED: OperationPhase.DISBURSED,
    b_status.OperationPhase.CANCELED: OperationPhase.CANCELED,
    b_status.OperationPhase.UNKNOWN: OperationPhase.UNKNOWN,
}


def _fields(error: OperationMappingError) -> list[str]:
    return [problem.request_field or problem.field for problem in error.errors]


def refused(reason: str, details: dict[str, object]) -> ApplicationError:
    """A refusal the loan ends on (the field named; never a request value)."""
    return ApplicationError(reason, details, type=BUSINESS_ERROR, non_retryable=True)


def facts(answer: OperationCreated | OperationView, *, notes: list[str] | None = None) -> OperationFacts:
    meaning = answer.meaning()
    found = list(notes or [])
    if not meaning.known:
        found.append(f"{PROVIDER.value} status {meaning.raw!r} is in no table: followed as still in progress")
    return OperationFacts(
        debt_key=answer.debt_key,
        phase=PHASES[meaning.phase],
        provider_status=meaning.raw or None,
        contract_number=answer.num_contrato,
        formalization_link=answer.link_form,
        issue_amount=getattr(answer, "issue_amount", None),
        notes=found,
    )


def quoted(
    request: LoanRequest, product: Product, lender: mapping.LenderTerms, engine: ProductConfig
) -> tuple[QuoteOption, ...]:
    """The loan priced at the product's rate (the request's, when it fixes one), one option per day."""
    rate = request.financial.monthly_interest_rate or product.monthly_interest_rate
    if rate is None:
        raise refused(
            f"product {product.cod_tabela} has no monthly rate to price it",
            {"field": "operation.cod_tabela", "code": None, "description": "no rate"},
        )
    terms = mapping.financial(request, lender).model_copy(update={"monthly_interest_rate": rate})
    try:
        return quote(quote_request_from(terms), engine).options
    except PricingError as error:
        raise refused(f"cannot price the loan: {error}", {"field": "financial", "code": None}) from None


def priced(request: LoanRequest, options: tuple[QuoteOption, ...]) -> Simulated:
    """Both amounts the operation sends, from the option of the requested disbursement date."""
    option = next((o for o in options if o.disbursement_date == request.financial.disbursement_date), options[0])
    return Simulated(
        issue_amount=option.issue_amount,
        disbursed_amount=option.disbursed_issue_amount,
        installment_face_value=option.installment_value,
    )


class ProviderBActivities:
    def __init__(
        self, client: ProviderBClient, tables: ProductTables, lender: mapping.LenderTerms, engine: ProductConfig
    ) -> None:
        self._client = client
        self._tables = tables
        self._lender = lender
        self._engine = engine

    def all(self) -> list[object]:
        return [self.simulate, self.create_operation, self.follow_operation, self.refresh_products]

    async def _product(self, request: LoanRequest) -> Product:
        try:
            return choose_product(await self._table(), request, cod_tabela=request.provider_product)
        except OperationMappingError as error:
            raise refused(f"{PROVIDER.value} cannot take this loan: {error}", {"fields": _fields(error)}) from None
        except ProviderError as error:
            raise as_application_error(error) from None

    @activity.defn(name=f"{PROVIDER.value}.{SIMULATE}")
    async def simulate(self, simulation: SimulateInput) -> LoanSimulated:
        """No simulation endpoint (seed 003): the product's rate, priced by our engine."""
        product = await self._product(simulation.request)
        options = quoted(simulation.request, product, self._lender, self._engine)
        return LoanSimulated(
            options=mapping.local_priced(options, simulation.request.payoff), pricing_check=PricingCheck(matches=True)
        )

    async def _table(self) -> ProductTable:
        cached = await self._tables.load(PROVIDER.value)
        if cached is not None:
            return ProductTable.model_validate_json(cached[0])
        text = await self._client.products_text()
        await self._tables.save(PROVIDER.value, text)
        return ProductTable.model_validate_json(text)

    @activity.defn(name=f"{PROVIDER.value}.{REFRESH_PRODUCTS}")
    async def refresh_products(self) -> int:
        """The product table from the provider into the store (the Schedule runs it)."""
        try:
            text = await self._client.products_text()
        except ProviderError as error:
            raise as_application_error(error) from None
        await self._tables.save(PROVIDER.value, text)
        return len(ProductTable.model_validate_json(text).products)

    @activity.defn(name=f"{PROVIDER.value}.{CREATE_OPERATION}")
    async def create_operation(self, creation: CreateOperationInput) -> OperationFacts:
        request = creation.request
        if creation.benefit is None:
            raise refused("no benefit facts: the consultation must come first", {"field": "benefit"})
        product = await self._product(request)
        amounts = priced(request, quoted(request, product, self._lender, self._engine))
        try:
            payload = operation_request(request, creation.benefit, product, amounts)
        except OperationMappingError as error:
            raise refused(f"{PROVIDER.value} cannot take this loan: {error}", {"fields": _fields(error)}) from None
        if activity.info().attempt > 1:
            found = await self._made_before(creation, payload.operation)
            if found is not None:
                return facts(found, notes=["found the operation an earlier attempt created (its answer was lost)"])
        try:
            return facts(await self._client.create_operation(payload))
        except OperationRefused as error:
            # Named as our payload names it (client.person_name), beside the provider's own words
            # with whatever of the borrower's data they repeat taken out.
            where = error.payload_field or error.field
            words = redact_provider_text(error.description or "refused", personal_values(request))
            said = f"{where}: {words}" if where else words
            raise refused(
                f"{error.code or error.status} {said}",
                {"code": error.code, "field": where, "description": said, "status": error.status},
            ) from None
        except OperationOutcomeUnknown as error:
            # Retried: the next attempt looks for the operation before it creates one.
            raise as_application_error(ProviderUnavailable(str(error), path=error.path)) from None
        except ProviderError as error:
            raise as_application_error(error, personal=personal_values(request)) from None

    async def _made_before(self, creation: CreateOperationInput, operation: object) -> OperationView | None:
        request = creation.request
        issue_amount = getattr(operation, "issue_amount", None)
        since = datetime.combine(creation.not_before, datetime.min.time(), UTC) if creation.not_before else None
        try:
            listed = await self._client.operations_for(request.borrower.cpf)
        except ProviderError as error:
            raise as_application_error(error) from None
        for candidate in listed:
            if (
                candidate.benefit_number == request.benefit.number
                and candidate.number_of_installments == request.financial.number_of_installments
                and (issue_amount is None or candidate.issue_amount == issue_amount)
                and (since is None or candidate.created_at is None or candidate.created_at >= since)
                and not candidate.meaning().final
            ):
                return candidate
        return None

    @activity.defn(name=f"{PROVIDER.value}.{FOLLOW_OPERATION}")
    async def follow_operation(self, follow: FollowInput) -> OperationFacts:
        try:
            return facts(await self._client.operation(follow.debt_key))
        except ProviderError as error:
            raise as_application_error(error) from None
