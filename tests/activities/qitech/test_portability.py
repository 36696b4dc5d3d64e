"""The Port+Refin wire (seed 002): every JSON example of the seed is parsed without loss (answers,
webhooks) or produced field for field (requests); the seed's tables are ours; the flow's webhooks
parse typed and carry the key a loan routes them by; requests stay strict; the client calls the
seed's methods and paths."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.qitech import mapping
from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.mapping import LenderTerms
from activities.qitech.models.debt import CollateralView
from activities.qitech.models.portability import (
    CreditOperationAnswer,
    CtcParticipants,
    InstallmentReduction,
    OriginContractFailure,
    OriginContractQuery,
    OriginContractRequestCreated,
    OriginContractResult,
    PortabilityAuthorizationWebhook,
    PortabilityFinancial,
    PortabilityOriginContractWebhook,
    PortabilityProposalCollateralWebhook,
    ProposalCreditOperationWebhook,
    ProposalRequest,
    ProposalWebhook,
    RefinancingFinancial,
)
from activities.qitech.models.portability_webhooks import parse_port_refin_webhook
from activities.qitech.models.webhooks import CollateralWebhook, WebhookRejected, unwrap
from activities.qitech.portability_enumerators import (
    CreditOperationLeg,
    CtcRejectionReason,
    ProposalStatus,
    RetentionReason,
)
from activities.tolerant import Unknown, unknown_values
from activities.wire import decode, encode
from devtools.devstack.samples import (
    Sample,
    SampleRun,
    portability_with_troco,
    sample_request,
    with_legal_representative,
)
from domain.calendar import SAO_PAULO
from domain.inss import PORT_REFIN_AVERBACAO_ERRORS, LenderAction, averbacao_action
from domain.loan import LoanRequest
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from tests.activities.qitech.test_seed_examples import _assert_no_loss, _python
from tests.conftest import lender_credentials
from tests.seed_examples import SEEDS, SeedExample, examples
from tests.support.builders import PURCHASER_CNPJ
from tests.support.data import make_cpf
from tests.support.portability import proposal_request
from tests.workflows.loan.test_activities_once import NoRoutes
from workflows.loan.activity_models import ProposalKeyInput

SEED_002 = {e.name: e for e in examples("002")}


def _example(name: str) -> SeedExample:
    example = SEED_002[name]
    assert example.error is None, f"{name} is not JSON after the documented repairs: {example.error}"
    return example


def _lossless(model: BaseModel, example: SeedExample) -> None:
    _assert_no_loss(unwrap(example.obj), _python(model))
    assert type(model).model_validate_json(model.model_dump_json()) == model  # survives Temporal's JSON


# ------------------------------------------------------------------ every example of seed 002

HANDLED = {
    "002:10": "§9 CTC participant",
    "002:28": "§10 last response, success",
    "002:55": "§10 last response, errors",
    "002:88": "§11 portability leg collateral webhook",
    "002:109": "§11 refinancing leg collateral webhook",
    "002:140": "§12 origin-contract query (request)",
    "002:148": "§12 origin-contract query answer",
    "002:162": "§12 origin-contract webhook, success",
    "002:193": "§12 origin-contract webhook, failure",
    "002:212": "§13 installment reduction (request)",
    "002:217": "§13 installment reduction answer",
}


def test_every_json_example_of_seed_002_is_one_we_test() -> None:
    # If the seed gained or lost an example, this list (and the tests below) must follow.
    assert set(SEED_002) == set(HANDLED)


def test_ctc_participants_parse() -> None:
    example = _example("002:10")  # the seed prints the list's one item (its brackets stand apart)
    participants = CtcParticipants.model_validate([example.obj])
    [bank] = participants.root
    _lossless(bank, example)
    assert participants.by_ispb("<BASE DO CNPJ DO BANCO>") is bank


@pytest.mark.parametrize("name", ["002:28", "002:55"])
def test_last_response_of_a_leg_parses(name: str) -> None:
    example = _example(name)
    view = CollateralView.model_validate(example.obj)
    _lossless(view, example)
    assert view.collateral_data and view.collateral_data.last_response
    assert view.collateral_data.benefit_number == "1976703155"
    if name == "002:28":
        [item] = view.collateral_data.last_response.success
        assert (view.collateral_constituted, view.collateral_data.status) == (True, "reserved")
        assert (item.enumerator, item.reservation_method) == ("succesfully_included", "portability")
    else:
        methods = [item.reservation_method for item in view.collateral_data.last_response.errors]
        assert view.collateral_constituted is False and view.collateral_data.status == "pending_reservation"
        assert methods == ["portability", "new_credit"]


def test_portability_leg_collateral_webhook_parses_typed() -> None:
    example = _example("002:88")
    webhook = parse_port_refin_webhook(example.obj)
    assert isinstance(webhook, PortabilityProposalCollateralWebhook)
    _lossless(webhook, example)
    assert webhook.key == "<PROPOSAL-KEY>"  # routed by its proposal
    assert webhook.data.credit_operation_type == "portability"
    assert webhook.data.credit_operation_key == "<CREDIT-OPERATION-KEY>"
    assert webhook.data.collateral_constituted is False
    assert webhook.data.status == "pending_reservation"
    assert webhook.data.error_enumerators == ["consignable_margin_excceded"]
    assert webhook.occurred_at == datetime_sp(2022, 11, 24, 15, 42, 12)


def test_refinancing_leg_collateral_webhook_is_the_new_credit_one() -> None:
    example = _example("002:109")
    webhook = parse_port_refin_webhook(example.obj)
    assert isinstance(webhook, CollateralWebhook)
    _lossless(webhook, example)
    assert webhook.key == "<CREDIT-OPERATION-KEY>"
    assert webhook.data.collateral_data and webhook.data.collateral_data.reservation_method == "refinancing"
    assert webhook.data.error_enumerators == ["consignable_margin_excceded"]


def test_origin_contract_query_is_produced_field_for_field() -> None:
    example = _example("002:140")
    query = OriginContractQuery(portability_number="202402070000298096242")
    assert decode(encode(query)) == example.obj


def test_origin_contract_query_answer_parses() -> None:
    example = _example("002:148")
    created = OriginContractRequestCreated.model_validate(example.obj)
    _lossless(created, example)
    assert created.origin_contract_request_key == "9bb68c89-4b88-400d-9359-99ad8d42a69e"
    assert created.status == "pending_search"
    assert [e.status for e in created.status_events] == ["pending_search"]


def test_origin_contract_success_webhook_parses_typed() -> None:
    example = _example("002:162")
    webhook = parse_port_refin_webhook(example.obj)
    assert isinstance(webhook, PortabilityOriginContractWebhook)
    _lossless(webhook, example)
    assert webhook.key == "25e93655-4713-488b-8800-7ac4fddf745f" and webhook.status == "success"
    result = webhook.data
    assert isinstance(result, OriginContractResult)
    # A JSON number past float precision: kept as the exact digits sent, never rounded through a float.
    assert result.portability_number == "9223372036854776000"
    assert result.portability_status == "open" and not isinstance(result.portability_status, Unknown)
    assert result.benefit_number == "1544326820"
    assert result.portability_start_date == date(2024, 2, 22)
    [deleted] = result.deleted_contracts
    assert deleted.origin_bank and (deleted.origin_bank.bank_code, deleted.origin_bank.name) == ("752", "CETELEM-BNP")
    assert deleted.contract_number == "22-844817807/20"
    assert deleted.last_installment_paid == 84
    assert deleted.exclusion_date == date(2024, 2, 22)  # printed DDMMYYYY
    assert deleted.period_amount == Decimal("165.73")
    assert result.released_installments == Decimal("165.73")
    assert list(unknown_values(webhook)) == []


def test_origin_contract_failure_webhook_parses_typed() -> None:
    example = _example("002:193")
    webhook = parse_port_refin_webhook(example.obj)
    assert isinstance(webhook, PortabilityOriginContractWebhook)
    _lossless(webhook, example)
    assert webhook.status == "failure"
    assert isinstance(webhook.data, OriginContractFailure)
    assert (webhook.data.enumerator, webhook.data.description) == ("invalid_bank_code", "Invalid bank code")


def test_installment_reduction_is_produced_field_for_field() -> None:
    example = _example("002:212")
    assert decode(encode(InstallmentReduction(installment_face_value=Decimal("382.18")))) == example.obj


def test_installment_reduction_answer_parses_typed() -> None:
    example = _example("002:217")
    answer = CreditOperationAnswer.model_validate(example.obj)
    _lossless(answer, example)
    assert answer.credit_operation_key == "7aa77bca-c724-4c1a-bfae-9b1b7bd81ab2"
    assert answer.credit_operation_status == "waiting_signature"
    assert answer.document_key == "045a8f35-6170-4112-8d83-29a753d0c78e"
    assert answer.fine_configuration and answer.fine_configuration.contract_fine_rate == Decimal("0.02")
    [account] = answer.disbursement_accounts
    assert (account.ispb, account.account_branch, account.account_number) == ("32402502", "0001", "94134")
    [option] = answer.disbursement_options
    assert option.issue_amount == Decimal("1007.03") and option.disbursed_issue_amount == Decimal("1000.0")
    assert [i.total_amount for i in option.installments] == [Decimal("382.17"), Decimal("382.17"), Decimal("382.16")]
    assert answer.installment_value == Decimal("382.17")
    assert answer.final_disbursement_amount == Decimal("997.87") and answer.collateral_is_constituted is False


def datetime_sp(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SAO_PAULO)


# ------------------------------------------------------------------ the seed's tables


def _seed_table(after: str, before: str) -> list[list[str]]:
    """The rows of the markdown table between two headings of seed 002 (header and rule skipped)."""
    text = next(SEEDS.glob("002_*.txt")).read_text(encoding="utf-8")
    section = text[text.index(after) : text.index(before)]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_retention_reasons_are_the_seeds_sixteen() -> None:
    rows = _seed_table("Enumeradores Retention Reason", "Tabela de retorno de erros Dataprev")
    assert len(rows) == 16
    assert {reason.value: reason.description for reason in RetentionReason} == dict(rows)


def test_port_refin_averbacao_table_is_seed_002s() -> None:
    rows = _seed_table("Tabela de retorno de erros Dataprev - averbação", "Todas as taxas")
    actions = {"Teimosinha": LenderAction.RETRY, "Confirmar averbação": LenderAction.CONFIRM}
    expected = [(code, enumerator, description, actions[action]) for code, enumerator, description, action in rows]
    assert [(r.code, r.enumerator, r.description, r.action) for r in PORT_REFIN_AVERBACAO_ERRORS] == expected
    # AN and IR are teimosinha here (seed 002), where new credit cancels them (seed 004).
    for enumerator in ("invalid_disbursement_account", "operation_not_allowed_IR"):
        assert averbacao_action(enumerator, portability=True) == LenderAction.RETRY
        assert averbacao_action(enumerator) == LenderAction.CANCEL


def test_retention_reasons_parse_open() -> None:
    def retained(reason: str) -> ProposalWebhook:
        webhook = parse_port_refin_webhook(
            {
                "webhook_type": "credit_transfer.proposal",
                "proposal_key": "p-1",
                "proposal_status": "retained",
                "event_datetime": "2024-02-26T21:36:22",
                "data": {"retained_reason": {"reason": reason, "description": "d"}},
            }
        )
        assert isinstance(webhook, ProposalWebhook) and webhook.data.retained_reason
        return webhook

    for reason in RetentionReason:
        parsed = retained(reason.value).data.retained_reason
        assert parsed and parsed.reason is reason
    brand_new = retained("a_reason_from_next_year")
    assert list(unknown_values(brand_new)) == [("data.retained_reason.reason", "a_reason_from_next_year")]


# ------------------------------------------------------------------ the new webhook types


def _proposal_webhook(status: str, **data: Any) -> dict[str, Any]:
    return {
        "webhook_type": "credit_transfer.proposal",
        "proposal_key": "8f1c2b7e-0d7c-4a51-9b2e-6b1b2f2c9d10",
        "proposal_status": status,
        "event_datetime": "2023-07-20T09:30:24",
        **({"data": data} if data else {}),
    }


def test_proposal_webhooks_parse_and_route_by_their_proposal() -> None:
    rejected = parse_port_refin_webhook(
        _proposal_webhook("rejected", error={"code": "ECTC0023", "reason": "in progress"})
    )
    assert isinstance(rejected, ProposalWebhook) and rejected.data.error
    assert rejected.proposal_status is ProposalStatus.REJECTED
    assert rejected.data.error.rejection_reason is CtcRejectionReason.PORTABILITY_IN_PROGRESS
    assert rejected.key == "8f1c2b7e-0d7c-4a51-9b2e-6b1b2f2c9d10"
    assert rejected.occurred_at == datetime_sp(2023, 7, 20, 9, 30, 24)
    assert ProposalWebhook.model_validate_json(rejected.model_dump_json()) == rejected  # survives Temporal's JSON

    accepted = parse_port_refin_webhook(
        _proposal_webhook(
            "accepted",
            final_due_balance=Decimal("5000.00"),
            portability_number="202307130000267328685",
            original_contract={"installment_number": 80, "installment_face_value": Decimal("250.00")},
        )
    )
    assert isinstance(accepted, ProposalWebhook) and accepted.data.original_contract
    assert accepted.data.final_due_balance == Decimal("5000.00")
    assert accepted.data.original_contract.installment_face_value == Decimal("250.00")

    canceled = parse_port_refin_webhook(_proposal_webhook("canceled"))  # no data at all
    assert isinstance(canceled, ProposalWebhook) and canceled.data.error is None

    unknown = parse_port_refin_webhook(_proposal_webhook("pending_something_new"))
    assert isinstance(unknown, ProposalWebhook) and isinstance(unknown.proposal_status, Unknown)

    missing = _proposal_webhook("paid")
    del missing["proposal_key"]
    with pytest.raises(WebhookRejected) as rejected_body:
        parse_port_refin_webhook(missing)
    assert rejected_body.value.reason == "missing_field"


def test_consent_and_leg_webhooks_parse() -> None:
    consent = parse_port_refin_webhook(
        {
            "webhook_type": "credit_transfer.portability_authorization",
            "portability_authorization_key": "a-1",
            "proposal_key": "p-1",
            "portability_authorization_status": "awaiting_confirmation",
            "event_datetime": "2024-02-26T21:36:22",
            "data": {
                "portability_number": "202402070000298096242",
                "requested_at": "2024-02-26T21:36:00",
                "expiration_date": "2024-03-02",
                "confirmation_date": None,
            },
        }
    )
    assert isinstance(consent, PortabilityAuthorizationWebhook) and consent.key == "p-1"
    assert consent.portability_authorization_status == "awaiting_confirmation"
    assert consent.data.expiration_date == date(2024, 3, 2) and consent.data.confirmation_date is None

    leg = parse_port_refin_webhook(
        {
            "webhook_type": "credit_transfer.proposal.credit_operation",
            "proposal_key": "p-1",
            "event_datetime": "2024-02-26T21:36:22",
            "data": {
                "credit_operation_type": "refinancing",
                "credit_operation_key": "k",
                "credit_operation_status": "disbursed",
            },
        }
    )
    assert isinstance(leg, ProposalCreditOperationWebhook) and leg.key == "p-1"
    assert (leg.data.credit_operation_type, leg.data.credit_operation_status) == ("refinancing", "disbursed")


# ------------------------------------------------------------------ requests stay strict


def test_a_proposal_request_has_the_field_names_a_lender_sends() -> None:
    cpf = make_cpf(1)
    wire = decode(encode(proposal_request(cpf)))
    assert wire["proposal_type"] == "inss"
    assert set(wire) == {
        "proposal_type",
        "purchaser_document_number",
        "borrower",
        "collaterals",
        "portability_credit_operation",
        "refinancing_credit_operation",
        "origin_contract",
    }
    assert set(wire["origin_contract"]) == {"ispb", "contract_number", "last_due_balance"}
    assert wire["origin_contract"]["last_due_balance"] == Decimal("5000.00")  # a number, exact
    assert set(wire["portability_credit_operation"]["financial"]) == {
        "installment_face_value",
        "number_of_installments",
        "first_due_date",
    }
    refinancing = wire["refinancing_credit_operation"]
    assert set(refinancing) == {"financial", "disbursement_bank_account"}
    assert refinancing["disbursement_bank_account"]["transfer_method"] == "ted"
    pure = decode(encode(proposal_request(cpf, troco_installment=None)))
    assert "refinancing_credit_operation" not in pure


def test_proposal_requests_refuse_what_the_provider_could_not_price() -> None:
    with pytest.raises(ValidationError, match="exactly 1"):
        PortabilityFinancial.model_validate(
            {
                "first_due_date": "2026-01-10",
                "number_of_installments": 84,
                "installment_face_value": "120.00",
                "monthly_interest_rate": "0.0166",
            }
        )
    with pytest.raises(ValidationError, match="exactly 2"):
        RefinancingFinancial.model_validate(
            {
                "first_due_date": "2026-01-10",
                "number_of_installments": 84,
                "limit_days_to_disburse": 7,
                "disbursed_amount": "1",
            }
        )
    body = proposal_request(make_cpf(1)).model_dump(mode="json")
    body["refinancing_credit_operation"]["disbursement_bank_account"]["document_number"] = make_cpf(2)
    with pytest.raises(ValidationError, match="borrower's"):
        ProposalRequest.model_validate(body)
    body = proposal_request(make_cpf(1)).model_dump(mode="json")
    body["origin_contract"]["cnpj"] = "60746948000112"
    with pytest.raises(ValidationError, match="Extra inputs"):
        ProposalRequest.model_validate(body)
    with pytest.raises(ValidationError):
        OriginContractQuery(portability_number="2024020700002980962")  # 19 digits: not a NU


# ------------------------------------------------------------------ the client's methods and paths


async def test_client_calls_the_seeds_methods_and_paths() -> None:
    calls: list[tuple[str, str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        body = json.loads(request.content) if request.content else None
        calls.append((request.method, request.url.path, body))
        examples_by_path: dict[str, Any] = {
            "/v2/credit_transfer/participants": [SEED_002["002:10"].obj],
            "/social_security/reservation/external_key/K/portability_origin_contract": SEED_002["002:148"].obj,
            "/v2/credit_transfer/proposal/P/portability_credit_operation": SEED_002["002:217"].obj,
            "/v2/credit_transfer/proposal/P/refinancing_credit_operation/collateral": SEED_002["002:55"].obj,
        }
        return httpx.Response(200, content=encode(examples_by_path[request.url.path]))

    credentials = lender_credentials()
    async with ProviderClient("http://provider.test", credentials, transport=httpx.MockTransport(answer)) as client:
        participants = await client.ctc_participants()
        created = await client.query_origin_contract(
            "K", OriginContractQuery(portability_number="202402070000298096242"), idempotency_key="i"
        )
        reduced = await client.reduce_portability_installment(
            "P", InstallmentReduction(installment_face_value=Decimal("382.18"))
        )
        view = await client.leg_collateral("P", CreditOperationLeg.REFINANCING)
    assert [(method, path) for method, path, _ in calls] == [
        ("GET", "/v2/credit_transfer/participants"),  # seed 002 §9
        ("POST", "/social_security/reservation/external_key/K/portability_origin_contract"),  # §12
        ("PUT", "/v2/credit_transfer/proposal/P/portability_credit_operation"),  # §13
        ("GET", "/v2/credit_transfer/proposal/P/refinancing_credit_operation/collateral"),  # §10 (path assumed)
    ]
    assert calls[1][2] == {"request_type": "portability_number", "portability_number": "202402070000298096242"}
    assert calls[2][2] == {"installment_face_value": 382.18}
    assert participants.root[0].ispb == "<BASE DO CNPJ DO BANCO>"
    assert created.origin_contract_request_key == "9bb68c89-4b88-400d-9359-99ad8d42a69e"
    assert reduced.credit_operation_status == "waiting_signature"
    assert view.collateral_constituted is False


def test_the_port_refin_parser_takes_only_the_flows_webhooks() -> None:
    with pytest.raises(WebhookRejected) as debt:
        parse_port_refin_webhook({"webhook_type": "debt", "key": "k", "status": "disbursed", "data": {}})
    assert debt.value.reason == "unknown_webhook_type"
    with pytest.raises(WebhookRejected) as not_an_object:
        parse_port_refin_webhook(["credit_transfer.proposal"])
    assert not_an_object.value.reason == "malformed"
    with pytest.raises(WebhookRejected) as bad_field:
        parse_port_refin_webhook({**_proposal_webhook("accepted"), "data": {"final_due_balance": "lots"}})
    assert bad_field.value.reason == "invalid_field" and "final_due_balance" in str(bad_field.value)
    # The flow's pending action (no valid balance request yet) is the new-credit webhook, by its leg.
    pending = parse_port_refin_webhook(
        {
            "webhook": {
                "key": "leg-1",
                "data": {"enumerator": "success_balance_request_not_found", "description": "d"},
                "status": "pending_requester_action",
                "webhook_type": "social_security_success_balance_request_not_found",
                "event_datetime": "2024-02-26T21:36:22",
            }
        }
    )
    assert pending.key == "leg-1"


# ------------------------------------------------------------------ canceling a proposal


def _cancel_refused_then_read(status: str) -> tuple[httpx.MockTransport, list[tuple[str, str]]]:
    """DELETE refused (as the provider refuses a proposal it cannot cancel); GET answers ``status``."""
    calls: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path))
        if request.method == "DELETE":
            refusal = {"title": "Bad Request", "description": "proposal cannot be canceled", "code": "CT000090"}
            return httpx.Response(400, json=refusal)
        return httpx.Response(200, content=encode({"proposal_key": "P", "proposal_status": status}))

    return httpx.MockTransport(answer), calls


async def _cancel(transport: httpx.MockTransport) -> None:
    async with ProviderClient("http://provider.test", lender_credentials(), transport=transport) as client:
        activities = LoanActivities(
            client, NoRoutes(), LenderTerms(purchaser_cnpj=PURCHASER_CNPJ), INSS_DEFAULT_PRODUCT
        )
        await ActivityEnvironment().run(activities.cancel_proposal, ProposalKeyInput(proposal_key="P"))


@pytest.mark.parametrize("status", ["canceled", "rejected", "retained"])
async def test_a_refused_cancel_of_a_proposal_the_provider_ended_is_done(status: str) -> None:
    # The provider ended it itself (the consent refused, the CTC, the origin bank): nothing to cancel.
    transport, calls = _cancel_refused_then_read(status)
    await _cancel(transport)
    assert calls == [("DELETE", "/v2/credit_transfer/proposal/P"), ("GET", "/v2/credit_transfer/proposal/P")]


@pytest.mark.parametrize("status", ["paid", "settlement_sent", "accepted", "something_new"])
async def test_a_refused_cancel_of_a_live_proposal_is_a_refusal_naming_its_status(status: str) -> None:
    transport, _ = _cancel_refused_then_read(status)
    with pytest.raises(ApplicationError) as refused:
        await _cancel(transport)
    assert refused.value.non_retryable
    assert f"the proposal is {status} at the provider" in str(refused.value)
    assert "CT000090" in str(refused.value.details)


# ------------------------------------------------------------------ the identity documents in the proposal

DOCUMENT_KEYS = {  # the keys the upload endpoint returned (the formalizacao page's own example)
    "document_identification": "2893fc74-88fd-4cc9-a5c6-8a63d9d00f41",
    "document_identification_back": "e881ddf4-bc9a-48e0-9555-cac979f65431",
    "selfie": "ca37979e-6f11-4465-bf3b-69cd8307549c",
}


def _portability_request(tmp_path: Path, *, represented: bool) -> LoanRequest:
    def changes(body: dict[str, Any], run: SampleRun) -> None:
        portability_with_troco(body, run)
        if represented:
            with_legal_representative(body, run)

    cpf = make_cpf(1)
    return sample_request(Sample("p", 1, "", request=changes), cpf=cpf, stamp="docs", documents_dir=tmp_path)


@pytest.mark.parametrize(("represented", "holder"), [(False, "borrower"), (True, "related_parties")])
def test_the_documents_keys_go_with_whoever_signs_the_proposal(tmp_path: Path, represented: bool, holder: str) -> None:
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/formalizacao: "dentro do campo
    # borrower ou dentro do objeto de related_parties correspondente ao representante legal".
    request = _portability_request(tmp_path, represented=represented)
    lender = LenderTerms(purchaser_cnpj=PURCHASER_CNPJ)
    wire = decode(encode(mapping.proposal_request(request, lender, "retirement_by_age", documents=DOCUMENT_KEYS)))
    carrier = wire["related_parties"][0] if represented else wire["borrower"]
    assert {k: carrier[k] for k in DOCUMENT_KEYS} == DOCUMENT_KEYS
    if represented:
        assert carrier["role_type"] == "issuer_legal_representative"
        assert not set(DOCUMENT_KEYS) & set(wire["borrower"])
    assert holder in wire


def test_a_proposal_refuses_documents_on_both_or_a_partial_set() -> None:
    body = proposal_request(make_cpf(1)).model_dump(mode="json")
    with pytest.raises(ValidationError, match="go together"):
        ProposalRequest.model_validate({**body, "borrower": {**body["borrower"], "selfie": DOCUMENT_KEYS["selfie"]}})
