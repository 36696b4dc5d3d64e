"""A loan as the second provider's ``POST /inss/v1/operation`` (seed 003), field for field. Pure.

Where each field comes from:

==================================  =====================================================================
``client.document_number`` …        ``request.borrower``: cpf, name, mother_name, birth_date, email,
                                    marital_status, nationality, phone (country/area/number), address
``client.profession``               "" (the loan has no profession; the seed sends it empty)
``client.bank_account``             the request's one disbursement account; without one, the account the
                                    benefit is paid into (``BenefitFacts.paying_account``, from the balance
                                    answer's ``disbursement_bank_account``, as seed 003 §1 says)
``operation.IN100``                 True when the lender consulted the benefit with the borrower's signed
                                    term; False for a lender without a consulting provider ("Sem IN100")
``operation.credit_type``           ``checking_account`` unless the caller says otherwise
``operation.assistance_type``       ``BenefitFacts.assistance_type``: the enumerator's description
                                    (observação 2), e.g. ``retirement_by_age``; without a consultation,
                                    ``request.benefit.assistance_type``
``operation.simulation_type``       ``installment_face_value`` when the request fixes the installment,
                                    ``disbursed_amount`` when it fixes the amount; both values are sent,
                                    the other one from the simulation (§2 observação)
``operation.cod_tabela``            the chosen row of ``tabela_produto`` (:func:`choose_product`)
``operation.issue_amount``          the simulation's (observação 7)
``operation.benefit_*``             ``request.benefit`` (number as a JSON number, as the seed prints it)
dates, installments, window         ``request.financial``
==================================  =====================================================================

ASSUMPTIONS (seed 003 is silent):

* a field the loan does not know is sent empty, as the seed sends ``profession`` and ``complement``
  (``email``, ``marital_status``); ``nationality`` defaults to "Brasileiro" like the first
  provider's borrower;
* the benefit's paying account is a ``checking_account`` and its Pix goes ``manual`` (the only
  ``pix_transfer_type`` the seed prints); its ISPB comes from ``activities.provider_b.banks``;
* the seed describes a new credit for the beneficiary himself and one account: refinancing, a
  minimum-wage increase, a legal representative, rebates, split accounts and TED are refused
  here, naming the field (:data:`CAPABILITIES` says so up front, for routing);
* several products allowing the loan's installments: the lowest monthly rate wins (the lender's
  routing may name a ``cod_tabela`` instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, ValidationError

from activities.provider_b.banks import ispb_for
from activities.provider_b.models import (
    ALLOWED_INSTALLMENTS,
    AccountType,
    BankAccount,
    Client,
    Operation,
    OperationRequest,
    PixTransferType,
    ProductTable,
    SimulationAnswer,
    SimulationRequest,
    SimulationType,
)
from activities.provider_b.models import Product as TableProduct
from domain.benefit import BenefitFacts
from domain.fields import PositiveMoney
from domain.inss import CreditType
from domain.loan import DisbursementAccount, LoanRequest, Product

DEFAULT_NATIONALITY = "Brasileiro"


@dataclass(frozen=True)
class Capabilities:
    """What the second provider can do for a loan (seed 003), for choosing a provider per loan."""

    products: frozenset[Product] = frozenset({Product.NEW_CREDIT})
    installments: tuple[int, ...] = ALLOWED_INSTALLMENTS
    legal_representative: bool = False
    rebates: bool = False
    split_accounts: bool = False
    ted: bool = False
    webhooks: bool = False  # the seed publishes none: operations are followed by polling
    formalization_link: bool = True  # link_form: the borrower signs at the provider's page


CAPABILITIES = Capabilities()


@dataclass(frozen=True)
class FieldProblem:
    field: str
    """The payload's field (``operation.number_of_installments``)."""
    message: str
    request_field: str | None = None
    """The loan request's field it comes from (``financial.number_of_installments``), if one."""

    def __str__(self) -> str:
        where = f" (request: {self.request_field})" if self.request_field else ""
        return f"{self.field}{where}: {self.message}"


class OperationMappingError(ValueError):
    """The loan cannot become a seed-003 operation; ``errors`` names each field and why."""

    def __init__(self, errors: Iterable[FieldProblem]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class Simulated(BaseModel):
    """The simulation's figures for this loan (observações 6 and 7)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issue_amount: PositiveMoney
    disbursed_amount: PositiveMoney | None = None
    installment_face_value: PositiveMoney | None = None


REQUEST_FIELDS = {
    "client.document_number": "borrower.cpf",
    "client.person_name": "borrower.name",
    "client.mother_name": "borrower.mother_name",
    "client.birth_date": "borrower.birth_date",
    "client.nationality": "borrower.nationality",
    "client.marital_status": "borrower.marital_status",
    "client.email": "borrower.email",
    "client.country_code": "borrower.phone.country_code",
    "client.area_code": "borrower.phone.area_code",
    "client.phone_number": "borrower.phone.number",
    **{
        f"client.{f}": f"borrower.address.{f}"
        for f in ("street", "state", "city", "neighborhood", "number", "postal_code", "complement")
    },
    "client.bank_account": "disbursement_accounts",
    "operation.benefit_state": "benefit.state",
    "operation.benefit_number": "benefit.number",
    "operation.number_of_installments": "financial.number_of_installments",
    "operation.first_due_date": "financial.first_due_date",
    "operation.disbursement_date": "financial.disbursement_date",
    "operation.limit_days_to_disburse": "financial.limit_days_to_disburse",
    "operation.installment_face_value": "financial.installment_value",
    "operation.disbursed_amount": "financial.disbursed_amount",
}
"""Payload field → the loan request's field it is made from (errors name both)."""


def _problem(field: str, message: str) -> FieldProblem:
    request_field = REQUEST_FIELDS.get(field)
    if request_field is None and field.startswith("client.bank_account."):
        request_field = "disbursement_accounts[0]." + field.removeprefix("client.bank_account.")
    return FieldProblem(field=field, message=message, request_field=request_field)


def unsupported(request: LoanRequest, capabilities: Capabilities = CAPABILITIES) -> list[FieldProblem]:
    """What in this loan the second provider cannot take (empty: it can). Pure; for routing too."""
    problems: list[FieldProblem] = []
    if request.product not in capabilities.products:
        problems.append(
            FieldProblem("operation", f"{request.product.value} is not offered (seed 003: new credit only)", "product")
        )
    if request.legal_representative is not None and not capabilities.legal_representative:
        problems.append(
            FieldProblem("client", "the operation has no legal representative (seed 003)", "legal_representative")
        )
    if request.rebates and not capabilities.rebates:
        problems.append(FieldProblem("operation", "the operation carries no rebates (seed 003)", "rebates"))
    if len(request.disbursement_accounts) > 1 and not capabilities.split_accounts:
        problems.append(
            _problem("client.bank_account", "one account only: the operation cannot split the disbursement")
        )
    for index, account in enumerate(request.disbursement_accounts[:1]):
        if account.transfer_method != "pix" and not capabilities.ted:
            problems.append(
                FieldProblem(
                    "client.bank_account.pix_transfer_type",
                    f"transfer_method {account.transfer_method!r}: the operation pays by Pix only",
                    f"disbursement_accounts[{index}].transfer_method",
                )
            )
    count = request.financial.number_of_installments
    if count not in capabilities.installments:
        allowed = " or ".join(str(n) for n in capabilities.installments)
        problems.append(
            _problem(
                "operation.number_of_installments",
                f"{count} installments: the second provider takes {allowed} (seed 003 observação 5)",
            )
        )
    return problems


def choose_product(table: ProductTable, request: LoanRequest, *, cod_tabela: str | None = None) -> TableProduct:
    """The ``tabela_produto`` row for this loan: the one named, else the cheapest that allows its
    number of installments (and its rate, when the request fixes one)."""
    if cod_tabela is not None:
        chosen = table.get(cod_tabela)
        if chosen is None:
            raise OperationMappingError([_problem("operation.cod_tabela", f"{cod_tabela!r} is not in tabela_produto")])
        return chosen
    count = request.financial.number_of_installments
    rate = request.financial.monthly_interest_rate
    candidates = [p for p in table.products if p.allows(count)]
    if rate is not None:
        candidates = [p for p in candidates if p.monthly_interest_rate is None or p.monthly_interest_rate == rate]
    if not candidates:
        offered = sorted({n for p in table.products for n in p.number_of_installments})
        wanted = f"{count} installments" + (f" at {rate} a month" if rate is not None else "")
        raise OperationMappingError(
            [
                _problem(
                    "operation.number_of_installments",
                    f"no product in tabela_produto allows {wanted} (offered: {offered or 'none'})",
                )
            ]
        )
    return min(
        candidates,
        key=lambda p: (p.monthly_interest_rate is None, p.monthly_interest_rate or Decimal(0)),
    )


def _bank_account(request: LoanRequest, benefit: BenefitFacts | None) -> BankAccount | FieldProblem:
    given: DisbursementAccount | None = request.disbursement_accounts[0] if request.disbursement_accounts else None
    if given is not None:
        ispb = given.ispb_number or ispb_for(given.bank_code)
        source = "disbursement_accounts[0]"
        values: dict[str, object] = {
            "bank_code": given.bank_code,
            "account_type": given.account_type or AccountType.CHECKING_ACCOUNT,
            "branch_number": given.branch_number,
            "account_number": given.account_number,
            "account_digit": given.account_digit,
        }
    elif benefit is not None and benefit.paying_account is not None:
        paying = benefit.paying_account
        ispb = ispb_for(paying.bank_code)
        source = "the balance answer's disbursement_bank_account"
        values = {
            "bank_code": paying.bank_code,
            "account_type": AccountType.CHECKING_ACCOUNT,
            "branch_number": paying.branch_number,
            "account_number": paying.account_number,
            "account_digit": paying.account_digit,
        }
    else:
        why = "the balance answer gave no disbursement_bank_account" if benefit else "there was no consultation"
        return _problem("client.bank_account", f"no account: the request names none and {why}")
    if ispb is None:
        return _problem(
            "client.bank_account.ispb_number",
            f"bank {values['bank_code']} ({source}) has no known ISPB: give disbursement_accounts[0].ispb_number",
        )
    try:
        return BankAccount.model_validate({**values, "ispb_number": ispb, "pix_transfer_type": PixTransferType.MANUAL})
    except ValidationError as error:
        first = error.errors()[0]
        return _problem("client.bank_account." + ".".join(str(p) for p in first["loc"]), first["msg"])


def _amounts(request: LoanRequest, simulated: Simulated) -> tuple[SimulationType, dict[str, Decimal] | FieldProblem]:
    terms = request.financial
    if terms.installment_value is not None:
        kind, fixed = SimulationType.INSTALLMENT_FACE_VALUE, terms.installment_value
        fixed_field = "installment_face_value"
        other, other_field = simulated.disbursed_amount, "disbursed_amount"
        echoed = simulated.installment_face_value
    else:
        assert terms.disbursed_amount is not None  # two of three, and the rate alone fixes neither
        kind, fixed, fixed_field = SimulationType.DISBURSED_AMOUNT, terms.disbursed_amount, "disbursed_amount"
        other, other_field = simulated.installment_face_value, "installment_face_value"
        echoed = simulated.disbursed_amount
    if echoed is not None and echoed != fixed:
        return kind, _problem(
            f"operation.{fixed_field}", f"the simulation's {echoed} is not the request's {fixed}: simulate again"
        )
    if other is None:
        return kind, _problem(
            f"operation.{other_field}", f"the simulation gave no {other_field}: both values are sent (seed 003 §2)"
        )
    return kind, {fixed_field: fixed, other_field: other}


def simulation_request(request: LoanRequest, product: TableProduct) -> SimulationRequest:
    """The assumed simulation's body: the operation's financial part, the value the request fixes."""
    terms = request.financial
    problems = unsupported(request)
    if problems:
        raise OperationMappingError(problems)
    fixes_installment = terms.installment_value is not None
    try:
        return SimulationRequest.model_validate(
            {
                "simulation_type": (
                    SimulationType.INSTALLMENT_FACE_VALUE if fixes_installment else SimulationType.DISBURSED_AMOUNT
                ),
                "cod_tabela": product.cod_tabela,
                "number_of_installments": terms.number_of_installments,
                "first_due_date": terms.first_due_date,
                "disbursement_date": terms.disbursement_date,
                "limit_days_to_disburse": terms.limit_days_to_disburse,
                "installment_face_value": terms.installment_value if fixes_installment else None,
                "disbursed_amount": None if fixes_installment else terms.disbursed_amount,
            }
        )
    except ValidationError as error:
        raise OperationMappingError(_validation_problems(error)) from None


def simulated(answer: SimulationAnswer) -> Simulated | FieldProblem:
    """The figures the operation is created with, from the provider's simulation (observações 6, 7)."""
    if answer.issue_amount is None or answer.issue_amount <= 0:
        return FieldProblem("operation.issue_amount", "the provider's simulation gave no issue_amount")
    try:
        return Simulated(
            issue_amount=answer.issue_amount,
            disbursed_amount=answer.disbursed_amount,
            installment_face_value=answer.installment_face_value,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return FieldProblem(f"operation.{where}", f"the provider's simulation: {first['msg']}")


def operation_request(
    request: LoanRequest,
    benefit: BenefitFacts | None,
    product: TableProduct,
    simulated: Simulated,
    *,
    credit_type: CreditType = CreditType.CHECKING_ACCOUNT,
    in100: bool = True,
) -> OperationRequest:
    """Seed 003's payload for this loan, or :class:`OperationMappingError` naming every field it cannot
    fill. ``in100`` False (no consultation, ``benefit`` None): the "Sem IN100" flow, the assistance
    type and the account from the request."""
    problems = unsupported(request)
    count = request.financial.number_of_installments
    if product.number_of_installments and not product.allows(count):
        problems.append(
            _problem(
                "operation.cod_tabela",
                f"product {product.cod_tabela} allows {product.number_of_installments} installments, not {count}",
            )
        )
    assistance_type = (benefit.assistance_type if benefit else None) or request.benefit.assistance_type
    if not assistance_type:
        where = "the balance answer gave none" if benefit else "no consultation: the request must give it"
        problems.append(FieldProblem("operation.assistance_type", where, "benefit.assistance_type"))
    account = _bank_account(request, benefit)
    if isinstance(account, FieldProblem):
        problems.append(account)
    simulation_type, amounts = _amounts(request, simulated)
    if isinstance(amounts, FieldProblem):
        problems.append(amounts)
    if problems:
        raise OperationMappingError(problems)
    assert isinstance(account, BankAccount) and isinstance(amounts, dict)
    borrower, terms = request.borrower, request.financial
    address, phone = borrower.address, borrower.phone
    try:
        return OperationRequest(
            operation=Operation.model_validate(
                {
                    "IN100": in100,
                    "credit_type": credit_type,
                    "assistance_type": assistance_type,
                    "simulation_type": simulation_type,
                    "benefit_state": request.benefit.state,
                    "cod_tabela": product.cod_tabela,
                    "number_of_installments": count,
                    "first_due_date": terms.first_due_date,
                    "issue_amount": simulated.issue_amount,
                    "disbursement_date": terms.disbursement_date,
                    "limit_days_to_disburse": terms.limit_days_to_disburse,
                    "benefit_number": request.benefit.number,
                    **amounts,
                }
            ),
            client=Client(
                document_number=borrower.cpf,
                person_name=borrower.name,
                mother_name=borrower.mother_name,
                birth_date=borrower.birth_date,
                profession="",
                nationality=borrower.nationality or DEFAULT_NATIONALITY,
                marital_status=borrower.marital_status or "",
                email=borrower.email or "",
                country_code=phone.country_code,
                area_code=phone.area_code,
                phone_number=phone.number,
                street=address.street,
                state=address.state,
                city=address.city,
                neighborhood=address.neighborhood,
                number=address.number,
                postal_code=address.postal_code,
                complement=address.complement,
                bank_account=account,
            ),
        )
    except ValidationError as error:
        raise OperationMappingError(_validation_problems(error)) from None


def _validation_problems(error: ValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        location = [str(p) for p in item["loc"]]
        # Errors raised inside Operation/Client carry their field only; a model-level check none.
        title = getattr(error, "title", "")
        prefix = "operation" if title == "Operation" else "client" if title == "Client" else ""
        field = ".".join([prefix, *location] if prefix else location) or prefix or "operation"
        problems.append(_problem(field, item["msg"]))
    return problems
