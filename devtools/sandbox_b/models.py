"""What the second provider accepts, as the sandbox reads seed 003: its own models, not the lender's.

Refused, as the seed says (LEG000041, "Request Validator Error", the field in the validator's words —
see ``manual.provider_path``):
- an empty ``client.person_name`` ("'' should be non-empty in borrower.name", the seed's own example),
  and likewise the other fields that identify the borrower or the operation;
- a ``simulation_type`` other than ``installment_face_value`` / ``disbursed_amount``, or an operation
  without *both* amounts (§2 observação: "será necessário informar a variável de ambos");
- ``number_of_installments`` other than 84 or 96 (observação 5);
- a missing ``operation`` or ``client`` or any field the seed's payload carries.

Tolerated, where a provider would not care or the seed does not say: fields it does not know (ignored),
``profession`` and ``complement`` empty (the seed sends them so), the other contact and address fields
empty, amounts as numbers or numeric strings, the benefit number as a number (as the seed sends it) or
digits, ``IN100`` spelt ``in100`` (observação 3 spells it so).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from devtools.sandbox_b import manual

INSTALLMENT_COUNTS = (84, 96)  # seed 003 observação 5: "deve ser definido entre 84 ou 96 parcelas"
SimulationType = Literal["installment_face_value", "disbursed_amount"]  # seed 003 §2 observação

Filled = Annotated[str, Field(min_length=1)]
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


def _digits(value: Any) -> Any:
    """A number the seed sends as a JSON number (``benefit_number``) or as digits."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Digits = Annotated[str, BeforeValidator(_digits), Field(min_length=1, pattern=r"^\d+$")]


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def cpf_is_valid(digits: str) -> bool:
    """The CPF's two check digits (mod 11), the way every Brazilian registry checks them."""
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    for length in (9, 10):
        total = sum(int(d) * weight for d, weight in zip(digits[:length], range(length + 1, 1, -1), strict=True))
        if int(digits[length]) != total * 10 % 11 % 10:
            return False
    return True


class BankAccount(_Tolerant):
    """§1 ``client.bank_account`` (the balance answer's ``disbursement_bank_account``)."""

    ispb_number: Digits
    bank_code: Digits
    account_type: Filled
    branch_number: Digits
    account_number: Digits
    account_digit: Filled
    pix_transfer_type: str = "manual"


class Client(_Tolerant):
    """§1 ``client``."""

    document_number: Filled
    person_name: Filled
    mother_name: Filled
    birth_date: date
    profession: str = ""
    nationality: str = ""
    marital_status: str = ""
    email: str = ""
    country_code: str = ""
    area_code: str = ""
    phone_number: str = ""
    street: str = ""
    state: str = ""
    city: str = ""
    neighborhood: str = ""
    number: str = ""
    postal_code: str = ""
    complement: str = ""
    bank_account: BankAccount

    @field_validator("document_number")
    @classmethod
    def _cpf(cls, value: str) -> str:
        digits = "".join(c for c in value if c.isdigit())
        if not cpf_is_valid(digits):
            raise ValueError("is not a valid CPF")
        return digits


class Operation(_Tolerant):
    """§2 ``operation``."""

    in100: bool = Field(validation_alias=AliasChoices("IN100", "in100"))
    credit_type: Filled
    assistance_type: Filled  # the enumerator's description (observação 2)
    simulation_type: SimulationType
    benefit_state: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    cod_tabela: Filled
    number_of_installments: Literal[84, 96]
    first_due_date: date
    issue_amount: Amount
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0)]
    benefit_number: Digits
    disbursed_amount: Amount
    installment_face_value: Amount


class OperationRequest(_Tolerant):
    """§3 "Payload"."""

    operation: Operation
    client: Client


class SimulationRequest(_Tolerant):
    """ASSUMED (no path or body in the seed): the operation's financial part, and the value it fixes."""

    simulation_type: SimulationType
    cod_tabela: Filled
    number_of_installments: Literal[84, 96]
    first_due_date: date
    disbursement_date: date
    limit_days_to_disburse: Annotated[int, Field(ge=0)] = 0
    installment_face_value: Amount | None = None
    disbursed_amount: Amount | None = None

    def fixed(self) -> Decimal | None:
        return (
            self.installment_face_value if self.simulation_type == "installment_face_value" else self.disbursed_amount
        )


class Product(_Tolerant):
    """One row of ``tabela_produto`` (ASSUMED shape: the seed names the endpoint and ``cod_tabela`` only)."""

    cod_tabela: Filled
    description: str = ""
    number_of_installments: list[int] = Field(default_factory=list)
    monthly_interest_rate: Annotated[Decimal, Field(gt=0, lt=1)]

    def allows(self, installments: int) -> bool:
        return not self.number_of_installments or installments in self.number_of_installments


def products(body: Any) -> list[Product]:
    """A product table: the list ``tabela_produto`` answers (or the same under ``data``)."""
    rows = body.get("data") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise ValueError("a product table is a list of products")
    return [Product.model_validate(row) for row in rows]


class Refusal(Exception):
    """A 4xx in seed 003's error shape (``manual.error_body``)."""

    def __init__(
        self,
        status: int,
        code: str,
        description: str,
        title: str = "Request Validator Error",
        translation: str = "",
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.title = title
        self.translation = translation or ("Payload Invalido" if status == 400 else title)

    def body(self) -> dict[str, Any]:
        return manual.error_body(self.code, self.description, self.title, self.translation)


def refusal(error: ValidationError) -> Refusal:
    """LEG000041 for the first problem, worded like the seed's ("'' should be non-empty in borrower.name")."""
    first = error.errors()[0]
    location = tuple(first["loc"])
    path = manual.provider_path(location) or "body"
    value = first.get("input")
    kind = first["type"]
    if kind in ("string_too_short", "too_short") and value == "":
        message = f"'' should be non-empty in {path}"
    elif kind == "missing":
        message = f"'{path.rsplit('.', 1)[-1]}' is a required property in {path}"
    elif kind == "literal_error" and location[-1] == "number_of_installments":
        message = f"{value} is not one of {list(INSTALLMENT_COUNTS)} in {path}"
    elif kind == "literal_error":
        message = f"{value!r} is not one of {first['ctx']['expected']} in {path}"
    else:
        # pydantic's words, never the value itself (a CPF, a name): "is not a valid CPF in ...".
        message = f"{first['msg'].removeprefix('Value error, ')} in {path}"
    return Refusal(400, manual.VALIDATION_ERROR, message)


def parse(model: type[BaseModel], body: Any) -> Any:
    """``body`` as ``model``, or the provider's refusal of it."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise refusal(error) from None
