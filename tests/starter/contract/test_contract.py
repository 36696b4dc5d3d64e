"""The checked-in contract (contract/) is what the models say, and what the loan really exchanges
fits it: a drifted schema fails here, naming the file to regenerate."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from devtools.contract import CONTRACT_DIR, differences, main, render
from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request
from domain.loan import Product
from workflows.loan.contract import (
    LOAN_ID_PREFIX,
    LOAN_WORKFLOW,
    PROVIDER_EVENT_SIGNAL,
    STATE_QUERY,
    LoanInput,
    LoanOutcome,
    LoanUpdate,
)
from workflows.loan.rules import current_rules
from workflows.loan.state import DataprevAnswer, LoanState, OperatorAction, PricedOption, RuleFailure, Stage, Status
from workflows.loan.visibility import LOAN_KEYS


def _schema(path: str) -> Draft202012Validator:
    document = json.loads((CONTRACT_DIR / path).read_text())
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def _names() -> dict[str, Any]:
    names: dict[str, Any] = json.loads((CONTRACT_DIR / "names.json").read_text())
    return names


def test_checked_in_contract_matches_the_models() -> None:
    drifted = differences()
    assert drifted == [], f"contract/ drifted from the models in {drifted}: run `.venv/bin/python -m devtools.contract`"


def test_check_mode_names_each_drifted_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "contract"
    shutil.copytree(CONTRACT_DIR, copy)
    assert main(["--check", "--dir", str(copy)]) == 0
    cancel = copy / "schemas" / "CancelRequest.json"
    cancel.write_text(cancel.read_text().replace('"reason"', '"motive"'))
    (copy / "schemas" / "Documents.json").unlink()
    (copy / "schemas" / "Retired.json").write_text("{}")
    capsys.readouterr()
    assert main(["--check", "--dir", str(copy)]) == 1
    stderr = capsys.readouterr().err
    for name in ("CancelRequest.json", "Documents.json", "Retired.json"):
        assert name in stderr
    assert "names.json" not in stderr
    assert main(["--dir", str(copy)]) == 0  # regenerates, removes the stale one
    assert differences(copy) == [] and not (copy / "schemas" / "Retired.json").exists()


def test_names_come_from_the_code() -> None:
    names = _names()
    assert names["workflow_type"] == LOAN_WORKFLOW
    assert names["workflow_id"]["prefix"] == LOAN_ID_PREFIX
    assert names["task_queue_default"] == "consignado-loans"
    assert list(names["updates"]) == [update.value for update in LoanUpdate]
    assert names["signals"] == {PROVIDER_EVENT_SIGNAL: {"argument": "schemas/ProviderNews.json"}}
    assert names["queries"] == {STATE_QUERY: {"result": "schemas/LoanState.json"}}
    assert names["updates"]["submit_signature"]["argument"] == "schemas/SignatureSubmission.json"
    assert names["search_attributes"]["DisbursementWindowEnd"] == "Datetime"
    assert set(names["search_attributes"]) == {key.name for key in LOAN_KEYS}
    referenced = {names["input"], names["result"]}
    for group in ("signals", "queries", "updates"):
        for entry in names[group].values():
            referenced.update(entry.values())
    assert referenced == {path for path in render() if path.startswith("schemas/")}


def test_a_loan_input_fits_the_input_schema(tmp_path: Path) -> None:
    request = sample_request(COMPLETES, cpf=sample_cpf(1, random.Random(7)), stamp="contract", documents_dir=tmp_path)
    schema = _schema(_names()["input"])
    body = request.model_dump(mode="json")
    # The schema says what a caller sends: the benefit number as a string of digits. The model also
    # takes the JSON number seed 004 uses (and dumps one), which the schema does not describe.
    body["benefit"]["number"] = str(body["benefit"]["number"])
    without_rules = {"request": body}
    with_rules = {**LoanInput(request=request, rules=current_rules()).model_dump(mode="json"), "request": body}
    assert list(schema.iter_errors(without_rules)) == []
    assert list(schema.iter_errors(with_rules)) == []
    wrong = json.loads(json.dumps(without_rules))
    del wrong["request"]["financial"]["number_of_installments"]
    wrong["request"]["request_key"] = "short"
    problems = {"/".join(map(str, error.absolute_path)): error.message for error in schema.iter_errors(wrong)}
    assert "request/request_key" in problems
    assert "'number_of_installments' is a required property" in problems["request/financial"]


def test_the_loans_answers_fit_the_state_and_outcome_schemas() -> None:
    moment = datetime(2026, 11, 20, 14, 2, tzinfo=UTC)
    state = LoanState(
        request_key="sample-contract-1",
        product=Product.NEW_CREDIT,
        stage=Stage.CLOSED,
        status=Status.REJECTED,
        rejection=[RuleFailure(rule="max_rate", message="too high", source="IN 28/2008")],
        chosen_option=PricedOption(
            disbursement_date=moment.date(), installment_value=Decimal("250.00"), monthly_cet=Decimal("0.0176")
        ),
        last_dataprev=DataprevAnswer(enumerator="consignable_margin_excceded", code="HW", action="retry", at=moment),
        operator_actions=[OperatorAction(kind="cancel", at=moment, note="withdrawn")],
        disbursement_window_end=moment,
    )
    assert list(_schema("schemas/LoanState.json").iter_errors(state.model_dump(mode="json"))) == []
    outcome = LoanOutcome(
        request_key=state.request_key,
        status=state.status,
        reason="rules",
        stage_reached=Stage.ELIGIBILITY,
        debt_key=None,
        contract_number=None,
        rejection=state.rejection,
    )
    assert list(_schema(_names()["result"]).iter_errors(outcome.model_dump(mode="json"))) == []
    assert list(_schema(_names()["result"]).iter_errors({"request_key": "x", "status": "lost"})) != []


@pytest.mark.parametrize(
    ("update", "good", "bad"),
    [
        (LoanUpdate.CANCEL, {"reason": "withdrawn", "operator": "ana"}, {"reason": ""}),
        (
            LoanUpdate.SUBMIT_SIGNATURE,
            {
                "ip_address": "203.0.113.9",
                "signature_datetime": "2026-11-20T14:02:00-03:00",
                "similarity_score": "0.95",
                "biometry_analysis_reference": "serpro",
            },
            {"ip_address": "203.0.113.9", "biometry_analysis_reference": "face"},
        ),
        (LoanUpdate.REAPRESENTAR, {"disbursement_date": "2026-11-24"}, {"disbursement_date": "2026-11-24", "x": 1}),
    ],
)
def test_update_arguments_fit_their_schemas(update: LoanUpdate, good: dict[str, Any], bad: dict[str, Any]) -> None:
    schema = _schema(_names()["updates"][update.value]["argument"])
    assert list(schema.iter_errors(good)) == []
    assert list(schema.iter_errors(bad)) != []
