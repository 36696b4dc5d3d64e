"""The callers' schema: the loan's input as another service sends it, and nothing of the loan's own.

``contract/schemas/LoanInput.json`` is the workflow's whole input (the rules a loan pins, the state a
continue-as-new carries and, through it, every provider webhook model). A caller sends one thing,
``{"request": LoanRequest}``; this schema says exactly that, for code generators and validators in any
language:

- every string the model checks by a function has the pattern the function checks (CPF, CNPJ, bank
  code, benefit number, postal code, state), every decimal is a decimal string with a pattern (money
  at most two places, rates as fractions), JSON numbers are not offered for them;
- only JSON Schema's own formats (``date``, ``date-time``, ``uuid``, ``email``, ``ipv4``/``ipv6``);
- the rules the model applies across fields, where JSON Schema can state them, in ``allOf`` (each with
  a ``$comment`` saying the rule); the rest in :data:`BESIDE_THE_SCHEMA`, which the contract README lists.

A value the model reads differently from this schema fails loudly here (:class:`CallerSchemaError`), so
a new field of an unknown kind cannot slip into the callers' contract unconstrained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import AfterValidator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from domain.documents import normalize_cnpj, normalize_cpf
from domain.fields import BRAZILIAN_STATES, Digits, PositiveMoney, State
from domain.loan import LoanRequest, Product, ProviderId
from workflows.loan.port import CAPABILITIES

CALLER_SCHEMA = "caller/LoanStart.json"


class CallerSchemaError(RuntimeError):
    """A field of the request whose kind the callers' schema cannot state yet."""


def _after_function(annotated: Any) -> Any:
    return next(m.func for m in annotated.__metadata__ if isinstance(m, AfterValidator))


_TWO_PLACES = _after_function(PositiveMoney)  # money: at most two decimal places
_STATE = _after_function(State)

STATE_DEF = "BrazilianState"
STATE_SCHEMA = {"type": "string", "enum": sorted(BRAZILIAN_STATES)}
CPF_PATTERN = r"^[0-9]{11}$"
CNPJ_PATTERN = r"^[0-9A-Z]{12}[0-9]{2}$"

# Decimal strings, by the bounds the model puts on them (lower bound, upper bound, at most two places).
_POSITIVE = r"[1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*"
DECIMAL_PATTERNS: dict[tuple[str, str, bool], tuple[str, str]] = {
    ("ge 0", "", True): (r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$", "an amount in reais, at most two decimal places"),
    ("gt 0", "", True): (
        r"^([1-9][0-9]*(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$",
        'a positive amount in reais, at most two decimal places ("250.00")',
    ),
    ("ge 0", "lt 1", False): (r"^0(\.[0-9]+)?$", 'a rate as a fraction ("0.0166" is 1.66 % a month)'),
    ("gt 0", "le 100", False): (r"^(100(\.0+)?|[1-9][0-9]?(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$", "a percentage"),
    ("gt 0", "", False): (rf"^({_POSITIVE})$", "a positive decimal"),
}


def _bound(schema: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = schema.get(name)
        if value is not None:
            return f"{name} {Decimal(str(value)).normalize():f}"
    return ""


def _decimal_string(schema: Mapping[str, Any], *, two_places: bool) -> JsonSchemaValue:
    bounds = (_bound(schema, "gt", "ge"), _bound(schema, "lt", "le"), two_places)
    if bounds not in DECIMAL_PATTERNS:
        raise CallerSchemaError(f"no decimal-string pattern for a decimal bounded {bounds}: add one")
    pattern, words = DECIMAL_PATTERNS[bounds]
    return {"type": "string", "pattern": pattern, "description": f"Decimal string: {words}."}


class CallerJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, with each value's checks spelled out as patterns and standard formats."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # a title per field makes code generators invent a type per field

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        check = schema["function"]["function"]
        if isinstance(check, Digits):
            return {"type": "string", "pattern": check.pattern}
        if check is normalize_cpf:
            return {"type": "string", "pattern": CPF_PATTERN, "description": "CPF: 11 digits, no punctuation."}
        if check is normalize_cnpj:
            return {"type": "string", "pattern": CNPJ_PATTERN, "description": "CNPJ: 14 characters, no punctuation."}
        if check is _STATE:
            return dict(STATE_SCHEMA)  # one $defs entry for all, by _shared_state
        if check is _TWO_PLACES:
            inner: CoreSchema = schema["schema"]
            if inner["type"] != "decimal":
                raise CallerSchemaError(f"money over a {inner['type']} schema")
            return _decimal_string(inner, two_places=True)
        return super().function_after_schema(schema)

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        return _decimal_string(schema, two_places=False)


# ------------------------------------------------------------------ the rules across fields


def given(name: str) -> dict[str, Any]:
    """``name`` is present and not null (the model's "given": a field that is not None)."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _product_in(*products: Product) -> dict[str, Any]:
    if Product.NEW_CREDIT in products:  # the default when absent
        return {"properties": {"product": {"enum": [p.value for p in products]}}}
    return {"required": ["product"], "properties": {"product": {"enum": [p.value for p in products]}}}


def _nothing(name: str) -> dict[str, Any]:
    """The list ``name`` is absent or empty."""
    return {"properties": {name: {"type": "array", "maxItems": 0}}}


def _within(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` applies to the object ``name`` (typed, so Ajv's ``strictTypes`` has nothing to say)."""
    return {"properties": {name: {"type": "object", **schema}}}


def _null(name: str) -> dict[str, Any]:
    return {"properties": {name: {"type": "null"}}}


def _at_most_one(name: str) -> dict[str, Any]:
    return {"properties": {name: {"type": "array", "maxItems": 1}}}


def _at_least_one(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": "array", "minItems": 1}}}


@dataclass(frozen=True)
class Rule:
    """A rule the model applies to the request; ``schema`` states it (None: JSON Schema cannot)."""

    field: str
    says: str
    schema: dict[str, Any] | None = None
    checked_by: str = (
        "the model: the Python starter, and the worker when it reads the input "
        "(an unreadable start ends rejected naming the field)"
    )
    model: str = "LoanRequest"
    """The ``$defs`` entry whose ``allOf`` holds the rule."""

    def stated(self) -> dict[str, Any]:
        assert self.schema is not None
        return {"$comment": f"{self.field}: {self.says}", **self.schema}


_TERMS = ("installment_value", "disbursed_amount", "monthly_interest_rate")
_TERM_FORMS = ("document_key", "raw_text", "document")
_REFINANCES = (Product.REFINANCING, Product.MINIMUM_WAGE_INCREASE)


def _provider_rules() -> list[Rule]:
    """What a named provider can take (``workflows.loan.port.CAPABILITIES``), as the starter's routing checks it."""
    rules = []
    for provider in ProviderId:
        able = CAPABILITIES[provider]
        limits: list[tuple[str, str, dict[str, Any]]] = []
        if set(able.products) != set(Product):
            products = ", ".join(sorted(p.value for p in able.products))
            limits.append(("product", f"issues only {products}", _product_in(*sorted(able.products))))
        if not able.legal_representative:
            limits.append(("legal_representative", "takes no legal representative", _null("legal_representative")))
        if not able.split_accounts:
            limits.append(("disbursement_accounts", "pays into one account", _at_most_one("disbursement_accounts")))
        if limits:
            rules.append(
                Rule(
                    ", ".join(field for field, _, _ in limits),
                    f"{provider.value} {', '.join(says for _, says, _ in limits)} (when provider is {provider.value})",
                    {
                        "if": {"required": ["provider"], "properties": {"provider": {"const": provider.value}}},
                        "then": {"allOf": [limit for _, _, limit in limits]},
                    },
                    checked_by="the Python starter's routing; the worker's routing for other callers",
                )
            )
    return rules


def rules() -> list[Rule]:
    """Every rule across fields the model applies to a request, stated in the schema where it can be."""
    portability_given = given("portability")
    return [
        Rule(
            "financial",
            f"give exactly two of {', '.join(_TERMS)}",
            {
                "anyOf": [{"allOf": [given(a), given(b)]} for i, a in enumerate(_TERMS) for b in _TERMS[i + 1 :]],
                "not": {"allOf": [given(term) for term in _TERMS]},
            },
            model="FinancialTerms",
        ),
        Rule(
            "authorization_term",
            f"give exactly one of {', '.join(_TERM_FORMS)}",
            {"oneOf": [given(form) for form in _TERM_FORMS]},
            model="AuthorizationTerm",
        ),
        Rule(
            "refinanced_operations",
            "a refinancing needs the operations it refinances",
            {"if": _product_in(Product.REFINANCING), "then": _at_least_one("refinanced_operations")},
        ),
        Rule(
            "refinanced_operations",
            "only a refinancing (or a minimum-wage increase) refinances",
            {"if": {"not": _product_in(*_REFINANCES)}, "then": _nothing("refinanced_operations")},
        ),
        Rule(
            "portability",
            "a portability needs its terms, and only a portability has them",
            {
                "if": _product_in(Product.PORTABILITY),
                "then": portability_given,
                "else": _null("portability"),
            },
        ),
        Rule(
            "financial.monthly_interest_rate",
            "a portability is offered at a rate",
            {"if": portability_given, "then": _within("financial", given("monthly_interest_rate"))},
        ),
        Rule(
            "disbursement_accounts",
            "the troco needs the borrower's account",
            {
                "if": {"allOf": [portability_given, _within("portability", given("troco"))]},
                "then": _at_least_one("disbursement_accounts"),
            },
        ),
        Rule(
            "borrower.email, legal_representative.email",
            "the signer's email is part of the IN100 authorization term: the legal representative's when "
            "there is one, else the borrower's",
            {
                "if": given("legal_representative"),
                "then": _within("legal_representative", given("email")),
                "else": _within("borrower", given("email")),
            },
            checked_by="the Python starter (the worker's issuance needs it too)",
        ),
        *_provider_rules(),
    ]


BESIDE_THE_SCHEMA = (
    Rule("borrower.cpf, legal_representative.cpf", "valid check digits (mod 11), not all digits equal"),
    Rule("rebates[].account.cnpj", "valid check digits (mod 11)"),
    Rule("legal_representative.cpf", "the representative cannot be the beneficiary"),
    Rule("disbursement_accounts[].percentage", "the percentages add up to 100"),
    Rule("refinanced_operations[].operation_key", "no operation listed twice"),
    Rule("documents", "identity_front, identity_back and selfie are three different documents"),
    Rule(
        "financial.disbursement_date",
        "not in the past (São Paulo's date)",
        checked_by="the Python starter; a loan whose disbursement window (disbursement_date + "
        "limit_days_to_disburse) has already ended is rejected by the worker",
    ),
    Rule(
        "authorization_term.signed_at",
        "not in the future, and at most 30 days old (the IN100 term's validity)",
        checked_by="the Python starter (it needs today's date)",
    ),
    Rule(
        "provider",
        "absent: the lender's routing rules choose a provider that can take the loan (by product, a "
        "default, skipping providers marked unavailable); when none can, the loan is refused naming it",
        checked_by="the Python starter's routing; the worker's for a loan started without a provider",
    ),
)


# ------------------------------------------------------------------ the document


def _standard_ip(node: Any) -> Any:
    """pydantic's ``format: ipvanyaddress`` (its own) as JSON Schema's ``ipv4`` or ``ipv6``."""
    if isinstance(node, list):
        return [_standard_ip(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "ipvanyaddress":
        rest = {k: v for k, v in node.items() if k != "format"}
        return {**rest, "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
    return {key: _standard_ip(value) for key, value in node.items()}


def _ascii_digits(node: Any) -> Any:
    """``\\d`` is any Unicode digit in some regex dialects (Python's): callers send ASCII digits."""
    if isinstance(node, list):
        return [_ascii_digits(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: value.replace("\\d", "[0-9]") if key == "pattern" else _ascii_digits(value) for key, value in node.items()
    }


def _shared_state(node: Any) -> Any:
    if isinstance(node, list):
        return [_shared_state(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node == STATE_SCHEMA:
        return {"$ref": f"#/$defs/{STATE_DEF}"}
    return {k: _shared_state(v) for k, v in node.items()}


def _without_null_defaults(node: Any) -> Any:
    """``"default": null`` says no more than leaving the field out of ``required``."""
    if isinstance(node, list):
        return [_without_null_defaults(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _without_null_defaults(v) for k, v in node.items() if not (k == "default" and v is None)}


def _email(person: dict[str, Any]) -> None:
    email = person["properties"]["email"]
    email["anyOf"] = [{"type": "string", "format": "email"} if s.get("type") == "string" else s for s in email["anyOf"]]


WIDTH = 110


def dump(document: dict[str, Any]) -> str:
    """Indented JSON with every value that fits on one line written on one line: a third the size of
    ``json.dumps(indent=2)`` and still read line by line in a review."""

    def render(value: Any, indent: int, lead: int = 0) -> str:
        flat = json.dumps(value, ensure_ascii=False)
        if not isinstance(value, dict | list) or indent + lead + len(flat) <= WIDTH:
            return flat
        inner = " " * (indent + 2)
        if isinstance(value, list):
            items = [inner + render(item, indent + 2) for item in value]
            return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
        fields = [f"{inner}{json.dumps(k)}: {render(v, indent + 2, len(json.dumps(k)) + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(fields) + "\n" + " " * indent + "}"

    return render(document, 0) + "\n"


def caller_schema(dialect: str, comment: str) -> dict[str, Any]:
    """The schema of what a caller sends to start a loan: ``{"request": LoanRequest}``."""
    request = LoanRequest.model_json_schema(mode="validation", schema_generator=CallerJsonSchema)
    defs: dict[str, Any] = request.pop("$defs")
    defs["LoanRequest"] = request
    defs = _without_null_defaults(_ascii_digits(_standard_ip(_shared_state(defs))))
    defs[STATE_DEF] = {**STATE_SCHEMA, "description": "A Brazilian state (UF)."}
    for person in ("Person", "LegalRepresentative"):
        _email(defs[person])
    for rule in rules():
        defs[rule.model].setdefault("allOf", []).append(rule.stated())
    return {
        "$schema": dialect,
        "$comment": comment,
        "title": "LoanStart",
        "description": (
            "The one argument of the LoanWorkflow as another service sends it: the loan request, and "
            "nothing of the loan's own state. Rules JSON Schema cannot state are listed in the contract's README."
        ),
        "type": "object",
        "properties": {"request": {"$ref": "#/$defs/LoanRequest"}},
        "required": ["request"],
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }
