"""The second provider's adapter (seed 003) behind the polled-provider port (``workflows.loan.port``): create an
operation, follow it. The provider's vocabulary (``dsc_situacao_emprestimo``, its 400 body, its product
table) stops here; the workflow sees ``OperationFacts``.

Creating at most once. The seed shows no idempotency key and no lookup by our key. A creation whose
answer was lost after the request went out (``OperationOutcomeUnknown``) is retried by Temporal, and
every attempt after the first *looks first* for an operation it may have made (the provider's
operations for the CPF, an assumed endpoint: same benefit, installment count and issue amount,
created since the loan started) and adopts it instead of creating another.

Pricing. Seed 003 says the operation's ``issue_amount`` and the amount the request does not fix come
from the provider's simulation (observações 6 and 7): they are taken from its answer (an assumed
endpoint, ``activities.provider_b.client.Paths.SIMULATION``) and sent as it gave them. Our engine
prices the same loan at the product's monthly rate from ``tabela_produto`` with the second
provider's product (``domain.pricing.product.PROVIDER_B_PRODUCT``, the reading of seed 003), and
every figure where the two differ is reported (field, ours, theirs) in the loan's pricing check —
never refused for it: the provider's figures are the contract's. A product rate above the
regulatory cap is refused before anything is sent. The product table is read from the store,
refreshed by a Temporal Schedule (``catalog``), fetched here only when the store has none yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import as_application_error, personal_values
from activities.provider_b import status as b_status
from activities.provider_b.client import ProviderBClient
from activities.provider_b.errors import OperationOutcomeUnknown, OperationRefused
from activities.provider_b.mapping import (
    FieldProblem,
    OperationMappingError,
    Simulated,
    choose_product,
    operation_request,
    simulated,
    simulation_request,
)
from activities.provider_b.models import OperationCreated, OperationView, Product, ProductTable, SimulationAnswer
from activities.qitech import mapping
from activities.qitech.errors import ProviderError, ProviderUnavailable
from activities.qitech.render import quote_request_from
from domain.loan import LoanRequest, ProviderId
from domain.pricing.engine import PricingError, QuoteOption, quote
from domain.pricing.product import ProductConfig
from domain.redaction import redact_provider_text
from domain.regulation import MAX_MONTHLY_RATE
from runtime.store.products import ProductTables
from workflows.loan.activity_models import Simulated as LoanSimulated
from workflows.loan.activity_models import SimulateInput
from workflows.loan.decisions import PRICE_FIELDS, price_check
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
from workflows.loan.state import PricedOption

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


def rate_of(request: LoanRequest, product: Product, engine: ProductConfig) -> Decimal:
    """The monthly rate the loan is priced at: the request's, when it fixes one, else the product's;
    refused above the cap the pricing product enforces (the regulation's), before anything is sent."""
    rate = request.financial.monthly_interest_rate or product.monthly_interest_rate
    if rate is None:
        raise refused(
            f"product {product.cod_tabela} has no monthly rate to price it",
            {"field": "operation.cod_tabela", "code": None, "description": "no rate"},
        )
    cap = engine.inss_rules.max_monthly_rate
    if cap is not None and rate > cap:
        raise refused(
            f"product {product.cod_tabela}: monthly rate {rate * 100:.4f} % is above the cap of {cap * 100} % "
            f"({MAX_MONTHLY_RATE.source}); nothing was sent",
            {"field": "operation.cod_tabela", "code": None, "description": "rate above the cap"},
        )
    return rate


def quoted(
    request: LoanRequest, product: Product, lender: mapping.LenderTerms, engine: ProductConfig
) -> tuple[QuoteOption, ...]:
    """The loan priced by our engine at the product's rate (the request's, when it fixes one), one option per day."""
    terms = mapping.financial(request, lender).model_copy(
        update={"monthly_interest_rate": rate_of(request, product, engine)}
    )
    try:
        return quote(quote_request_from(terms), engine).options
    except PricingError as error:
        raise refused(f"cannot price the loan: {error}", {"field": "financial", "code": None}) from None


CHECKED_FIELDS = (*PRICE_FIELDS, "monthly_rate")
"""Figures of the provider's answer checked against ours (the rate too: the table's is ours)."""


def as_priced(answer: SimulationAnswer, request: LoanRequest) -> PricedOption:
    """The provider's answer in the loan's words, as it gave it (None where it gave nothing)."""
    return PricedOption(
        disbursement_date=answer.disbursement_date or request.financial.disbursement_date,
        first_due_date=answer.first_due_date,
        last_due_date=answer.last_due_date,
        installment_value=answer.installment_face_value,
        issue_amount=answer.issue_amount,
        released_amount=answer.disbursed_amount,
        total_iof=answer.iof_amount,
        monthly_rate=answer.monthly_interest_rate,
        monthly_cet=answer.monthly_cet,
        annual_cet=answer.annual_cet,
    )


def for_the_loan(theirs: PricedOption, ours: PricedOption | None, request: LoanRequest, rate: Decimal) -> PricedOption:
    """The option the loan goes on with: the provider's figures; what it leaves out, from the request
    (the value it fixes, the rate it was priced at) and the dates from our schedule."""
    terms = request.financial
    return theirs.model_copy(
        update={
            "installment_value": theirs.installment_value or terms.installment_value,
            "released_amount": theirs.released_amount or terms.disbursed_amount,
            "monthly_rate": theirs.monthly_rate or rate,
            "first_due_date": theirs.first_due_date or (ours.first_due_date if ours else None),
            "last_due_date": theirs.last_due_date or (ours.last_due_date if ours else None),
        }
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

    async def _ask_price(self, request: LoanRequest, product: Product) -> SimulationAnswer:
        try:
            return await self._client.simulate(simulation_request(request, product))
        except OperationMappingError as error:
            raise refused(f"{PROVIDER.value} cannot take this loan: {error}", {"fields": _fields(error)}) from None
        except OperationRefused as error:
            where = error.payload_field or error.field
            words = redact_provider_text(error.description or "refused", personal_values(request))
            raise refused(
                f"{error.code or error.status} simulation: {where + ': ' if where else ''}{words}",
                {"code": error.code, "field": where, "description": words, "status": error.status},
            ) from None
        except ProviderError as error:
            raise as_application_error(error, personal=personal_values(request)) from None

    @activity.defn(name=f"{PROVIDER.value}.{SIMULATE}")
    async def simulate(self, simulation: SimulateInput) -> LoanSimulated:
        """The provider's price of the loan, and ours against it (field by field, to the cent)."""
        request = simulation.request
        product = await self._product(request)
        rate = rate_of(request, product, self._engine)  # refused above the cap before the provider hears of it
        local = mapping.local_priced(quoted(request, product, self._lender, self._engine))  # no refinancing (seed 003)
        answer = await self._ask_price(request, product)
        figures = simulated(answer)
        if isinstance(figures, FieldProblem):
            raise refused(f"{PROVIDER.value}: {figures}", {"field": figures.field, "code": None})
        theirs = as_priced(answer, request)
        ours = next((o for o in local if o.disbursement_date == theirs.disbursement_date), None)
        return LoanSimulated(
            options=[for_the_loan(theirs, ours, request, rate)],
            pricing_check=price_check([theirs], local, CHECKED_FIELDS),
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
        if creation.benefit is None and creation.in100:
            raise refused("no benefit facts: the consultation must come first", {"field": "benefit"})
        product = await self._product(request)
        rate_of(request, product, self._engine)  # refused above the cap: nothing is sent
        amounts = await self._amounts(creation, product)
        try:
            payload = operation_request(request, creation.benefit, product, amounts, in100=creation.in100)
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

    async def _amounts(self, creation: CreateOperationInput, product: Product) -> Simulated:
        """The amounts the operation is created with: the simulation's the loan chose, else (loans
        simulated before it carried them) the provider's simulation asked again — never our engine's."""
        chosen = creation.priced
        if chosen is not None and chosen.issue_amount is not None:
            return Simulated(
                issue_amount=chosen.issue_amount,
                disbursed_amount=chosen.released_amount,
                installment_face_value=chosen.installment_value,
            )
        figures = simulated(await self._ask_price(creation.request, product))
        if isinstance(figures, FieldProblem):
            raise refused(f"{PROVIDER.value}: {figures}", {"field": figures.field, "code": None})
        return figures

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
