"""Every JSON example in the seeds' response and webhook sections parses into our models without loss.

"Without loss" means: every field of the example is still there after parsing (declared or kept as
an extra) and carries the same value — the same number exactly, the same date or instant (a naive
provider time is read as Brasília time), the same text for a number sent as text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from activities.qitech.models.consultation import BalanceRequestCreated, BenefitsRequestCreated
from activities.qitech.models.debt import CollateralView, DebtAnswer, DisbursementDateChanged, Portability002Amount
from activities.qitech.models.simulation import SimulationBatchResult, SimulationResult
from activities.qitech.models.webhooks import parse_webhook, unwrap
from activities.tolerant import unknown_values
from domain.calendar import SAO_PAULO
from tests.seed_examples import SeedExample, all_examples

INBOUND_LABELS = {"Response Body", "Webhook Body", "body.json", "response.json"}

# Blocks this generic routing does not take, each with the reason.
NOT_INBOUND = {
    # Port+Refin answers whose shapes need their own models: tests/activities/qitech/test_portability.py parses
    # each without loss (CtcParticipants, OriginContractRequestCreated), as every example of seed 002.
    "002:10": "CTC participants list item (Port+Refin): tests/activities/qitech/test_portability.py",
    "002:148": "origin-contract request receipt (Port+Refin): tests/activities/qitech/test_portability.py",
    "003:7": "HTTP headers of the second provider, not a body",
    "003:11": "second provider's payload sketch: not JSON (unclosed object, typographic quotes follow)",
}


def _model_for(example: SeedExample) -> type[BaseModel] | None:
    body = unwrap(example.obj)
    if "webhook_type" in body or "proposal_key" in body or example.label == "Webhook Body":
        return None  # parse_webhook decides
    if "benefits_request_key" in body:
        return BenefitsRequestCreated
    if "balance_request_key" in body:
        return BalanceRequestCreated
    if isinstance(body.get("data"), list):
        return SimulationBatchResult
    if body.get("type") == "debt" and "disbursement_options" in body.get("data", {}):
        return SimulationResult
    if "collateral_constituted" in body:
        return CollateralView
    if "disbursement_accounts" in body:
        return DisbursementDateChanged
    if "credit_operation_key" in body:
        return Portability002Amount
    if "key" in body and "data" in body:
        return DebtAnswer
    raise AssertionError(f"no model routes example {example.name}: {sorted(body)}")


def _inbound_examples() -> list[SeedExample]:
    chosen = []
    for example in all_examples():
        if example.name in NOT_INBOUND:
            continue
        is_webhook = isinstance(example.obj, dict) and (
            "webhook_type" in unwrap(example.obj) or "webhook" in example.obj
        )
        if example.label in INBOUND_LABELS or is_webhook:
            chosen.append(example)
    return chosen


def _equivalent(original: Any, parsed: Any) -> bool:
    if original is None or isinstance(original, bool):
        return bool(parsed == original)
    if isinstance(original, Decimal | int) and not isinstance(original, bool):
        if isinstance(parsed, str):
            return parsed == str(original)
        if isinstance(parsed, float):  # an unmodelled number, kept JSON-native
            return Decimal(repr(parsed)) == original
        return Decimal(parsed) == Decimal(original)
    if isinstance(original, str):
        if isinstance(parsed, datetime):
            text = original.replace("Z", "+00:00")
            moment = datetime.fromisoformat(text)
            return parsed == (moment if moment.tzinfo else moment.replace(tzinfo=SAO_PAULO))
        if isinstance(parsed, date):
            if len(original) == 8 and original.isdigit():  # DDMMYYYY, as in the balance webhook
                return parsed == date(int(original[4:]), int(original[2:4]), int(original[:2]))
            return parsed == date.fromisoformat(original)
        return str(parsed) == original
    raise AssertionError(f"unexpected JSON value {original!r}")


def _python(value: Any) -> Any:
    """The parsed model as plain Python, keeping dates and Decimals as objects (not their JSON text)."""
    if isinstance(value, BaseModel):
        items = {name: getattr(value, name) for name in type(value).model_fields if name in value.model_fields_set}
        items.update(value.model_extra or {})
        return {k: _python(v) for k, v in items.items()}
    if isinstance(value, list):
        return [_python(v) for v in value]
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    return value


def _assert_no_loss(original: Any, parsed: Any, path: str = "") -> None:
    if isinstance(original, dict):
        assert isinstance(parsed, dict), f"{path}: object became {type(parsed).__name__}"
        for key, value in original.items():
            assert key in parsed, f"{path}.{key} was dropped"
            _assert_no_loss(value, parsed[key], f"{path}.{key}")
    elif isinstance(original, list):
        assert isinstance(parsed, list) and len(parsed) == len(original), f"{path}: list changed"
        for index, (a, b) in enumerate(zip(original, parsed, strict=True)):
            _assert_no_loss(a, b, f"{path}[{index}]")
    else:
        assert _equivalent(original, parsed), f"{path}: {original!r} became {parsed!r}"


EXAMPLES = _inbound_examples()


def test_the_seeds_have_the_examples_we_expect() -> None:
    # Guards the extractor: if it silently found fewer blocks, the parametrised test would shrink.
    assert len(EXAMPLES) == 50
    names = {e.name for e in EXAMPLES}
    assert {"004:410", "004:1599", "001:456", "004:3592", "004:3684"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.name} {e.label}")
def test_example_parses_without_loss(example: SeedExample) -> None:
    assert example.error is None, f"{example.name} is not JSON after the documented repairs: {example.error}"
    model_type = _model_for(example)
    parsed: BaseModel = parse_webhook(example.obj) if model_type is None else model_type.model_validate(example.obj)
    _assert_no_loss(unwrap(example.obj), _python(parsed))
    # The model round-trips through JSON (how Temporal carries it) to an equal model.
    again = type(parsed).model_validate_json(parsed.model_dump_json())
    assert again == parsed


def test_truncated_examples_are_the_ones_we_list() -> None:
    truncated = sorted(e.name for e in all_examples() if e.truncated)
    # 001 §3's batch response elides installments ("< ... x24 >") and options ("..."): a shape only.
    assert truncated == ["001:456"]


def test_only_the_manuals_placeholders_are_flagged_as_unknown() -> None:
    flagged = {}
    for example in EXAMPLES:
        if "webhook_type" in unwrap(example.obj):
            for path, raw in unknown_values(parse_webhook(example.obj)):
                flagged[f"{example.name} {path}"] = raw
    # Placeholders such as "<DATA E HORA DO ENVIO DO WEBHOOK>" cannot be read as an instant: they are
    # kept as Unknown text. Every real enumerator in the examples is one the tables know.
    assert flagged, "the placeholders should be flagged"
    not_placeholders = {where: raw for where, raw in flagged.items() if not (raw.startswith("<") and raw.endswith(">"))}
    assert not_placeholders == {}
