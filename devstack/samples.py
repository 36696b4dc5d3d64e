"""Sample loans for the run command: one per sandbox scenario, so each final state shows in the Web UI.

The sandbox decides by the CPF's first digit (seeds 001/004): 1 succeeds; 2 fails the consultation
with inexistent_beneficiary; every other digit gets mock_error. A few samples use the sandbox's
per-CPF switches to reach the paths the first digit alone cannot (averbação codes AN and IR,
teimosinha, a refused TED, the 90-day DDB wait). The run command plays the formalization front
end: it submits the borrower's signature when a loan waits for it.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from devstack.stack import StackConfig
from domain.calendar import SAO_PAULO
from domain.loan import Documents, LoanRequest, SignatureSubmission
from loan.state import LoanState, Stage
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from sandbox.scenarios import benefit_number_for
from starter.api import LoanService


@dataclass(frozen=True)
class Sample:
    name: str
    first_digit: int
    expect: str
    scenario: dict[str, Any] | None = None
    sign: bool = True
    disbursement_in_days: int = 1
    limit_days: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


def _today() -> date:
    return datetime.now(SAO_PAULO).date()


SAMPLES = (
    Sample("completes", 1, "completed: consultation, averbação and disbursement succeed"),
    Sample("inexistent-beneficiary", 2, "rejected: benefits request fails with inexistent_beneficiary", sign=False),
    Sample("cpf-3", 3, "rejected: the consultation answers mock_error (3 has no consultation scenario)", sign=False),
    Sample("other-digit", 7, "rejected: mock_error, the sandbox's default for unmapped digits", sign=False),
    Sample(
        "averbacao-an",
        2,
        "canceled: averbação refused with AN invalid_disbursement_account (cancel), no correction",
        scenario={"consultation": "success"},
    ),
    Sample(
        "averbacao-ir",
        3,
        "canceled: averbação refused with IR operation_not_allowed_IR (cancel), no correction",
        scenario={"consultation": "success"},
    ),
    Sample(
        "teimosinha",
        1,
        "completed after teimosinha: HW, AV, then success",
        scenario={"averbacao": ["consignable_margin_excceded", "processing_payroll", "success"]},
    ),
    Sample(
        "ted-refusal",
        1,
        "waits for an operator's reapresentação after a refused TED",
        scenario={"disbursement": ["ted_refusal", "success"]},
    ),
    Sample(
        "ddb-wait",
        1,
        "waits for the margin release (DDB 30 days ago + 90 days)",
        scenario={"ddb": "__30_days_ago__"},
        disbursement_in_days=62,
    ),
)
COMPLETES = SAMPLES[0]  # the happy path: every provider step succeeds


def sample_cpf(first_digit: int, rng: random.Random) -> str:
    while True:
        base = [first_digit] + [rng.randrange(10) for _ in range(8)]
        if len(set(base)) > 1:
            break
    for _ in range(2):
        weights = range(len(base) + 1, 1, -1)
        remainder = sum(v * w for v, w in zip(base, weights, strict=True)) % 11
        base.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, base))


def _jpeg(path: Path, shade: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (480, 320), (shade, 90, 140)).save(path, format="JPEG")
    return path.resolve().as_uri()


def sample_request(sample: Sample, *, cpf: str, stamp: str, documents_dir: Path) -> LoanRequest:
    start = _today() + timedelta(days=sample.disbursement_in_days)
    key = f"sample-{stamp}-{sample.name}"
    folder = documents_dir / key
    documents = Documents.model_validate(
        {
            "identity_front": {"uri": _jpeg(folder / "identity_front.jpg", 30)},
            "identity_back": {"uri": _jpeg(folder / "identity_back.jpg", 60)},
            "selfie": {"uri": _jpeg(folder / "selfie.jpg", 90)},
        }
    )
    return LoanRequest.model_validate(
        {
            "request_key": key,
            "product": "new_credit",
            "borrower": {
                "name": "Beneficiária de Exemplo",
                "cpf": cpf,
                "birth_date": "1958-03-14",
                "mother_name": "Mãe de Exemplo",
                "email": "exemplo@example.com",
                "phone": {"number": "999538380", "area_code": "84"},
                "address": {
                    "street": "Rua das Flores",
                    "number": "10",
                    "city": "Natal",
                    "state": "RN",
                    "postal_code": "59065720",
                },
            },
            "benefit": {"number": benefit_number_for(cpf), "state": "SP"},
            "financial": {
                "installment_value": Decimal("250.00"),
                "monthly_interest_rate": Decimal("0.0166"),
                "number_of_installments": 84,
                "first_due_date": (start + timedelta(days=40)).isoformat(),
                "disbursement_date": start.isoformat(),
                "limit_days_to_disburse": sample.limit_days,
            },
            "disbursement_account": {
                "bank_code": "001",
                "branch_number": "2874",
                "account_number": "57555",
                "account_digit": "0",
            },
            "authorization_term": {
                "signed_at": datetime.now(SAO_PAULO).isoformat(),
                "ip_address": "203.0.113.7",
                "session_id": f"session-{key}",
                "raw_text": "Autorizo o INSS/Dataprev a disponibilizar meus dados de benefício ao banco.",
            },
            "documents": documents.model_dump(mode="json"),
        }
    )


def signature_now() -> SignatureSubmission:
    return SignatureSubmission.model_validate(
        {
            "ip_address": "203.0.113.7",
            "signature_datetime": datetime.now(SAO_PAULO).isoformat(),
            "similarity_score": "0.97",
            "biometry_analysis_reference": "serpro",
        }
    )


def _scenario(sample: Sample) -> dict[str, Any] | None:
    if sample.scenario is None:
        return None
    scenario = dict(sample.scenario)
    if scenario.get("ddb") == "__30_days_ago__":
        scenario["ddb"] = (_today() - timedelta(days=30)).isoformat()
    return scenario


def _line(sample: Sample, state: LoanState) -> str:
    what = state.status.value if state.closed else state.stage.value
    reason = f" — {state.outcome_reason}" if state.closed and state.outcome_reason else ""
    return f"  {sample.name:<24} {what}{reason}"


async def run_samples(config: StackConfig, *, settle_seconds: float = 150.0) -> None:
    service = LoanService(
        await connect(
            TemporalSettings(address=config.temporal_address, task_queue=config.task_queue),
            codec=config.codec_settings(),
        ),
        config.task_queue,
        pii_hash_key=config.pii_hash_key.encode(),
    )
    rng = random.Random()  # noqa: S311 - sample data
    stamp = datetime.now(SAO_PAULO).strftime("%Y%m%d-%H%M%S")
    loans: list[tuple[Sample, LoanRequest]] = []
    async with httpx.AsyncClient(base_url=config.sandbox_url, timeout=10.0) as sandbox:
        for sample in SAMPLES:
            cpf = sample_cpf(sample.first_digit, rng)
            scenario = _scenario(sample)
            if scenario:
                (await sandbox.put(f"/_sandbox/scenarios/{cpf}", json=scenario)).raise_for_status()
            request = sample_request(sample, cpf=cpf, stamp=stamp, documents_dir=config.data_dir / "documents")
            await service.start(request)
            loans.append((sample, request))
    print("\nsample loans started (request key → what to expect):", flush=True)
    for sample, request in loans:
        print(f"  {request.request_key:<44} {sample.expect}", flush=True)
    print("\nfollowing them (the run command signs for the borrowers) ...", flush=True)
    signed: set[str] = set()
    reported: dict[str, str] = {}
    deadline = time.monotonic() + settle_seconds
    waiting_on_operators = {"ted-refusal", "ddb-wait"}
    while time.monotonic() < deadline:
        settled = True
        for sample, request in loans:
            state = await service.state(request.request_key)
            if sample.sign and state.stage == Stage.AWAITING_SIGNATURE and request.request_key not in signed:
                await service.submit_signature(request.request_key, signature_now())
                signed.add(request.request_key)
            line = _line(sample, state)
            if reported.get(request.request_key) != line:
                reported[request.request_key] = line
                print(line, flush=True)
            settled &= state.closed or sample.name in waiting_on_operators
        if settled:
            break
        await asyncio.sleep(1.0)
