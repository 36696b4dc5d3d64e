"""``python -m starter simulate`` as a person runs it: a subprocess, files in, JSON and exit code out."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import simplejson

from tests.seed_examples import examples

SEED_REQUEST = next(e for e in examples("004") if e.line == 286).obj
SEED_RESPONSE = next(e for e in examples("004") if e.line == 410).obj
SEED_PRODUCT = {
    "fees": [
        {"fee_type": "tac", "amount_type": "percentage", "amount": 0.6},
        {"fee_type": "ted_fee", "amount_type": "absolute", "amount": 1.0},
    ],
    "contract_fee_types": ["tac"],
    "inss_rules": {"forbid_tac": False},
}


def _run(tmp_path: Path, request: object, product: object | None = None) -> subprocess.CompletedProcess[str]:
    request_file = tmp_path / "request.json"
    request_file.write_text(simplejson.dumps(request, use_decimal=True))
    args = [sys.executable, "-m", "starter", "simulate", str(request_file)]
    if product is not None:
        product_file = tmp_path / "product.json"
        product_file.write_text(json.dumps(product))
        args += ["--product", str(product_file)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def test_seed_request_gives_the_seed_answer(tmp_path: Path) -> None:
    done = _run(tmp_path, SEED_REQUEST, SEED_PRODUCT)
    assert done.returncode == 0, done.stderr
    body = simplejson.loads(done.stdout, use_decimal=True)
    ours = body["data"]["disbursement_options"]
    theirs = SEED_RESPONSE["data"]["disbursement_options"]
    assert [o["disbursement_date"] for o in ours] == [o["disbursement_date"] for o in theirs]
    for field in ("issue_amount", "disbursed_issue_amount", "iof_amount", "cet", "annual_cet", "first_due_date"):
        assert [o[field] for o in ours] == [o[field] for o in theirs], field
    assert all(len(o["installments"]) == 4 for o in ours)


def test_a_bad_request_names_the_field_and_exits_2(tmp_path: Path) -> None:
    request = json.loads(json.dumps(SEED_REQUEST, default=str))
    request["financial"]["number_of_installments"] = 0
    del request["financial"]["disbursement_date"]
    done = _run(tmp_path, request, SEED_PRODUCT)
    assert done.returncode == 2
    assert "financial.disbursement_date" in done.stderr
    assert "financial.number_of_installments" in done.stderr
    assert done.stdout == ""


def test_a_bad_product_names_the_field_and_exits_2(tmp_path: Path) -> None:
    done = _run(tmp_path, SEED_REQUEST, {"fees": [{"fee_type": "tac", "amount_type": "sometimes", "amount": 1}]})
    assert done.returncode == 2
    assert "product: fees.0.amount_type" in done.stderr


def test_the_inss_rules_refuse_a_tac_with_exit_3_and_say_why(tmp_path: Path) -> None:
    product = {**SEED_PRODUCT, "inss_rules": {"forbid_tac": True}}
    done = _run(tmp_path, SEED_REQUEST, product)
    assert done.returncode == 3
    assert "TAC" in done.stderr and "IN PRES/INSS 138/2022" in done.stderr
    assert Decimal(
        simplejson.loads(done.stdout, use_decimal=True)["data"]["disbursement_options"][0]["issue_amount"]
    ) == Decimal("382.13")


def test_help_explains_both_files() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "starter", "simulate", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "REQUEST.json" in done.stdout and "PRODUCT.json" in done.stdout and "fee_type" in done.stdout
