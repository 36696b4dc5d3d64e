"""Async client for the provider's endpoints (paths and methods from seed 001; bodies from 004).

Every request is signed as the provider publishes it (docs.qitech.com.br/documentation/primeiros_passos/
teste_de_autenticacao/teste_de_autenticacao_v2; .../troca_de_chaves): the ``API-CLIENT-KEY`` header and an
``AUTHORIZATION`` header holding a bare ES512 JWT (the lender's P-521 key, whose public half is
registered with the provider) over the MD5 of the exact body bytes sent, a UTC timestamp, the method
and the URI — signed afresh for each attempt. There is no token endpoint: seed 000's "one token per
environment" is Dataprev's own API, which the provider calls, not the lender. An answer the provider
sends signed (``{"encoded_body": <JWT>}``) is verified with its public key and read as its claims.
Explicit timeouts. Every call either returns a parsed model or raises a :mod:`activities.qitech.errors`
exception the activities translate for Temporal. Nothing here logs a body: bodies carry CPFs, names
and accounts.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Unpack

import httpx
import jwt
from pydantic import BaseModel, SecretStr

from activities.provider_http import HttpOptions, M, ProviderHttp
from activities.qitech import webhook_v2
from activities.qitech.errors import (
    SUSPENDED_BACKOFF_SECONDS,
    SUSPENDED_MARKERS,
    TIMED_OUT,
    UNREACHABLE,
    ProviderAuthError,
    ProviderBusinessError,
    ProviderError,
    ProviderSuspended,
    ProviderUnavailable,
    refused_by_status,
)
from activities.qitech.models.consultation import (
    BalanceRequest,
    BalanceRequestCreated,
    BenefitsRequest,
    BenefitsRequestCreated,
)
from activities.qitech.models.debt import (
    AttachedDocuments,
    BalanceRequestConfirmation,
    ChangeDisbursementDate,
    CollateralCorrection,
    CollateralView,
    CreditOperationView,
    DebtAnswer,
    DebtIssuanceRequest,
    DisbursementDateChanged,
    DocumentUploaded,
    Recalculate,
    SignatureEvidence,
)
from activities.qitech.models.notifications import MAX_PAGES, PAGE_PARAMETER, NotificationEvent, NotificationEvents
from activities.qitech.models.portability import (
    CreditOperationAnswer,
    CtcParticipants,
    InstallmentReduction,
    LegSignature,
    OriginContractQuery,
    OriginContractRequestCreated,
    ProposalAnswer,
    ProposalRequest,
)
from activities.qitech.models.simulation import DebtSimulationRequest, SimulationResult
from activities.qitech.portability_enumerators import CreditOperationLeg
from activities.wire import decode

log = logging.getLogger(__name__)


class Paths:
    """Endpoint paths (seed 001 prints them; 004 omits them). One place to change if they move."""

    UPLOAD = "/upload"  # seed 001 §1: "utilizar a GUID retornada no endpoint /upload"
    BENEFITS_REQUEST = "/social_security/benefits_request"
    BALANCE_REQUEST = "/social_security/balance_request"
    DEBT_SIMULATION = "/debt_simulation"
    DEBT = "/debt"

    @staticmethod
    def attached_document(debt_key: str, related_party_key: str) -> str:
        return f"/debt/{debt_key}/related_party/{related_party_key}/attached_document"

    @staticmethod
    def debt(debt_key: str, action: str) -> str:
        """A debt's resource below ``/debt/{debt_key}/``: one of the actions below."""
        return f"/debt/{debt_key}/{action}"

    SIGNED = "signed"
    COLLATERAL = "collateral"
    CANCEL_PERMANENTLY = "cancel_permanently"
    CHANGE_DISBURSEMENT_DATE = "change_disbursement_date"
    # Seed 004 §7 says to "send a request in the format below" and prints none: assumed path.
    BALANCE_REQUEST_CONFIRMATION = "collateral/balance_request_confirmation"
    RECALCULATE = "recalculate"  # below credit_operation, not debt

    @staticmethod
    def credit_operation(debt_key: str, action: str = "") -> str:
        # Published: docs.qitech.com.br/documentation/emissao_de_divida/consulta_por_credit_operation_key
        # (the debt itself) and its ``recalculate``.
        path = f"/v2/credit_operation/{debt_key}"
        return f"{path}/{action}" if action else path

    @staticmethod
    def credit_operation_by_requester_key(requester_identifier_key: str) -> str:
        return f"/v2/credit_operation/requester_identifier_key/{requester_identifier_key}"  # published

    NOTIFICATION_EVENTS = "/notification/events"  # published (resend API)

    @staticmethod
    def resend_callback(event_key: str, callback_key: str) -> str:
        # Published as a PATCH naming both keys; the path itself was not readable: assumed.
        return f"/notification/events/{event_key}/callbacks/{callback_key}"

    # Port+Refin (seed 002; provider.models.portability).
    CTC_PARTICIPANTS = "/v2/credit_transfer/participants"  # seed 002 §9
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/proposta
    PROPOSAL = "/v2/credit_transfer/proposal"

    @staticmethod
    def proposal(proposal_key: str, leg: CreditOperationLeg | None = None, action: str = "") -> str:
        """The proposal (read with GET, cancelled with DELETE: the proposta page says it is fetched, a
        lender's public integration deletes it here; the path itself is assumed), one of its legs (seed
        002 §13: PUT .../portability_credit_operation lowers the installment), or a leg's action."""
        path = f"{Paths.PROPOSAL}/{proposal_key}"
        if leg is not None:
            path = f"{path}/{leg.value}"
        return f"{path}/{action}" if action else path

    # Seed 002 §10 names the path parameter (credit-operation-type), not the path; this one is what a
    # lender's public integration calls: assumed.
    LEG_COLLATERAL = "collateral"
    # No page we could read prints it; a lender's public integration signs here: assumed.
    LEG_SIGNATURE = "signature"

    @staticmethod
    def portability_origin_contract(credit_operation_key: str) -> str:
        return f"/social_security/reservation/external_key/{credit_operation_key}/portability_origin_contract"  # §12


@dataclass(frozen=True)
class ProviderCall:
    """One call, for metrics: no body, no key (``endpoint`` is the path's template). ``status`` is the
    HTTP status, or ``timeout`` / ``unreachable`` for a call that got no answer (alerted on too)."""

    method: str
    endpoint: str
    status: int | str
    code: str | None
    seconds: float


CallObserver = Callable[[ProviderCall], None]

_KEY_SEGMENT = re.compile(r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|/\d{6,}")


def endpoint_of(path: str) -> str:
    """The path with its keys (UUIDs, long numbers) as ``{key}``: a bounded set of metric labels."""
    return _KEY_SEGMENT.sub("/{key}", path.split("?", 1)[0])


@dataclass(frozen=True)
class Credentials:
    """What the provider knows this lender by: the integration's API client key, the lender's ES512
    private key (P-521, PEM), and the provider's public key, which verifies what it sends signed."""

    api_client_key: str
    private_key: SecretStr
    provider_public_key: str | None = None


EMPTY_BODY = b"{}"
"""What a request without a body (GET, DELETE, a bodiless POST) hashes. The page's text says the MD5 of
an "empty payload"; its sample code, in every language it offers for certification, turns a missing
body into ``{}`` and hashes that. The code is what the provider's servers are tested against, and "an
empty JSON object" reads both ways: ``{}``. One place to change it (README, assumptions)."""

AUTH_REFUSALS = frozenset({"GDF000014", "GDF000003", "GDF000018"})
"""The provider's answers to a request it cannot authenticate (possiveis_erros): a signature it cannot
verify or an endpoint not enabled (401), a missing API-CLIENT-KEY (400), an unknown one (404)."""


class Signer:
    """The published request signature, made for each attempt (a retry is signed again, never reused)."""

    def __init__(self, credentials: Credentials) -> None:
        # Missing keys are refused at each call, not here: production settings fail closed on them at
        # start-up, and a development worker on the published defaults must still start and poll.
        self._credentials = credentials

    def headers(self, method: str, uri: str, body: bytes) -> dict[str, str]:
        if not self._credentials.api_client_key or not self._credentials.private_key.get_secret_value():
            raise ProviderAuthError(
                "no API client key or signing key configured for the provider (PROVIDER_API_CLIENT_KEY, "
                "PROVIDER_SIGNING_KEY)",
                path=uri,
            )
        return webhook_v2.signed_headers(
            body or EMPTY_BODY,
            method=method,
            uri=uri,
            private_key=webhook_v2.pem(self._credentials.private_key.get_secret_value()),
            api_client_key=self._credentials.api_client_key,
        )


class SignedAnswerUnverified(ValueError):
    pass


def read_answer(content: bytes, provider_public_key: str | None) -> Any:
    """An answer's JSON; an answer the provider signed (``{"encoded_body": <JWT>}``, the key exchange page:
    requests and responses are signed) verified with its public key and read as its claims."""
    body = decode(content)
    if isinstance(body, dict) and set(body) == {"encoded_body"} and isinstance(body["encoded_body"], str):
        if not provider_public_key:
            raise SignedAnswerUnverified("a signed answer, and no PROVIDER_PUBLIC_KEY to verify it")
        try:
            return jwt.decode(body["encoded_body"], webhook_v2.pem(provider_public_key), algorithms=["ES512"])
        except jwt.PyJWTError as error:
            raise SignedAnswerUnverified(f"a signed answer that does not verify: {type(error).__name__}") from None
    return body


def schedule_ends(body: Any) -> Any:
    """A simulation's or an issuance's answer with each disbursement option's installments cut to the
    first and the last, before the models validate it: all a loan reads of a schedule is the
    installment value (the first's amount) and the last due date (mapping.priced), and the
    provider's schedule of 84 installments per option was most of the answer's parsing. An
    installment in between is neither read nor validated."""
    data = body.get("data") if isinstance(body, dict) else None
    options = data.get("disbursement_options") if isinstance(data, dict) else None
    for option in options if isinstance(options, list) else ():
        installments = option.get("installments") if isinstance(option, dict) else None
        if isinstance(installments, list) and len(installments) > 2:
            option["installments"] = [installments[0], installments[-1]]
    return body


def _error_fields(response: httpx.Response, provider_public_key: str | None) -> tuple[str | None, str | None]:
    try:
        body = read_answer(response.content, provider_public_key)
    except ValueError:
        return None, response.text[:300] or None
    if isinstance(body, dict):
        code = body.get("code")
        description = body.get("description") or body.get("title") or body.get("message")
        return (str(code) if code is not None else None), (str(description) if description else None)
    return None, None


def classify(response: httpx.Response, path: str, provider_public_key: str | None = None) -> ProviderError | None:
    """The error an answer means, or None for a success."""
    status = response.status_code
    if status < 300:
        return None
    text = response.text
    if any(marker in text for marker in SUSPENDED_MARKERS):
        return ProviderSuspended(
            "Dataprev gateway suspended (AM 303001): retry after 30 s",
            status=status,
            code="AM 303001",
            description="Runtime Error [State: SUSPENDED]",
            retry_after=SUSPENDED_BACKOFF_SECONDS,
            path=path,
        )
    code, description = _error_fields(response, provider_public_key)
    if code in AUTH_REFUSALS:
        return ProviderAuthError(
            f"provider could not authenticate the request ({status} {code}) on {path}",
            status=status,
            code=code,
            description=description,
            path=path,
        )
    by_status = refused_by_status(status, response.headers, path, code=code, description=description)
    return by_status or ProviderBusinessError(
        f"provider refused {path}: {code or status} {description or ''}".strip(),
        status=status,
        code=code,
        description=description,
        path=path,
    )


Delivered = Callable[[], Awaitable[None]]
"""Told that a request went out in full (its body handed to the connection), before any answer."""


def _when_delivered(delivered: Delivered) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """httpcore's ``trace`` extension, calling ``delivered`` once the request body is sent (HTTP/1.1 or
    HTTP/2): from then on the provider may act on it, whatever becomes of the answer."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            await delivered()

    return trace


class ProviderClient(ProviderHttp):
    """One instance per process (it pools connections)."""

    log: ClassVar[logging.Logger] = log

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        observe: CallObserver | None = None,
        **options: Unpack[HttpOptions],
    ) -> None:
        super().__init__(base_url, **options)
        self._signer = Signer(credentials)
        self._provider_key = credentials.provider_public_key
        self._observe = observe

    # ------------------------------------------------------------ plumbing

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        files: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        params: dict[str, str] | None = None,
        on_delivered: Delivered | None = None,
    ) -> httpx.Response:
        headers, content = self._json(body)
        if idempotency_key:
            # The provider does not document an idempotency header; the sandbox honours it and it is
            # harmless elsewhere. Issuance is protected by requester_identifier_key regardless.
            headers["Idempotency-Key"] = idempotency_key
        request = self._http.build_request(method, path, content=content, files=files, headers=headers, params=params)
        # Signed over the exact bytes that go out (a multipart upload included) and the path with its
        # query as sent; a retry of the activity signs again, with a fresh timestamp.
        signed = request.read()
        request.headers.update(self._signer.headers(method, request.url.raw_path.decode(), signed))
        if on_delivered is not None:
            request.extensions["trace"] = _when_delivered(on_delivered)
        started = time.perf_counter()
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException as error:
            self._unanswered(method, path, TIMED_OUT, started)
            raise ProviderUnavailable(
                f"timeout on {method} {path}: {type(error).__name__}", path=path, unanswered=TIMED_OUT
            ) from None
        except httpx.TransportError as error:
            self._unanswered(method, path, UNREACHABLE, started)
            raise ProviderUnavailable(
                f"cannot reach provider on {path}: {type(error).__name__}", path=path, unanswered=UNREACHABLE
            ) from None
        self._answered(method, path, response, started)
        refused = classify(response, path, self._provider_key)
        if self._observe is not None:
            self._observe(
                ProviderCall(
                    method=method,
                    endpoint=endpoint_of(path),
                    status=response.status_code,
                    code=refused.code if refused is not None else None,
                    seconds=time.perf_counter() - started,
                )
            )
        if refused is not None:
            raise refused
        return response

    def _unanswered(self, method: str, path: str, why: str, started: float) -> None:
        if self._observe is not None:
            elapsed = time.perf_counter() - started
            self._observe(ProviderCall(method, endpoint_of(path), status=why, code=None, seconds=elapsed))

    def _read(self, content: bytes) -> Any:
        return read_answer(content, self._provider_key)

    async def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
        cut: Callable[[Any], Any] | None = None,
    ) -> M:
        response = await self._send(method, path, body=body, idempotency_key=idempotency_key)
        return self._parse(response, model, path, cut)

    # ------------------------------------------------------------ endpoints

    async def upload_document(
        self, content: bytes, *, filename: str, content_type: str, idempotency_key: str
    ) -> DocumentUploaded:
        response = await self._send(
            "POST", Paths.UPLOAD, files={"file": (filename, content, content_type)}, idempotency_key=idempotency_key
        )
        return self._parse(response, DocumentUploaded, Paths.UPLOAD)

    async def request_benefits(self, request: BenefitsRequest, *, idempotency_key: str) -> BenefitsRequestCreated:
        return await self._call(
            "POST", Paths.BENEFITS_REQUEST, BenefitsRequestCreated, body=request, idempotency_key=idempotency_key
        )

    async def request_balance(self, request: BalanceRequest, *, idempotency_key: str) -> BalanceRequestCreated:
        return await self._call(
            "POST", Paths.BALANCE_REQUEST, BalanceRequestCreated, body=request, idempotency_key=idempotency_key
        )

    async def simulate(self, request: DebtSimulationRequest) -> SimulationResult:
        """Each option's schedule cut to its first and last installments (:func:`schedule_ends`)."""
        return await self._call("POST", Paths.DEBT_SIMULATION, SimulationResult, body=request, cut=schedule_ends)

    async def issue_debt(self, request: DebtIssuanceRequest) -> DebtAnswer:
        """Each option's schedule cut to its first and last installments (:func:`schedule_ends`)."""
        return await self._call(
            "POST",
            Paths.DEBT,
            DebtAnswer,
            body=request,
            idempotency_key=request.requester_identifier_key,
            cut=schedule_ends,
        )

    async def attach_documents(
        self,
        debt_key: str,
        related_party_key: str,
        documents: AttachedDocuments,
        *,
        on_delivered: Delivered | None = None,
    ) -> None:
        """``on_delivered`` is awaited once the request has gone out in full, before any answer: nothing
        published reads a debt's documents back, so a caller that must not attach twice records there
        that the provider has the request."""
        await self._send(
            "POST", Paths.attached_document(debt_key, related_party_key), body=documents, on_delivered=on_delivered
        )

    async def sign(self, debt_key: str, evidence: SignatureEvidence) -> DebtAnswer:
        return await self._call("POST", Paths.debt(debt_key, Paths.SIGNED), DebtAnswer, body=evidence)

    async def get_collateral(self, debt_key: str) -> CollateralView:
        return await self._call("GET", Paths.debt(debt_key, Paths.COLLATERAL), CollateralView)

    async def correct_collateral(self, debt_key: str, correction: CollateralCorrection) -> None:
        await self._send("PATCH", Paths.debt(debt_key, Paths.COLLATERAL), body=correction)

    async def cancel_permanently(self, debt_key: str) -> None:
        await self._send("POST", Paths.debt(debt_key, Paths.CANCEL_PERMANENTLY))

    async def change_disbursement_date(self, debt_key: str, request: ChangeDisbursementDate) -> DisbursementDateChanged:
        return await self._call(
            "POST", Paths.debt(debt_key, Paths.CHANGE_DISBURSEMENT_DATE), DisbursementDateChanged, body=request
        )

    async def recalculate(self, debt_key: str, request: Recalculate) -> DebtAnswer:
        return await self._call("POST", Paths.credit_operation(debt_key, Paths.RECALCULATE), DebtAnswer, body=request)

    async def confirm_balance_request(self, debt_key: str, request: BalanceRequestConfirmation) -> None:
        await self._send("POST", Paths.debt(debt_key, Paths.BALANCE_REQUEST_CONFIRMATION), body=request)

    async def credit_operation(self, requester_identifier_key: str) -> CreditOperationView | None:
        """The debt this key created, as the provider holds it; None when it created none."""
        path = Paths.credit_operation_by_requester_key(requester_identifier_key)
        try:
            return await self._call("GET", path, CreditOperationView)
        except ProviderBusinessError as refused:
            if refused.status == 404:
                return None
            raise

    async def credit_operation_by_key(self, debt_key: str) -> CreditOperationView:
        """The debt as the provider holds it now (what a retried change reads before it is made again)."""
        return await self._call("GET", Paths.credit_operation(debt_key), CreditOperationView)

    async def notification_events(
        self,
        *,
        start: datetime,
        end: datetime,
        callback_status: str | None = None,
        origin_key: str | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> list[NotificationEvent]:
        """Every event the provider sent within ``start``..``end`` (at most 14 days apart), read page after
        page (``on_page`` hears each page's number: an activity heartbeats). It stops at an empty page, a
        page shorter than ``rows_per_page``, a page of nothing new (a provider ignoring the page parameter)
        or ``MAX_PAGES``; each event once, in the provider's order."""
        params = {
            "start_datetime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_datetime": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if callback_status:
            params["callback_status"] = callback_status
        if origin_key:
            params["origin_key"] = origin_key
        found: dict[str, NotificationEvent] = {}
        for page in range(1, MAX_PAGES + 1):
            response = await self._send("GET", Paths.NOTIFICATION_EVENTS, params={**params, PAGE_PARAMETER: str(page)})
            answer = self._parse(response, NotificationEvents, Paths.NOTIFICATION_EVENTS)
            if on_page is not None:
                on_page(page)
            new = [event for event in answer.data if event.event_key not in found]
            found.update((event.event_key, event) for event in new)
            rows = answer.pagination.rows_per_page if answer.pagination else None
            if not new or (rows and len(answer.data) < rows):
                if answer.data and not new:
                    log.warning("the resend API answered page %d with events already read: listing ends there", page)
                return list(found.values())
        log.warning("the resend API listing was cut at %d pages (%d events)", MAX_PAGES, len(found))
        return list(found.values())

    async def resend_callback(self, event_key: str, callback_key: str) -> None:
        """Ask the provider to deliver one event's callback again (to the gateway, as any webhook)."""
        await self._send("PATCH", Paths.resend_callback(event_key, callback_key))

    # ------------------------------------------------------------ Port+Refin (seed 002)

    async def ctc_participants(self) -> CtcParticipants:
        """The banks a contract can be brought from (CTC/CIP participants, seed 002 §9)."""
        return await self._call("GET", Paths.CTC_PARTICIPANTS, CtcParticipants)

    async def create_proposal(self, request: ProposalRequest, *, idempotency_key: str) -> ProposalAnswer:
        """Create the portability (+ troco refinancing) proposal. The provider publishes no requester
        key for proposals: the idempotency key is a header, honoured by the sandbox."""
        return await self._call("POST", Paths.PROPOSAL, ProposalAnswer, body=request, idempotency_key=idempotency_key)

    async def proposal(self, proposal_key: str) -> ProposalAnswer:
        """The proposal and its legs as the provider holds them now (for a loan that heard nothing)."""
        return await self._call("GET", Paths.proposal(proposal_key), ProposalAnswer)

    async def cancel_proposal(self, proposal_key: str) -> None:
        await self._send("DELETE", Paths.proposal(proposal_key))

    async def sign_leg(
        self, proposal_key: str, leg: CreditOperationLeg, signature: LegSignature
    ) -> CreditOperationAnswer:
        return await self._call(
            "POST", Paths.proposal(proposal_key, leg, Paths.LEG_SIGNATURE), CreditOperationAnswer, body=signature
        )

    async def leg_collateral(self, proposal_key: str, leg: CreditOperationLeg) -> CollateralView:
        """A leg's averbação: the last Dataprev answer and when it came (seed 002 §10)."""
        return await self._call("GET", Paths.proposal(proposal_key, leg, Paths.LEG_COLLATERAL), CollateralView)

    async def reduce_portability_installment(
        self, proposal_key: str, reduction: InstallmentReduction
    ) -> CreditOperationAnswer:
        """A smaller installment for the portability leg (seed 002 §13): a new CCB, to be signed again."""
        path = Paths.proposal(proposal_key, CreditOperationLeg.PORTABILITY)
        return await self._call("PUT", path, CreditOperationAnswer, body=reduction)

    async def query_origin_contract(
        self, credit_operation_key: str, query: OriginContractQuery, *, idempotency_key: str
    ) -> OriginContractRequestCreated:
        """Ask Dataprev what the origin bank released (seed 002 §12); the answer comes by webhook."""
        return await self._call(
            "POST",
            Paths.portability_origin_contract(credit_operation_key),
            OriginContractRequestCreated,
            body=query,
            idempotency_key=idempotency_key,
        )
