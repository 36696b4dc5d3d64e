"""The provider's bodies the fixed floor carries, taken from the seed manuals (spec/seeds), never
from our own code or histories: the floor must not move when the loan does.

Each body is the JSON block whose opening brace is on a given line of a seed (1-based, as an editor
shows it), with the mechanical repairs the flattened manuals need (the same ones
``tests/seed_examples.py`` lists: markdown escapes, ``//`` comment tails, trailing commas). A seed
that no longer has the expected block there fails loudly at import, naming the line.

Imported once per process (the floor's workflow passes it through the sandbox): the bodies are
module constants, read-only by convention.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parents[2] / "spec" / "seeds"
SEED_004 = "004_97b5a1d4787c89bc.txt"


@cache
def _lines(seed: str) -> tuple[str, ...]:
    return tuple((SEEDS / seed).read_text(encoding="utf-8").splitlines())


def block(seed: str, line: int, must_have: str) -> dict[str, Any]:
    """The JSON object opening on ``line`` of ``seed``; ``must_have``: a top-level key it must hold
    (so a re-flowed seed cannot silently hand the floor another body)."""
    lines = _lines(seed)
    if not lines[line - 1].strip().startswith("{"):
        raise ValueError(f"{seed}:{line} does not open a JSON block: {lines[line - 1]!r}")
    depth, chunk = 0, []
    for raw in lines[line - 1 :]:
        chunk.append(raw)
        depth += raw.count("{") - raw.count("}")
        if depth <= 0:
            break
    text = "\n".join(re.sub(r'\s//[^"]*$', "", raw) for raw in chunk).replace("\\<", "<").replace("\\>", ">")
    body: dict[str, Any] = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    if must_have not in body:
        raise ValueError(f"{seed}:{line}: expected a {must_have!r} key, found {sorted(body)}")
    return body


def size(body: Any) -> int:
    """Bytes of ``body`` as compact JSON (what the data converter writes, before the codec)."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


def _add_months(day: str, months: int) -> str:
    moment = date.fromisoformat(day)
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1, day=min(moment.day, 28)).isoformat()


def with_installments(answer: dict[str, Any], count: int) -> dict[str, Any]:
    """The seed's simulation answer (4 installments per disbursement option) with each option's
    schedule extended to ``count`` installments, each a copy of the printed last one with its
    number and due dates moved on: the size an 84-installment quote has, with the seed's fields."""
    grown = copy.deepcopy(answer)
    for option in grown["data"]["disbursement_options"]:
        schedule: list[dict[str, Any]] = option["installments"]
        last = schedule[-1]
        for number in range(len(schedule) + 1, count + 1):
            step = number - int(last["installment_number"])
            installment = dict(last, installment_number=number)
            for field in ("due_date", "business_due_date"):
                installment[field] = _add_months(last[field], step)
            schedule.append(installment)
    grown["data"]["number_of_installments"] = count
    return grown


INSTALLMENTS = 84  # the bench's loans (devstack.samples): 84 installments, the INSS maximum

# ---- seed 004 §1: benefits request with the authorization term (case 1), its answer, its webhook
BENEFITS_REQUEST = block(SEED_004, 7, "authorization_term")
BENEFITS_ANSWER = block(SEED_004, 73, "benefits_request_key")
BENEFITS_WEBHOOK = block(SEED_004, 80, "webhook_type")
# ---- §2: balance request, case 1 (the term already sent with the benefits request), answer, webhook
BALANCE_REQUEST = block(SEED_004, 126, "benefit_number")
BALANCE_ANSWER = block(SEED_004, 132, "balance_request_key")
BALANCE_WEBHOOK = block(SEED_004, 181, "webhook_type")
# ---- §3: simulation of new credit by installment value; the answer grown to 84 installments
SIMULATION_REQUEST = block(SEED_004, 286, "financial")
SIMULATION_ANSWER = with_installments(block(SEED_004, 410, "data"), INSTALLMENTS)
# ---- §4: issuance of new credit (no legal representative) and its answer, as printed
ISSUANCE_REQUEST = block(SEED_004, 995, "borrower")
ISSUANCE_ANSWER = block(SEED_004, 1599, "data")
# ---- §5: the three documents' keys attached to the related party
ATTACH_REQUEST = block(SEED_004, 3534, "selfie")
DOCUMENT_ROLES = tuple(ATTACH_REQUEST)  # document_identification, document_identification_back, selfie
# ---- §6: the signature; its request is printed as a fragment ("...," then the fields it needs)
SIGNATURE_REQUEST: dict[str, Any] = {
    "ip_address": "192.168.0.0",
    "signature_datetime": "2020-03-20T14:28:23.382748Z",
    "similarity_score": 0.98,
    "biometry_analysis_reference": "serpro",
    "type": "data-signature",
}
SIGNATURE_ANSWER = block(SEED_004, 3566, "status")  # debt / signature_received, shaped as the webhook
SIGNATURE_WEBHOOK = SIGNATURE_ANSWER
# ---- §7: averbação succeeded; the debt webhook's shape (printed there for canceled_permanently)
COLLATERAL_WEBHOOK = block(SEED_004, 3638, "webhook_type")
DISBURSED_WEBHOOK = dict(block(SEED_004, 3673, "status"), status="disbursed")
