"""The contract README's tables, generated: ``contract/README.md`` keeps its prose by hand, and between
``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` the tables come from the code (names,
Updates, search attributes, the callers' rules, the examples), so a renamed Update, a new search
attribute or a new rule cannot leave the README behind (``python -m devtools.contract --check``).

What the code does not say in words (what a search attribute means, which stage an Update needs) is
kept here, one entry per name, and a name without its words fails the generator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from devtools.caller_schema import BESIDE_THE_SCHEMA, CALLER_SCHEMA, Rule, rules
from devtools.devstack.samples import SAMPLES
from workflows.loan.contract import LoanUpdate
from workflows.loan.visibility import LOAN_KEYS

README = "README.md"
EXAMPLES = "examples"


class ReadmeError(RuntimeError):
    """The README lacks a generated block, or the code has a name the README has no words for."""


SEARCH_ATTRIBUTE_WORDS = {
    "LoanStage": "the stage (`awaiting_signature`, `averbacao`, ...; `closed` at the end)",
    "LoanStatus": "`in_progress`, `completed`, `rejected`, `canceled`, `canceled_permanently`",
    "LoanProduct": "`new_credit`, `refinancing`, `minimum_wage_increase`, `portability` (the worker sets it if the "
    "start did not)",
    "LoanProvider": "who issues the loan (`qitech`, `provider_b`): the request's `provider`, else the lender's routing",
    "ProviderDebtKey": "the provider's debt key, once issued",
    "DataprevLastAnswer": "the last averbação answer, `<code> <enumerator>` (e.g. `HW consignable_margin_excceded`)",
    "DisbursementWindowEnd": "the end of the disbursement window",
    "MarginReleaseAt": "when the 90-day DDB rule releases the margin",
    "BorrowerCpfHash": "HMAC-SHA256 of the 11 CPF digits under `PII_HASH_KEY`, hex, first 16 characters: "
    "operators find a loan by CPF (`python -m starter list --cpf`); the worker sets it if the start did not",
    "PortabilityStatus": "a portability's proposal status: `pending_response`, `pending_acceptance`, `accepted`, "
    "`rejected` (by the CTC), `retained` (by the origin bank), `settlement_sent`, `paid`, `canceled`",
    "PortabilityRetention": "when retained, the origin bank's reason (seed 002's enumerators, e.g. `issuer_retention`)",
    "BeneficiaryConfirmationDeadline": "until when the beneficiary may confirm the loan in Meu INSS (anuência), "
    "while the loan waits for it",
    "ProviderDoesNotKnow": "what the loan holds a key for and the provider answers not found for (`debt`, "
    "`proposal`): an operator must check; unset once found",
}

UPDATE_STAGES = {
    LoanUpdate.PROVIDE_DOCUMENTS: "`awaiting_documents`",
    LoanUpdate.SUBMIT_SIGNATURE: "`awaiting_signature`, once",
    LoanUpdate.CORRECT_COLLATERAL: "`averbacao`, `awaiting_collateral_correction`",
    LoanUpdate.REDUCE_INSTALLMENT: "`awaiting_installment_reduction`",
    LoanUpdate.REAPRESENTAR: "`awaiting_reapresentacao`",
    LoanUpdate.CANCEL: "any stage until the money is disbursed",
    LoanUpdate.APPROVE_CHANGE: "while an account change waits for a second, different operator",
}

EXAMPLE_SAMPLES = {
    "new_credit.json": "completes",
    "refinancing.json": "refinancing",
    "minimum_wage_increase.json": "minimum-wage-increase-refinancing",
    "portability.json": "portability-troco",
    "provider_b.json": "provider-b-completes",
}
"""Each example request, and the sample loan (``devtools.devstack.samples``) whose scenario and documented
end it has: a test starts each through the ``temporal`` CLI and follows it there."""


def _schema_name(path: str) -> str:
    return f"`{Path(path).stem}`"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [f"| {' | '.join(header)} |", f"| {' | '.join('---' for _ in header)} |"]
    lines += ["| " + " | ".join(cell.replace("|", r"\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def identity(names: dict[str, Any]) -> str:
    ids = names["workflow_id"]
    return _table(
        ("what", "value"),
        [
            ("workflow type", f"`{names['workflow_type']}`"),
            (
                "workflow id",
                f"`{ids['format']}`; the request key matches `{ids['request_key_pattern']}` and the provider's "
                "`requester_identifier_key` is derived from it",
            ),
            ("task queue", f"`{names['task_queue_default']}` (the workers' `TEMPORAL_TASK_QUEUE`)"),
            ("namespace", "the deployment's (`default` locally, `consignado` in the Helm values)"),
            ("input, as a caller sends it", f'`{names["caller_input"]}`: `{{"request": LoanRequest}}`'),
            ("input, whole", f"`{names['input']}` (what the worker reads, the loan's own fields included)"),
            ("result", f"`{names['result']}`"),
        ],
    )


def handlers(names: dict[str, Any]) -> str:
    rows = [
        (f"`{name}`", "query", "nothing", _schema_name(entry["result"]), "always, also after the loan closed")
        for name, entry in names["queries"].items()
    ]
    for name, entry in names["updates"].items():
        stages = UPDATE_STAGES.get(LoanUpdate(name))
        if stages is None:
            raise ReadmeError(f"Update {name!r} has no words for the stages it is accepted in (UPDATE_STAGES)")
        rows.append((f"`{name}`", "Update", _schema_name(entry["argument"]), _schema_name(entry["result"]), stages))
    rows += [
        (
            f"`{name}`",
            "signal",
            _schema_name(entry["argument"]),
            "—",
            "a provider's news in the loan's words, sent by the webhook relay only; other callers never send it",
        )
        for name, entry in names["signals"].items()
    ]
    return _table(("name", "kind", "takes", "answers", "accepted in stage"), rows)


def search_attributes(names: dict[str, Any]) -> str:
    rows = []
    for key in LOAN_KEYS:
        words = SEARCH_ATTRIBUTE_WORDS.get(key.name)
        if words is None:
            raise ReadmeError(f"search attribute {key.name!r} has no words (SEARCH_ATTRIBUTE_WORDS)")
        rows.append((f"`{key.name}`", names["search_attributes"][key.name], words))
    return _table(("attribute", "type", "what"), rows)


def _rule_row(rule: Rule, where: str) -> tuple[str, ...]:
    fields = ", ".join(f"`{field.strip()}`" for field in rule.field.split(","))
    return (fields, rule.says, where, rule.checked_by)


def caller_rules(names: dict[str, Any]) -> str:
    stated = [_rule_row(rule, f"yes: `{rule.model}`'s `allOf`") for rule in rules()]
    beside = [_rule_row(rule, "no") for rule in BESIDE_THE_SCHEMA]
    return _table(("field", "rule", "in the schema", "checked by"), stated + beside)


def examples(names: dict[str, Any], directory: Path) -> str:
    by_name = {sample.name: sample for sample in SAMPLES}
    found = sorted(path.name for path in (directory / EXAMPLES).glob("*.json"))
    if found != sorted(EXAMPLE_SAMPLES):
        raise ReadmeError(f"examples/ holds {found}, EXAMPLE_SAMPLES names {sorted(EXAMPLE_SAMPLES)}")
    rows = []
    for name in found:
        request = json.loads((directory / EXAMPLES / name).read_text(encoding="utf-8"))["request"]
        sample = by_name[EXAMPLE_SAMPLES[name]]
        rows.append(
            (
                f"`{EXAMPLES}/{name}`",
                f"`{request.get('product', 'new_credit')}`",
                f"`{request['provider']}`" if request.get("provider") else "routing",
                f"`{sample.name}`: {sample.expect}",
            )
        )
    return _table(("example", "product", "provider", "the sample it plays, and its documented end"), rows)


BLOCKS: dict[str, Callable[[dict[str, Any], Path], str]] = {
    "identity": lambda names, _: identity(names),
    "handlers": lambda names, _: handlers(names),
    "search-attributes": lambda names, _: search_attributes(names),
    "caller-rules": lambda names, _: caller_rules(names),
    "examples": examples,
}


def render_readme(current: str, names: dict[str, Any], directory: Path) -> str:
    """``current`` with every generated block rendered from the code (the prose around them kept)."""
    text = current
    for name, block in BLOCKS.items():
        start, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
        before, found, rest = text.partition(start + "\n")
        _, closed, after = rest.partition(end)
        if not (found and closed):
            raise ReadmeError(f"{README} lacks the block {start} ... {end}")
        text = f"{before}{start}\n{block(names, directory)}\n{end}{after}"
    return text


__all__ = ["CALLER_SCHEMA", "EXAMPLES", "EXAMPLE_SAMPLES", "README", "ReadmeError", "render_readme"]
