"""The callers' schema (contract/caller/LoanStart.json) as a strict validator reads it: it holds only what
a caller sends, every example request fits it, and it agrees with the Python starter — what it
refuses, the starter refuses too, and each rule it leaves to the README is one the starter enforces."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from devtools.caller_schema import BESIDE_THE_SCHEMA, CALLER_SCHEMA, Rule, rules
from devtools.contract import CONTRACT_DIR
from devtools.contract_readme import EXAMPLE_SAMPLES, EXAMPLES
from domain.loan import LoanRequest, Product, ProviderId
from starter.api import LoanInputError, validate_request
from workflows.loan.routing import NoProvider, ProviderRouting, choose_provider

WRITTEN_FOR = date(2026, 12, 1)
"""The day the examples' dates were written for (disbursement the next day, the term signed that morning)."""

STANDARD_FORMATS = {"date", "date-time", "uuid", "email", "ipv4", "ipv6"}

Body = dict[str, Any]


def _document() -> Body:
    document: Body = json.loads((CONTRACT_DIR / CALLER_SCHEMA).read_text(encoding="utf-8"))
    return document


@cache
def _validator() -> Draft202012Validator:
    document = _document()
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _example(name: str) -> Body:
    body: Body = json.loads((CONTRACT_DIR / EXAMPLES / name).read_text(encoding="utf-8"))
    return body


def _schema_errors(body: Body) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in _validator().iter_errors(body)]


def _starter_refuses(request: Body, routing: ProviderRouting | None = None) -> list[str]:
    """The fields the Python starter names when it refuses the request (its model, dated checks and routing)."""
    try:
        parsed = validate_request(request, today=WRITTEN_FOR)
    except LoanInputError as error:
        return [problem.field for problem in error.errors]
    try:
        choose_provider(parsed, routing or ProviderRouting())
    except NoProvider as error:
        return [reason.split(":")[0] for reason in str(error).split("; ")]
    return []


def _formats(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_formats(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["format"]} if isinstance(node.get("format"), str) else set()
    return found.union(*(_formats(value) for value in node.values()))


# ------------------------------------------------------------------ what the schema is


def test_the_callers_schema_holds_only_what_a_caller_sends() -> None:
    document = _document()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["properties"] == {"request": {"$ref": "#/$defs/LoanRequest"}}
    assert document["additionalProperties"] is False
    defs = document["$defs"]
    assert set(defs["LoanRequest"]["properties"]) == set(LoanRequest.model_fields)
    for internal in ("LoanState", "LoanRules", "LoanPolicy", "LoanInput", "ProviderNews"):
        assert internal not in defs
    assert "carried" not in json.dumps(document) and "rules" not in document["properties"]


def test_it_is_a_small_fraction_of_the_whole_input_schema() -> None:
    caller = len((CONTRACT_DIR / CALLER_SCHEMA).read_bytes())
    whole = len((CONTRACT_DIR / "schemas" / "LoanInput.json").read_bytes())
    assert caller < whole / 3, (caller, whole)
    assert caller < 30_000  # a fifth of the 152 KB LoanInput.json callers had to generate from (issue 28)


def test_it_uses_only_json_schemas_own_formats_and_the_validator_checks_each() -> None:
    used = _formats(_document())
    assert used <= STANDARD_FORMATS, used - STANDARD_FORMATS  # no pydantic-only ipvanyaddress
    assert used >= {"date", "date-time", "email", "ipv4", "ipv6", "uuid"}
    # jsonschema skips a format it has no checker for: each one used must really be checked.
    assert used <= set(Draft202012Validator.FORMAT_CHECKER.checkers)


# ------------------------------------------------------------------ the examples


@pytest.mark.parametrize("name", sorted(EXAMPLE_SAMPLES))
def test_every_example_fits_the_schema_and_the_starter_takes_it(name: str) -> None:
    body = _example(name)
    assert _schema_errors(body) == []
    assert _starter_refuses(body["request"]) == []


def test_there_is_an_example_per_product_and_one_for_the_second_provider() -> None:
    requests = [_example(name)["request"] for name in EXAMPLE_SAMPLES]
    assert {request.get("product", "new_credit") for request in requests} == {p.value for p in Product}
    assert ProviderId.PROVIDER_B.value in {request.get("provider") for request in requests}
    assert sorted(path.name for path in (CONTRACT_DIR / EXAMPLES).glob("*.json")) == sorted(EXAMPLE_SAMPLES)


# ------------------------------------------------------------------ values


NEW_CREDIT = "new_credit.json"


def _at(body: Body, path: str) -> tuple[Any, str | int]:
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    return node, int(last) if last.isdigit() else last


@pytest.mark.parametrize(
    ("path", "value", "fits"),
    [
        ("borrower.cpf", "193.857.083-92", False),
        ("borrower.cpf", "١٩٣٨٥٧٠٨٣٩٢", False),  # eleven digits, not ASCII ones
        ("financial.installment_value", 250, False),  # money travels as a string
        ("financial.installment_value", "250.001", False),
        ("financial.installment_value", "0.00", False),
        ("financial.installment_value", "0.01", True),
        ("financial.installment_value", "1250.5", True),
        ("financial.monthly_interest_rate", "1", False),  # a fraction: 1.66 % a month is 0.0166
        ("financial.monthly_interest_rate", "0.0179", True),
        ("disbursement_accounts.0.percentage", "100", True),
        ("disbursement_accounts.0.percentage", "100.5", False),
        ("authorization_term.ip_address", "2001:db8::7", True),
        ("authorization_term.ip_address", "203.0.113.300", False),
        ("authorization_term.ip_address", "not-an-ip", False),
        ("authorization_term.signed_at", "2026-12-01T10:00:00", False),  # no offset
        ("authorization_term.signed_at", "2026-12-01T13:00:00Z", True),
        ("borrower.email", "exemplo", False),
        ("benefit.number", 3221600602, False),
        ("benefit.state", "sp", False),
        ("borrower.address.postal_code", "59065-720", False),
        ("borrower.phone.area_code", "8", False),
        ("disbursement_accounts.0.bank_code", "1", False),
    ],
)
def test_values_are_checked_as_the_model_checks_them(path: str, value: Any, fits: bool) -> None:
    body = _example(NEW_CREDIT)
    node, key = _at(body["request"], path)
    node[key] = value
    errors = _schema_errors(body)
    assert (errors == []) is fits, errors
    if fits:  # what the schema lets through, the starter takes
        assert _starter_refuses(body["request"]) == []


# ------------------------------------------------------------------ rules across fields

REPRESENTATIVE: Body = {
    "name": "Curadora de Exemplo",
    "cpf": "52998224725",
    "birth_date": "1975-05-20",
    "mother_name": "Mãe da Curadora",
    "email": "curadora@example.com",
    "phone": {"number": "991294043", "area_code": "11"},
    "address": {"street": "Av. Leonor", "number": "1", "city": "Guarulhos", "state": "SP", "postal_code": "07025200"},
    "judicial_authorization": {"court_case_number": "0001234-56.2026.8.26.0224", "issued_on": "2026-10-01"},
}
SECOND_ACCOUNT: Body = {"bank_code": "237", "branch_number": "1234", "account_number": "765432", "account_digit": "1"}


def _refinanced() -> list[Body]:
    operations: list[Body] = _example("refinancing.json")["request"]["refinanced_operations"]
    return operations


def _refinance_by_default(request: Body) -> None:
    request.pop("product")
    request["refinanced_operations"] = _refinanced()


def _split(request: Body, first: str = "70", second: str = "30") -> None:
    request["disbursement_accounts"] = [
        {**request["disbursement_accounts"][0], "percentage": first},
        {**SECOND_ACCOUNT, "percentage": second},
    ]


Change = Callable[[Body], None]

BREAKS: dict[str, tuple[str, list[Change]]] = {
    "financial: give exactly two of installment_value, disbursed_amount, monthly_interest_rate": (
        NEW_CREDIT,
        [
            lambda r: r["financial"].update(disbursed_amount="5000.00"),
            lambda r: r["financial"].pop("installment_value"),
            lambda r: r["financial"].update(installment_value=None),
        ],
    ),
    "authorization_term: give exactly one of document_key, raw_text, document": (
        NEW_CREDIT,
        [
            lambda r: r["authorization_term"].update(document_key="0b9e5f4e-3c1d-4a2b-9e8f-7a6b5c4d3e2f"),
            lambda r: r["authorization_term"].pop("raw_text"),
        ],
    ),
    "refinanced_operations: a refinancing needs the operations it refinances": (
        "refinancing.json",
        [lambda r: r.pop("refinanced_operations"), lambda r: r.update(refinanced_operations=[])],
    ),
    "refinanced_operations: only a refinancing (or a minimum-wage increase) refinances": (
        NEW_CREDIT,
        [
            lambda r: r.update(refinanced_operations=_refinanced()),
            _refinance_by_default,  # no product: new credit
        ],
    ),
    "portability: a portability needs its terms, and only a portability has them": (
        "portability.json",
        [lambda r: r.update(product="new_credit"), lambda r: r.pop("portability")],
    ),
    "financial.monthly_interest_rate: a portability is offered at a rate": (
        "portability.json",
        [lambda r: r["financial"].update(monthly_interest_rate=None, disbursed_amount="5000.00")],
    ),
    "disbursement_accounts: the troco needs the borrower's account": (
        "portability.json",
        [lambda r: r.update(disbursement_accounts=[])],
    ),
    "borrower.email, legal_representative.email: the signer's email is part of the IN100 authorization term: "
    "the legal representative's when there is one, else the borrower's": (
        NEW_CREDIT,
        [
            lambda r: r["borrower"].pop("email"),
            lambda r: r.update(legal_representative={k: v for k, v in REPRESENTATIVE.items() if k != "email"}),
        ],
    ),
    "product, legal_representative, disbursement_accounts: provider_b issues only new_credit, takes no legal "
    "representative, pays into one account (when provider is provider_b)": (
        "provider_b.json",
        [
            lambda r: r.update(product="refinancing", refinanced_operations=_refinanced()),
            lambda r: r.update(legal_representative=REPRESENTATIVE),
            _split,
        ],
    ),
}
"""Per rule the schema states (by its ``$comment``): the example, and changes that each break only that rule."""


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.field)
def test_each_rule_the_schema_states_is_refused_by_both(rule: Rule) -> None:
    comment = rule.stated()["$comment"]
    assert comment in json.dumps(_document(), ensure_ascii=False)
    assert comment in BREAKS, f"no change that breaks {comment!r}: add one to BREAKS"
    name, changes = BREAKS[comment]
    for change in changes:
        body = copy.deepcopy(_example(name))
        change(body["request"])
        assert _schema_errors(body) != [], comment
        refused = _starter_refuses(body["request"])
        assert refused, comment
        named = {field.strip() for field in rule.field.split(",")}
        assert any(field.split(".")[0] in {n.split(".")[0] for n in named} for field in refused), (refused, named)


BESIDE: dict[str, tuple[str, Change, ProviderRouting | None]] = {
    "borrower.cpf, legal_representative.cpf": (
        NEW_CREDIT,
        lambda r: r["borrower"].update(cpf=r["borrower"]["cpf"][:-1] + str((int(r["borrower"]["cpf"][-1]) + 1) % 10)),
        None,
    ),
    "rebates[].account.cnpj": (
        NEW_CREDIT,
        lambda r: r.update(
            rebates=[
                {
                    "amount": "20",
                    "amount_type": "percentage",
                    "account": {
                        "name": "Correspondente Exemplo Ltda",
                        "cnpj": "18533555000165",  # the last check digit is 4
                        "bank_code": "329",
                        "branch_number": "0001",
                        "account_number": "4290001",
                        "account_digit": "0",
                    },
                }
            ]
        ),
        None,
    ),
    "legal_representative.cpf": (
        NEW_CREDIT,
        lambda r: r.update(legal_representative={**REPRESENTATIVE, "cpf": r["borrower"]["cpf"]}),
        None,
    ),
    "disbursement_accounts[].percentage": (NEW_CREDIT, lambda r: _split(r, "70", "20"), None),
    "refinanced_operations[].operation_key": (
        "refinancing.json",
        lambda r: r.update(refinanced_operations=r["refinanced_operations"] * 2),
        None,
    ),
    "documents": (NEW_CREDIT, lambda r: r["documents"].update(selfie=r["documents"]["identity_front"]), None),
    "financial.disbursement_date": (NEW_CREDIT, lambda r: r["financial"].update(disbursement_date="2026-11-30"), None),
    "authorization_term.signed_at": (
        NEW_CREDIT,
        lambda r: r["authorization_term"].update(signed_at="2026-10-30T10:00:00-03:00"),
        None,
    ),
    "provider": (
        "refinancing.json",
        lambda r: None,  # only the first provider refinances, and it is marked unavailable
        ProviderRouting(unavailable=frozenset({ProviderId.QITECH})),
    ),
}
"""Per rule left to the README (by its field): the example and a change the schema lets through."""


@pytest.mark.parametrize("rule", BESIDE_THE_SCHEMA, ids=lambda rule: rule.field)
def test_each_rule_beside_the_schema_is_one_the_starter_enforces(rule: Rule) -> None:
    assert rule.field in BESIDE, f"no change that breaks {rule.field!r}: add one to BESIDE"
    name, change, routing = BESIDE[rule.field]
    body = copy.deepcopy(_example(name))
    change(body["request"])
    assert _schema_errors(body) == []  # JSON Schema cannot say it ...
    refused = _starter_refuses(body["request"], routing)  # ... the starter does, naming the field
    assert any(field.split(".")[0] == rule.field.split(".")[0].split("[")[0] for field in refused), refused


def test_the_readme_lists_every_rule() -> None:
    readme = (CONTRACT_DIR / "README.md").read_text(encoding="utf-8")
    for rule in (*rules(), *BESIDE_THE_SCHEMA):
        assert rule.says in readme
