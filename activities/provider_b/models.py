"""The second provider's payloads (seed 003): strict outbound, tolerant inbound.

Outbound, ``POST /inss/v1/operation``: ``client`` and ``operation`` with the seed's exact field
names (``IN100`` included); every field is declared, nothing extra is accepted, and the rules the
seed states are enforced before anything is sent: ``simulation_type`` is ``installment_face_value``
or ``disbursed_amount`` and *both* values travel (observação of §2); ``number_of_installments`` is
84 or 96 (observação 5).

Inbound, tolerant (unknown fields kept in ``model_extra``, as the first provider's manuals demand):

* the creation answer (seed 003 "Dados relevantes"): ``debt_key``, ``link_form``, ``num_contrato``,
  ``dsc_situacao_emprestimo``;
* ASSUMPTION — the product table of ``GET /inss/v1/operation/tabela_produto``: the seed names the
  endpoint and the ``cod_tabela`` it gives and prints no answer. Assumed: a list of products (bare,
  or under ``data``/``products``/``produtos``), each with ``cod_tabela``, a description
  (``description``/``descricao``/``dsc_tabela``/``nome``), the installment counts it allows
  (``number_of_installments``/``prazos``/``parcelas``: a list, one number or "84,96") and its
  monthly rate (``monthly_interest_rate``/``taxa_mensal``/``taxa``: a fraction, or a percentage
  when above 1);
* ASSUMPTION — the simulation's answer (``POST /inss/v1/operation/simulation``, see
  ``activities.provider_b.client.Paths``): the seed says ``issue_amount`` "pode ser obtido na resposta
  da simulação" and that ``disbursed_amount`` is "o valor desembolsado da proposta simulada", and
  prints neither the endpoint nor the answer. Assumed: the request is the operation's financial part
  (``SimulationRequest``); the answer carries ``issue_amount`` and both amounts, and may carry the
  IOF, the rate and the CET (Portuguese spellings accepted, see ``SimulationAnswer``);
* ASSUMPTION — an operation's status (``GET /inss/v1/operation/{debt_key}``, see
  ``activities.provider_b.client.Paths``): the seed says only that the ``debt_key`` is used "para
  acompanhamento"; assumed to answer at least ``debt_key`` and ``dsc_situacao_emprestimo``, like
  the creation answer.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, model_validator

from activities.provider_b.status import StatusMeaning, meaning
from activities.tolerant import InboundModel, OutboundModel
from domain.documents import Cpf
from domain.fields import BankCode, BenefitNumber, NonEmptyStr, PositiveMoney, PostalCode, State, digits
from domain.inss import CreditType

ALLOWED_INSTALLMENTS = (84, 96)
"""Seed 003 observação 5: the installment is defined for 84 or 96 installments."""


# ------------------------------------------------------------------ outbound


class AccountType(StrEnum):
    CHECKING_ACCOUNT = "checking_account"
    SAVINGS_ACCOUNT = "savings_account"
    PAYMENT_ACCOUNT = "payment_account"


class PixTransferType(StrEnum):
    """Seed 003 prints only ``manual`` (a Pix by the account's data, no key)."""

    MANUAL = "manual"


class SimulationType(StrEnum):
    """Which value drove the simulation (seed 003 §2 observação); both values are sent anyway."""

    INSTALLMENT_FACE_VALUE = "installment_face_value"
    DISBURSED_AMOUNT = "disbursed_amount"


class BankAccount(OutboundModel):
    """``client.bank_account``: the balance answer's ``disbursement_bank_account`` (seed 003 §1)."""

    ispb_number: Annotated[str, digits((8, 8), "ispb_number")]
    bank_code: BankCode
    account_type: AccountType
    branch_number: Annotated[str, digits((1, 5), "branch_number")]
    account_number: Annotated[str, digits((1, 20), "account_number")]
    account_digit: Annotated[str, Field(pattern=r"^[0-9Xx]{1,2}$")]
    pix_transfer_type: PixTransferType = PixTransferType.MANUAL


class Client(OutboundModel):
    """Seed 003 §1 ``client``. Fields the seed sends empty (``profession``, ``complement``) may be empty."""

    document_number: Cpf
    person_name: NonEmptyStr
    mother_name: NonEmptyStr
    birth_date: date
    profession: str = ""
    nationality: NonEmptyStr
    marital_status: str = ""
    email: str = ""
    country_code: Annotated[str, digits((2, 3), "country_code")]
    area_code: Annotated[str, digits((2, 2), "area_code")]
    phone_number: Annotated[str, digits((8, 9), "phone_number")]
    street: NonEmptyStr
    state: State
    city: NonEmptyStr
    neighborhood: str = ""
    number: NonEmptyStr
    postal_code: PostalCode
    complement: str = ""
    bank_account: BankAccount


class Operation(OutboundModel):
    """Seed 003 §2 ``operation``."""

    in100: bool = Field(alias="IN100")
    """True: the "Com IN100" flow (the benefit consulted with the borrower's signed term)."""
    credit_type: CreditType  # how the benefit is received; the seed sends checking_account
    assistance_type: NonEmptyStr
    """The enumerator's description (observação 2), e.g. ``retirement_by_age``."""
    simulation_type: SimulationType
    benefit_state: State
    cod_tabela: Annotated[str, Field(min_length=1, max_length=20)]
    number_of_installments: Literal[84, 96]
    first_due_date: date
    issue_amount: PositiveMoney
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=30)]
    benefit_number: BenefitNumber
    disbursed_amount: PositiveMoney
    installment_face_value: PositiveMoney

    @model_validator(mode="after")
    def _consistent(self) -> Operation:
        if self.first_due_date <= self.disbursement_date:
            raise ValueError("first_due_date must come after disbursement_date")
        if self.issue_amount < self.disbursed_amount:
            raise ValueError("issue_amount (the total issued) cannot be less than disbursed_amount")
        return self


class SimulationRequest(OutboundModel):
    """ASSUMED ``POST /inss/v1/operation/simulation``: the operation's financial part, the value the
    request fixes (``simulation_type``) and no ``issue_amount`` (the answer gives it)."""

    simulation_type: SimulationType
    cod_tabela: Annotated[str, Field(min_length=1, max_length=20)]
    number_of_installments: Literal[84, 96]
    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0, le=30)]
    installment_face_value: PositiveMoney | None = None
    disbursed_amount: PositiveMoney | None = None

    @model_validator(mode="after")
    def _the_fixed_value(self) -> SimulationRequest:
        fixed = (
            self.installment_face_value
            if self.simulation_type == SimulationType.INSTALLMENT_FACE_VALUE
            else self.disbursed_amount
        )
        if fixed is None:
            raise ValueError(f"{self.simulation_type.value} is the value the simulation fixes: give it")
        if self.first_due_date <= self.disbursement_date:
            raise ValueError("first_due_date must come after disbursement_date")
        return self


class OperationRequest(OutboundModel):
    """``POST /inss/v1/operation`` (seed 003 §3 "Payload")."""

    operation: Operation
    client: Client


# ------------------------------------------------------------------ inbound


class OperationCreated(InboundModel):
    """The creation answer (seed 003 "Principais Respostas (200 OK)", "Dados relevantes")."""

    debt_key: Annotated[str, Field(min_length=1)]
    link_form: str | None = None
    """The formalization link: the borrower signs there (the sales channel shows it)."""
    num_contrato: str | None = None
    """The operation's number, e.g. ``0142115893/T``."""
    dsc_situacao_emprestimo: str | None = None

    def meaning(self) -> StatusMeaning:
        return meaning(self.dsc_situacao_emprestimo)


class OperationView(InboundModel):
    """An operation followed by its ``debt_key``, or listed for a CPF (assumed endpoints; see the
    client's module docstring)."""

    debt_key: Annotated[str, Field(min_length=1)]
    dsc_situacao_emprestimo: str | None = None
    link_form: str | None = None
    num_contrato: str | None = None
    benefit_number: str | None = None
    number_of_installments: int | None = None
    issue_amount: Decimal | None = None
    created_at: datetime | None = None

    def meaning(self) -> StatusMeaning:
        return meaning(self.dsc_situacao_emprestimo)


def _installments(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, int | Decimal | float):
        return [value]
    return value


def _rate(value: Any) -> Any:
    if value is None or value == "":
        return None
    rate = Decimal(str(value).replace(",", ".").rstrip("%").strip())
    # No monthly rate is 100 % or more: a value above 1 is a percentage (1.66 → 0.0166).
    return rate / 100 if rate > 1 else rate


class Product(InboundModel):
    """One row of ``tabela_produto`` (assumed shape; see the module docstring)."""

    cod_tabela: Annotated[str, Field(min_length=1)]
    description: str | None = Field(
        default=None, validation_alias=AliasChoices("description", "descricao", "dsc_tabela", "nome")
    )
    number_of_installments: Annotated[list[int], BeforeValidator(_installments)] = Field(
        default_factory=list, validation_alias=AliasChoices("number_of_installments", "prazos", "parcelas")
    )
    monthly_interest_rate: Annotated[Decimal | None, BeforeValidator(_rate)] = Field(
        default=None, validation_alias=AliasChoices("monthly_interest_rate", "taxa_mensal", "taxa")
    )

    def allows(self, number_of_installments: int) -> bool:
        return number_of_installments in self.number_of_installments


def listed_as(field: str, data: Any, *, under: tuple[str, ...]) -> Any:
    """A list the seed does not show the envelope of, answered bare or under one of ``under``, as
    ``{field: [...]}`` (the envelope's other fields kept beside it)."""
    if isinstance(data, list):
        return {field: data}
    if isinstance(data, dict) and field not in data:
        for key in under:
            if isinstance(data.get(key), list):
                return {**{k: v for k, v in data.items() if k != key}, field: data[key]}
    return data


class ProductTable(InboundModel):
    products: list[Product]

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, data: Any) -> Any:
        return listed_as("products", data, under=("data", "produtos", "items"))

    def get(self, cod_tabela: str) -> Product | None:
        return next((p for p in self.products if p.cod_tabela == cod_tabela), None)


class OperationList(InboundModel):
    operations: list[OperationView]

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, data: Any) -> Any:
        return listed_as("operations", data, under=("data",))


class LoginAnswer(InboundModel):
    """ASSUMPTION: the login answers a bearer token and its lifetime (seed 003 shows only
    ``Bearer {TOKEN_DO_LOGIN}``); ``token``/``accessToken`` spellings accepted, an hour by default."""

    access_token: Annotated[str, Field(min_length=1)] = Field(
        validation_alias=AliasChoices("access_token", "token", "accessToken")
    )
    expires_in: float = Field(default=3600.0, validation_alias=AliasChoices("expires_in", "expiresIn"))


def _money(field: str, *aliases: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(field, *aliases))


class SimulationAnswer(InboundModel):
    """The simulation's answer (assumed shape; see the module docstring): the figures the operation is
    created with (observações 6 and 7), and those the lender checks against its own price."""

    issue_amount: Decimal | None = _money("issue_amount", "valor_emissao", "vlr_emissao")
    disbursed_amount: Decimal | None = _money("disbursed_amount", "valor_liberado", "vlr_liberado")
    installment_face_value: Decimal | None = _money("installment_face_value", "valor_parcela", "vlr_parcela")
    iof_amount: Decimal | None = _money("iof_amount", "total_iof", "valor_iof", "vlr_iof")
    monthly_interest_rate: Annotated[Decimal | None, BeforeValidator(_rate)] = _money(
        "monthly_interest_rate", "taxa_mensal", "taxa"
    )
    monthly_cet: Annotated[Decimal | None, BeforeValidator(_rate)] = _money("monthly_cet", "cet", "cet_mensal")
    annual_cet: Annotated[Decimal | None, BeforeValidator(_rate)] = _money("annual_cet", "cet_anual")
    first_due_date: date | None = None
    last_due_date: date | None = None
    disbursement_date: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "issue_amount" not in data:
            return data["data"]
        return data
