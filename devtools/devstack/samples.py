"""Sample loans for the run command: one per product variant and sandbox scenario, each followed to its
documented final state, so every path shows in the Web UI (filter by ``LoanProduct``).

The sandbox decides by the CPF's first digit as the provider's Mocks (Sandbox) page says
(docs.qitech.com.br/documentation/guides/INSS/mocks-sandbox): 1 and 4 full margin, 3 and 8 a reduced or
zero card margin, 2 Dataprev's D1 on the benefit data; 0, 5, 6, 7, 9 are no mocks (mock_error). The
averbação by first digit is the older manual's (1 succeeds, 2 AN, 3 IR). The other samples use the
sandbox's per-CPF scenarios: averbação codes, teimosinha, refused payments, the 90-day DDB block, the CPF's
existing operations (refinancing), margins. The run command plays the formalization front end (it
signs when a loan waits for the signature) and, where a sample says so, the operator (a correction,
an installment reduction, a reapresentação to a new account).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from temporalio.client import Client

from devtools.devstack.stack import StackConfig
from devtools.devstack.told import describe, wait_for_endings
from devtools.sandbox.scenarios import benefit_number_for
from domain.calendar import SAO_PAULO
from domain.loan import (
    ChangeApproval,
    CollateralFix,
    Documents,
    InstallmentReduction,
    LoanRequest,
    ProviderId,
    Reapresentacao,
    SignatureSubmission,
)
from runtime.codec.aes import AesGcmCodec
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from starter.api import LoanService
from starter.client import LoanActionRefused
from workflows.loan.routing import ProviderRouting
from workflows.loan.rules import LoanPolicy
from workflows.loan.state import LoanState, Stage


@dataclass(frozen=True)
class SampleRun:
    """What one run of a sample knows: its CPF, its documents' folder, and keys made up for it."""

    cpf: str
    folder: Path
    operation_key: str = field(default_factory=lambda: str(uuid.uuid4()))


Operator = Callable[[LoanService, LoanRequest, LoanState], Awaitable[str | None]]


@dataclass(frozen=True)
class Sample:
    name: str
    first_digit: int
    expect: str
    scenario: dict[str, Any] | Callable[[SampleRun], dict[str, Any]] | None = None
    sign: bool = True
    disbursement_in_days: int = 1
    limit_days: int = 5
    request: Callable[[dict[str, Any], SampleRun], None] | None = None
    """Changes to the request body the sample needs (product, accounts, representative, ...)."""
    operator: Operator | None = None
    """What the run command does as the operator, if anything (returns what it did)."""
    settles_in: Stage | None = None
    """A stage the sample legitimately waits in (for an operator, or for days) instead of closing."""
    outcome: str = "completed"
    """Its documented end: a status (completed, rejected, canceled) or the stage it settles in."""
    reason: str | None = None
    """How its ending's reason starts, where the end names one (e.g. the provider's cancel reason)."""
    provider: str | None = None
    """Who issues it (None: the routing's default, the first provider)."""
    portability: dict[str, Any] | None = None
    """A portability's scenario at the sandbox (``/_sandbox/portability/scenarios/{cpf}``); set, the
    sample is a portability (its request gets the origin contract, and a troco unless it says not)."""
    lender: tuple[str, ...] | None = None
    """The providers of the lender this sample plays (None: the run command's routing, both). A
    lender with the second provider only has no IN100 consultation (``workflows.loan.routing.consults``)."""


def _today() -> date:
    return datetime.now(SAO_PAULO).date()


# ------------------------------------------------------------------ what the samples change


async def _formalize_at_link(service: LoanService, request: LoanRequest, state: LoanState) -> str | None:
    """The borrower opens the provider's link_form and formalizes (the sandbox's page takes a POST)."""
    link = state.formalization_link
    if state.stage != Stage.AWAITING_SIGNATURE or not link or link in _FORMALIZED:
        return None
    async with httpx.AsyncClient(timeout=10.0) as http:
        (await http.post(link)).raise_for_status()
    _FORMALIZED.add(link)
    return "formalized at the provider's link"


_FORMALIZED: set[str] = set()


NEW_ACCOUNT = {"bank_code": "237", "branch_number": "1234", "account_number": "765432", "account_digit": "1"}


REFINANCED_BALANCE = "3250.00"
"""What the sandbox's refinanced operation costs to pay off: the provider's figure, not the caller's."""
EXPECTED_PAYOFF = "3000.00"
"""What the refinancing samples' caller expects it to cost (shown beside the provider's)."""


def _refinancing(body: dict[str, Any], run: SampleRun) -> None:
    body["product"] = "refinancing"
    body["refinanced_operations"] = [
        {"operation_key": run.operation_key, "installment_value": "120.00", "payoff_amount": EXPECTED_PAYOFF}
    ]


def _without_consultation(body: dict[str, Any], run: SampleRun) -> None:
    """What a loan without an IN100 consultation must say itself: the benefit's assistance type."""
    body["benefit"] = {**body["benefit"], "assistance_type": "retirement_by_age"}


def _minimum_wage_increase(body: dict[str, Any], run: SampleRun) -> None:
    body["product"] = "minimum_wage_increase"


def _minimum_wage_increase_refinancing(body: dict[str, Any], run: SampleRun) -> None:
    body["product"] = "minimum_wage_increase"
    body["refinanced_operations"] = [
        {"operation_key": run.operation_key, "installment_value": "100.00", "payoff_amount": "2500.00"}
    ]


def with_legal_representative(body: dict[str, Any], run: SampleRun) -> None:
    body["legal_representative"] = {
        "name": "Curadora de Exemplo",
        "cpf": sample_cpf(5, random.Random(run.cpf)),  # noqa: S311 - sample data
        "birth_date": "1975-05-20",
        "mother_name": "Mãe da Curadora",
        "email": "curadora@example.com",
        "phone": {"number": "991294043", "area_code": "11"},
        "address": {
            "street": "Av. Leonor",
            "number": "1",
            "city": "Guarulhos",
            "state": "SP",
            "postal_code": "07025200",
        },
        "judicial_authorization": {"court_case_number": "0001234-56.2026.8.26.0224", "issued_on": "2026-10-01"},
    }


def _rebates_and_split(body: dict[str, Any], run: SampleRun) -> None:
    body["disbursement_accounts"] = [
        {**body["disbursement_accounts"][0], "percentage": "70"},
        {**NEW_ACCOUNT, "percentage": "30"},
    ]
    body["rebates"] = [
        {
            "amount": "20",
            "amount_type": "percentage",
            "fee_type": "spread",
            "account": {
                "name": "Correspondente Exemplo Ltda",
                "cnpj": "18533555000164",
                "bank_code": "329",
                "branch_number": "0001",
                "account_number": "4290001",
                "account_digit": "0",
            },
        }
    ]


def _paying_account(body: dict[str, Any], run: SampleRun) -> None:
    body["disbursement_accounts"] = []  # the account the benefit is paid into (seeds 000, 003)


def _term_as_pdf(body: dict[str, Any], run: SampleRun) -> None:
    term = body["authorization_term"]
    del term["raw_text"]
    term["document"] = {"uri": pdfa(run.folder / "authorization_term.pdf")}


MAKER, CHECKER = "sample-maker", "sample-checker"


def as_operator(service: LoanService, name: str) -> LoanService:
    """The same desk as a named operator. Here the stack's own codec keys seal the name (development);
    in production the codec server seals it from the operator's SSO token."""
    converter = service.client.data_converter
    codec = converter.payload_codec
    if not isinstance(codec, AesGcmCodec):
        raise LoanActionRefused("a sample operator needs the stack's codec keys to seal their name")
    config = service.client.config()
    sealed = codec.sealing({"name": name, "subject": name, "via": "development"})
    config["data_converter"] = replace(converter, payload_codec=sealed)
    return LoanService(Client(**config), service.task_queue, routing=service.routing)


async def _change_account(service: LoanService, request: LoanRequest, proposed: LoanState) -> str:
    """Maker-checker: a second operator approves the change the first one proposed."""
    pending = proposed.pending_change
    if pending is None:
        return ""
    approval = ChangeApproval(change_id=pending.id, note="sample checker")
    await as_operator(service, CHECKER).approve_change(request.request_key, approval)
    return f" (proposed by {MAKER}, approved by {CHECKER})"


async def _correct_account(service: LoanService, request: LoanRequest, state: LoanState) -> str | None:
    if state.stage != Stage.AWAITING_COLLATERAL_CORRECTION:
        return None
    fix = CollateralFix.model_validate({"disbursement_account": NEW_ACCOUNT, "note": "sample operator"})
    proposed = await as_operator(service, MAKER).correct_collateral(request.request_key, fix)
    return "corrected the disbursement account" + await _change_account(service, request, proposed)


async def _reduce_installment(service: LoanService, request: LoanRequest, state: LoanState) -> str | None:
    if state.stage != Stage.AWAITING_INSTALLMENT_REDUCTION or state.installment_value is None:
        return None
    reduced = (state.installment_value * Decimal("0.8")).quantize(Decimal("0.01"))
    await service.reduce_installment(request.request_key, InstallmentReduction(installment_value=reduced))
    return f"reduced the installment to {reduced}"


async def _reapresentar_to_a_new_account(service: LoanService, request: LoanRequest, state: LoanState) -> str | None:
    if state.stage != Stage.AWAITING_REAPRESENTACAO:
        return None
    again = Reapresentacao.model_validate(
        {"disbursement_date": _today().isoformat(), "disbursement_account": NEW_ACCOUNT, "note": "sample"}
    )
    proposed = await as_operator(service, MAKER).reapresentar(request.request_key, again)
    return "presented the payment again, to a new account" + await _change_account(service, request, proposed)


ORIGIN_BANK_ISPB = "00000000"  # a CTC participant at the sandbox (Banco do Brasil)


def portability_with_troco(body: dict[str, Any], run: SampleRun, *, troco: bool = True) -> None:
    """Bring an 84-installment loan from the origin bank at 1.66 % a month; with a troco, refinance it
    for R$ 250.00 a month at 1.79 %, the difference paid to the borrower's account."""
    body["product"] = "portability"
    body["portability"] = {
        "origin_bank_ispb": ORIGIN_BANK_ISPB,
        "origin_contract_number": f"ORIG-{run.operation_key[:8]}",
        "last_due_balance": "8000.00",
        "troco": {"installment_value": "250.00", "monthly_interest_rate": "0.0179"} if troco else None,
    }


def portability_without_troco(body: dict[str, Any], run: SampleRun) -> None:
    portability_with_troco(body, run, troco=False)


async def _reduce_portability_installment(service: LoanService, request: LoanRequest, state: LoanState) -> str | None:
    """The origin bank released less than the new installment: lower it to what fits."""
    facts = state.portability
    if facts is None or facts.reduction_offer is None or state.stage != Stage.AWAITING_INSTALLMENT_REDUCTION:
        return None
    await service.reduce_installment(request.request_key, InstallmentReduction(installment_value=facts.reduction_offer))
    return f"reduced the portability installment to {facts.reduction_offer}"


def _existing_operation(installment: str, balance: str) -> Callable[[SampleRun], dict[str, Any]]:
    def scenario(run: SampleRun) -> dict[str, Any]:
        return {"operations": [{"key": run.operation_key, "installment": installment, "balance": balance}]}

    return scenario


def _days_ago(days: int) -> str:
    return (_today() - timedelta(days=days)).isoformat()


SAMPLES = (
    Sample("completes", 1, "completed: consultation, averbação and disbursement succeed"),
    # The Mocks page's first digits (its figures: margemDisponivel 431.3; the card/RCC margin R$ 75,90 or 0).
    Sample(
        "dataprev-d1",
        2,
        "rejected: the benefit data answers Dataprev's D1 (inconsistent_balance_benefit_data), the page's digit 2",
        sign=False,
        outcome="rejected",
        reason="balance request failed: inconsistent_balance_benefit_data",
    ),
    Sample("full-margin-4", 4, "completed: the page's digit 4, full margin as digit 1", reason="disbursed"),
    Sample(
        "card-margin-reduced",
        3,
        "completed: the page's digit 3, card (RCC) margin R$ 75,90, loans margin R$ 431,30 (averbação let through)",
        scenario={"averbacao": ["success"]},
        reason="disbursed",
    ),
    Sample("card-margin-zero", 8, "completed: the page's digit 8, card (RCC) margin zero", reason="disbursed"),
    Sample(
        "other-digit",
        7,
        "rejected: mock_error, no mock for this digit (its benefits list, as the older manual answers)",
        sign=False,
        outcome="rejected",
        reason="benefits request failed: mock_error",
    ),
    Sample(
        "averbacao-an",
        2,
        "canceled: averbação refused with AN invalid_disbursement_account (cancel), no correction",
        scenario={"consultation": "success"},
        outcome="canceled",
    ),
    Sample(
        "averbacao-ir",
        3,
        "canceled: averbação refused with IR operation_not_allowed_IR (cancel), no correction",
        outcome="canceled",
    ),
    Sample(
        "an-corrected",
        2,
        "completed: AN invalid_disbursement_account, the operator corrects the account, averbação succeeds",
        # A correction in time: the sandbox cancels after its grace (a second in the tests) otherwise.
        scenario={"consultation": "success", "cancel_grace_seconds": 60},
        operator=_correct_account,
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
        "completed: a refused TED, presented again to a new account by the operator",
        scenario={"disbursement": ["ted_refusal", "success"]},
        operator=_reapresentar_to_a_new_account,
    ),
    Sample(
        "ddb-wait",
        1,
        "waits for the margin release: blocked at concession (DDB 30 days ago), scheduled past DDB + 90",
        scenario={"ddb": _days_ago(30)},
        disbursement_in_days=62,
        settles_in=Stage.MARGIN_RELEASE,
        outcome="margin_release",
    ),
    Sample(
        "concession-block-completes",
        1,
        "completed: blocked at concession (DDB 30 days ago), scheduled past DDB + 90; the sandbox plays the "
        "90 days passing (IF teimosinha, then the block lifts) and the averbação ends the wait",
        scenario={"ddb": _days_ago(30), "block_lifts_after_attempts": 2},
        disbursement_in_days=62,
    ),
    Sample(
        "concession-block-lifted",
        1,
        "completed: blocked at concession past DDB + 90; averbação IF (teimosinha) until the holder unblocks",
        scenario={
            "ddb": _days_ago(95),
            "benefit_status": "blocked",
            "block_type": "blocked_by_granting_process",
            "averbacao": ["benefit_blocked_by_granting_process", "benefit_blocked_by_granting_process", "success"],
        },
    ),
    Sample(
        "beneficiary-block",
        1,
        "completed: blocked by the beneficiary (a stated risk); IE teimosinha until unblocked",
        scenario={
            "benefit_status": "blocked",
            "block_type": "blocked_by_beneficiary",
            "averbacao": ["benefit_blocked_by_beneficiary", "success"],
        },
    ),
    Sample(
        "refinancing",
        1,
        "completed: refinancing of an existing operation (its installment credited, its balance paid off: "
        "the provider's 3,250.00, where the caller expected 3,000.00)",
        scenario=_existing_operation("120.00", REFINANCED_BALANCE),
        request=_refinancing,
    ),
    Sample(
        "refinancing-releases-nothing",
        1,
        "rejected: the provider's payoff of the refinanced operation takes all the new loan disburses",
        scenario=_existing_operation("120.00", "900000.00"),
        request=_refinancing,
        sign=False,
        outcome="rejected",
    ),
    Sample(
        "minimum-wage-increase",
        1,
        "completed: minimum-wage increase over today's margin; Dataprev waits, the operator reduces it",
        scenario={"available_total_balance": "750.00", "loans_margin": "205.00"},
        request=_minimum_wage_increase,
        operator=_reduce_installment,
    ),
    Sample(
        "minimum-wage-increase-refinancing",
        1,
        "completed: minimum-wage increase that also refinances (the freed installment covers the margin)",
        scenario=lambda run: {
            "loans_margin": "160.00",
            **_existing_operation("100.00", "2500.00")(run),
        },
        request=_minimum_wage_increase_refinancing,
    ),
    Sample(
        "legal-representative",
        1,
        "completed: signed by the legal representative (his documents, his signer role)",
        request=with_legal_representative,
    ),
    Sample(
        "rebates-split-accounts",
        1,
        "completed: 70/30 split between two accounts, a 20 % rebate of the spread",
        request=_rebates_and_split,
    ),
    Sample(
        "paying-account",
        1,
        "completed: no account given, disbursed into the account the benefit is paid into",
        request=_paying_account,
    ),
    Sample(
        "term-pdf",
        1,
        "completed: the IN100 term given as a signed PDF/A, checked and uploaded by the service",
        request=_term_as_pdf,
    ),
    # Anuência (docs.qitech.com.br/documentation/guides/INSS/pending_confirmation, since 19/05/2026): after
    # the averbação the beneficiary confirms the loan in Meu INSS within 5 calendar days, or it is canceled.
    # The provider's notices 3 hours apart come 2 s apart here, so the wait shows in the Web UI.
    Sample(
        "anuencia-confirmed",
        1,
        "completed: averbação, then pending_confirmation (notified twice) until the beneficiary confirms",
        scenario={"anuencia": "confirmed", "anuencia_every_seconds": 2.0},
        reason="disbursed",
    ),
    Sample(
        "anuencia-denied",
        1,
        "canceled: the beneficiary refuses in Meu INSS (social_security_confirmation_denied_by_beneficiary)",
        scenario={"anuencia": "denied", "anuencia_every_seconds": 2.0},
        outcome="canceled",
        reason="social_security_confirmation_denied_by_beneficiary",
    ),
    Sample(
        "anuencia-expired",
        1,
        "canceled: not confirmed within the 5 calendar days (social_security_confirmation_expired)",
        scenario={"anuencia": "expired", "anuencia_every_seconds": 2.0},
        outcome="canceled",
        reason="social_security_confirmation_expired",
    ),
    # The second provider (seed 003): consulted through the first (IN100), created in one call, followed
    # by polling (LoanProvider = provider_b); its scenarios are set at the second sandbox.
    Sample(
        "provider-b-completes",
        1,
        "completed: second provider, operation created and followed by polling until PAGO",
        sign=False,
        provider="provider_b",
    ),
    Sample(
        "provider-b-only-lender",
        1,
        "completed: a lender with the second provider only — no IN100 consultation (IN100: false), the "
        "request's assistance type and account, created, followed by polling to PAGO",
        sign=False,
        provider="provider_b",
        lender=("provider_b",),
        request=_without_consultation,
    ),
    Sample(
        "provider-b-formalization",
        1,
        "completed: second provider, waits for the borrower to formalize at link_form (the run command does)",
        scenario={"outcome": "formalization"},
        sign=False,
        provider="provider_b",
        operator=_formalize_at_link,
    ),
    Sample(
        "provider-b-refused-field",
        1,
        "rejected: the second provider refuses the operation with LEG000041, naming the field",
        scenario={"refuse_field": "borrower.name"},
        sign=False,
        provider="provider_b",
        outcome="rejected",
    ),
    Sample(
        "provider-b-reproved",
        1,
        "canceled: the second provider reproves the operation (REPROVADO)",
        scenario={"outcome": "refused", "ends_after": 2},
        sign=False,
        provider="provider_b",
        outcome="canceled",
    ),
    # Portability + refinancing (Port+Refin, seed 002): one per scenario of the sandbox's flow.
    Sample(
        "portability-troco",
        1,
        "completed: CTC accepts, consent confirmed, origin bank paid off, both legs reserved, troco disbursed",
        request=portability_with_troco,
        portability={},
    ),
    Sample(
        "portability-ctc-rejected",
        1,
        "rejected: the CTC refuses the proposal (ECTC0023), the reason named",
        request=portability_with_troco,
        portability={"ctc_rejection": "ECTC0023"},
        sign=False,
        outcome="rejected",
    ),
    Sample(
        "portability-retained",
        1,
        "canceled: the origin bank retains the client (issuer_retention)",
        request=portability_with_troco,
        portability={"retention": "issuer_retention"},
        sign=False,
        outcome="canceled",
    ),
    Sample(
        "portability-consent-expired",
        1,
        "canceled: the beneficiary never confirms in Meu INSS (consent expired)",
        request=portability_with_troco,
        portability={"consent": "expired"},
        sign=False,
        outcome="canceled",
    ),
    Sample(
        "portability-teimosinha",
        1,
        "completed: the portability leg's averbação answers AN then IR (teimosinha in Port+Refin), then succeeds",
        request=portability_with_troco,
        portability={"portability_averbacao": ["invalid_disbursement_account", "operation_not_allowed_IR", "success"]},
    ),
    Sample(
        "portability-reduction",
        1,
        "completed: the origin bank releases less than expected (HW): the installment lowered, the new CCB signed",
        request=portability_without_troco,
        scenario={"loans_margin": "10.00"},
        portability={"released_installment": "150.00"},
    ),
    Sample(
        "portability-operator-reduction",
        1,
        "completed: far less released (HW): the operator lowers the installment (the run command acts as one)",
        request=portability_without_troco,
        scenario={"loans_margin": "10.00"},
        portability={"released_installment": "100.00"},
        operator=_reduce_portability_installment,
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


def pdfa(path: Path) -> str:
    """A one-page PDF declaring PDF/A-2 in its XMP metadata: the shape of a signed IN100 term."""
    path.parent.mkdir(parents=True, exist_ok=True)
    xmp = (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        b'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>2</pdfaid:part>'
        b"<pdfaid:conformance>B</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>"
        b'<?xpacket end="w"?>'
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp + b"\nendstream",
    ]
    body, offsets = b"%PDF-1.7\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(body)
    return path.resolve().as_uri()


def sample_request(
    sample: Sample, *, cpf: str, stamp: str, documents_dir: Path, run: SampleRun | None = None
) -> LoanRequest:
    start = _today() + timedelta(days=sample.disbursement_in_days)
    key = f"sample-{stamp}-{sample.name}"
    folder = documents_dir / key
    run = run or SampleRun(cpf=cpf, folder=folder)
    documents = Documents.model_validate(
        {
            "identity_front": {"uri": _jpeg(folder / "identity_front.jpg", 30)},
            "identity_back": {"uri": _jpeg(folder / "identity_back.jpg", 60)},
            "selfie": {"uri": _jpeg(folder / "selfie.jpg", 90)},
        }
    )
    body: dict[str, Any] = {
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
        "disbursement_accounts": [
            {"bank_code": "001", "branch_number": "2874", "account_number": "57555", "account_digit": "0"}
        ],
        "authorization_term": {
            "signed_at": datetime.now(SAO_PAULO).isoformat(),
            "ip_address": "203.0.113.7",
            "session_id": f"session-{key}",
            "raw_text": "Autorizo o INSS/Dataprev a disponibilizar meus dados de benefício ao banco.",
        },
        "documents": documents.model_dump(mode="json"),
    }
    if sample.provider is not None:
        body["provider"] = sample.provider
    if sample.request is not None:
        sample.request(body, run)
    return LoanRequest.model_validate(body)


def signature_now() -> SignatureSubmission:
    return SignatureSubmission.model_validate(
        {
            "ip_address": "203.0.113.7",
            "signature_datetime": datetime.now(SAO_PAULO).isoformat(),
            "similarity_score": "0.97",
            "biometry_analysis_reference": "serpro",
        }
    )


POLLING_POLICY = LoanPolicy(poll_every=timedelta(seconds=2), poll_every_max=timedelta(seconds=5))
"""The second provider's samples ask every few seconds (production: every minute, backing off)."""


def sample_scenario(sample: Sample, run: SampleRun) -> dict[str, Any] | None:
    if sample.scenario is None:
        return None
    return sample.scenario(run) if callable(sample.scenario) else dict(sample.scenario)


@dataclass
class StartedSample:
    sample: Sample
    request: LoanRequest
    run: SampleRun
    actions: list[str] = field(default_factory=list)


async def start_sample(
    sample: Sample,
    service: LoanService,
    sandbox: httpx.AsyncClient,
    *,
    stamp: str,
    documents_dir: Path,
    sandbox_b: httpx.AsyncClient | None = None,
) -> StartedSample:
    """Set the sample's scenario at its provider's sandbox (for a fresh CPF) and start its loan."""
    cpf = sample_cpf(sample.first_digit, random.Random())  # noqa: S311 - sample data
    run = SampleRun(cpf=cpf, folder=documents_dir / f"sample-{stamp}-{sample.name}")
    scenario = sample_scenario(sample, run)
    if scenario:
        target = sandbox_b if sample.provider == "provider_b" and sandbox_b is not None else sandbox
        (await target.put(f"/_sandbox/scenarios/{cpf}", json=scenario)).raise_for_status()
    if sample.portability is not None:
        (await sandbox.put(f"/_sandbox/portability/scenarios/{cpf}", json=sample.portability)).raise_for_status()
    request = sample_request(sample, cpf=cpf, stamp=stamp, documents_dir=documents_dir, run=run)
    if sample.lender is not None:
        providers = frozenset(ProviderId(p) for p in sample.lender)
        service = service.with_routing(ProviderRouting(default=min(providers), providers=providers))
    await service.start(request, policy=POLLING_POLICY if sample.provider == "provider_b" else None)
    return StartedSample(sample, request, run)


async def step(service: LoanService, started: StartedSample, signed: set[str]) -> LoanState:
    """One look at a sample loan: sign when it waits for the signature, act as its operator if it has one."""
    key = started.request.request_key
    state = await service.state(key)
    # A portability's reduced installment is a new CCB: signed again (one signature per reduction).
    signature = f"{key}#{state.portability.reductions}" if state.portability is not None else key
    if started.sample.sign and state.stage == Stage.AWAITING_SIGNATURE and signature not in signed:
        await service.submit_signature(key, signature_now())
        signed.add(signature)
    elif started.sample.operator is not None and not state.closed:
        try:
            done = await started.sample.operator(service, started.request, state)
        except LoanActionRefused as refused:
            done = f"operator action refused: {refused}"
        if done:
            started.actions.append(done)
    return state


def settled(started: StartedSample, state: LoanState) -> bool:
    return state.closed or (started.sample.settles_in is not None and state.stage == started.sample.settles_in)


def reached(started: StartedSample, state: LoanState) -> bool:
    """The sample ended where it says it does (and for the reason it says, if it names one)."""
    if (state.status.value if state.closed else state.stage.value) != started.sample.outcome:
        return False
    expected = started.sample.reason
    return expected is None or (state.outcome_reason or "").startswith(expected)


async def follow(
    service: LoanService,
    loans: list[StartedSample],
    *,
    seconds: float,
    report: Callable[[StartedSample, LoanState], None],
    poll: float = 1.0,
) -> dict[str, LoanState]:
    """Follow the samples until each is settled (bounded): the last state of each, by request key."""
    signed: set[str] = set()
    last: dict[str, LoanState] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for started in loans:
            state = await step(service, started, signed)
            last[started.request.request_key] = state
            report(started, state)
        if all(settled(s, last[s.request.request_key]) for s in loans):
            break
        await asyncio.sleep(poll)
    return last


def _line(started: StartedSample, state: LoanState) -> str:
    what = state.status.value if state.closed else state.stage.value
    reason = f" — {state.outcome_reason}" if state.closed and state.outcome_reason else ""
    return f"  {started.sample.name:<36} {what}{reason}"


async def run_samples(config: StackConfig, *, settle_seconds: float = 240.0) -> None:
    service = LoanService(
        await connect(
            TemporalSettings(address=config.temporal_address, task_queue=config.task_queue),
            codec=config.codec_settings(),
        ),
        config.task_queue,
        pii_hash_key=config.pii_hash_key.encode(),
    )
    stamp = datetime.now(SAO_PAULO).strftime("%Y%m%d-%H%M%S")
    async with (
        httpx.AsyncClient(base_url=config.sandbox_url, timeout=10.0) as sandbox,
        httpx.AsyncClient(base_url=config.sandbox_b_url, timeout=10.0) as sandbox_b,
    ):
        loans = [
            await start_sample(
                sample, service, sandbox, stamp=stamp, documents_dir=config.data_dir / "documents", sandbox_b=sandbox_b
            )
            for sample in SAMPLES
        ]
    print("\nsample loans started (request key → what to expect):", flush=True)
    for started in loans:
        print(f"  {started.request.request_key:<56} {started.sample.expect}", flush=True)
    print("\nfollowing them (the run command signs for the borrowers, and acts as the operator) ...", flush=True)
    reported: dict[str, str] = {}

    def report(started: StartedSample, state: LoanState) -> None:
        line = _line(started, state)
        if reported.get(started.request.request_key) != line:
            reported[started.request.request_key] = line
            print(line, flush=True)

    last = await follow(service, loans, seconds=settle_seconds, report=report)
    ended = [s for s in loans if reached(s, last[s.request.request_key])]
    print(f"\n{len(ended)} of {len(loans)} samples reached their documented end.", flush=True)
    for started in loans:
        if started not in ended:
            print(f"  still going: {started.sample.name} (expected {started.sample.outcome})", flush=True)
    closed = [s.request.request_key for s in loans if last[s.request.request_key].closed]
    told = await wait_for_endings(config.sales_channel_url, closed)
    print(f"\nwhat the sales channel was told ({config.sales_channel_url}/events, in order per loan):", flush=True)
    for started in loans:
        events = told.get(started.request.request_key, [])
        print(f"  {started.sample.name:<36} {' → '.join(describe(e) for e in events) or '(nothing yet)'}", flush=True)
