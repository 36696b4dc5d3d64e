"""The second provider as its manual (seed 003) names it, and the sandbox's reading where it names nothing:
its paths, its operations' statuses, its 400 body and its JSON. The sandbox's own copy: the lender's
adapter reads the same seed and may read it otherwise — that disagreement is what the sandbox is for.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import simplejson

# ------------------------------------------------------------------ paths

OPERATION = "/inss/v1/operation"  # seed 003: POST creates an operation
PRODUCTS = "/inss/v1/operation/tabela_produto"  # seed 003 observação 1: GET lists the cod_tabela
# ASSUMED (seed 003 prints no path): "Bearer {TOKEN_DO_LOGIN}" comes from a login...
LOGIN = "/inss/v1/login"
# ... "issue_amount ... pode ser obtido na resposta da simulação" from a simulation ...
SIMULATION = "/inss/v1/operation/simulation"
# ... and "a debt_key é utilizada para acompanhamento": an operation is read back by its key.
OPERATION_BY_KEY = "/inss/v1/operation/{debt_key}"
# The lender's client guesses the same assumed paths: a wrong guess on both sides cannot show here.

# ------------------------------------------------------------------ dsc_situacao_emprestimo

# Seed 003 names the field ("Status da Operação") and prints no value: these are the situations
# Brazilian consignado platforms commonly show, in the order an operation passes them.
FORMALIZATION = "AGUARDANDO FORMALIZAÇÃO"  # the borrower has the link_form and has not signed
ANALYSIS = "EM ANÁLISE"
AVERBACAO = "EM AVERBAÇÃO"
AWAITING_PAYMENT = "AGUARDANDO PAGAMENTO"
PAID = "PAGO"
CANCELED = "CANCELADO"
REFUSED = "REPROVADO"
HAPPY_PATH = (FORMALIZATION, ANALYSIS, AVERBACAO, AWAITING_PAYMENT, PAID)

# ------------------------------------------------------------------ errors

VALIDATION_ERROR = "LEG000041"  # seed 003's one error code: "Request Validator Error"
# Ours (seed 003 prints none of these):
NOT_JSON = "LEG000040"
NOT_FOUND = "OPE000404"
BAD_CREDENTIALS = "AUTH000001"
REFUSED_TOKEN = "AUTH000002"  # noqa: S105 - an error code, not a secret
NO_CREDENTIALS = "AUTH000003"
CANNOT_PRICE = "SIM000001"

# The validator speaks the provider's own model, not the payload's names: seed 003 refuses an empty
# client.person_name as "'' should be non-empty in borrower.name" — the first provider's borrower
# (seed 004's issuance body). Its other names for the client's fields, as seed 004 prints them:
BORROWER_FIELDS = {
    "person_name": "borrower.name",
    "document_number": "borrower.individual_document_number",
    "mother_name": "borrower.mother_name",
    "birth_date": "borrower.birth_date",
    "nationality": "borrower.nationality",
    "marital_status": "borrower.marital_status",
    "country_code": "borrower.phone.country_code",
    "area_code": "borrower.phone.area_code",
    "phone_number": "borrower.phone.number",
    "street": "borrower.address.street",
    "number": "borrower.address.number",
    "complement": "borrower.address.complement",
    "neighborhood": "borrower.address.neighborhood",
    "city": "borrower.address.city",
    "state": "borrower.address.state",
    "postal_code": "borrower.address.postal_code",
}
"""``client.<field>`` → the validator's path; a field not here is ``borrower.<field>`` (ours)."""


def provider_path(location: tuple[str | int, ...]) -> str:
    """Where a problem is, in the validator's words: ``client.person_name`` → ``borrower.name``."""
    parts = [str(p) for p in location]
    if parts[:1] == ["client"]:
        if len(parts) == 2 and parts[1] in BORROWER_FIELDS:
            return BORROWER_FIELDS[parts[1]]
        parts[0] = "borrower"
    return ".".join(parts)


def error_body(code: str, description: str, title: str, translation: str) -> dict[str, Any]:
    """Seed 003's error body: the error as a JSON string in ``data``, and the same fields beside it."""
    detail = {"title": title, "description": description, "translation": translation, "extra_fields": {}, "code": code}
    return {"data": simplejson.dumps(detail, ensure_ascii=False), **detail}


# ------------------------------------------------------------------ JSON


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__}")


def encode(body: Any) -> bytes:
    """JSON with every Decimal written as the number it is (12444.67, as seed 003 prints amounts)."""
    return str(simplejson.dumps(body, use_decimal=True, default=_plain, ensure_ascii=False)).encode()


def decode(body: bytes | str) -> Any:
    """JSON with numbers as Decimal, so 12007.6 stays 12007.6 (ValueError when it is not JSON)."""
    return simplejson.loads(body, use_decimal=True)


def money(value: Decimal) -> Decimal:
    """An amount as the provider writes it: to the centavo."""
    return value.quantize(Decimal("0.01"))
