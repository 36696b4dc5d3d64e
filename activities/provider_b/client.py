"""Async client for the second provider (seed 003).

Explicit timeouts; a bearer token from the login, used until it expires and renewed once (single
flight) when it has or when a call answers 401 — then the call is tried once more, and a second
401 is a :class:`ProviderAuthError`. Every call either returns a parsed model or raises a
``activities.qitech.errors`` exception (see :mod:`activities.provider_b.errors`). Nothing here logs a body: bodies carry
CPFs, names and accounts; a log line says the method, the path, the status and the time.

ASSUMPTIONS, each in :class:`Paths` (the one place to change them):

* login: seed 003 shows only ``Authorization: Bearer {TOKEN_DO_LOGIN}``. Assumed
  ``POST /inss/v1/login`` with ``{"username", "password"}`` answering ``{"access_token",
  "expires_in"}`` (see ``activities.provider_b.models.LoginAnswer`` for the spellings accepted);
* following an operation: ``GET /inss/v1/operation/{debt_key}`` (the seed: the debt_key "é
  utilizada para acompanhamento", no endpoint printed);
* the simulation: ``POST /inss/v1/operation/simulation`` (the seed: ``issue_amount`` "pode ser obtido
  na resposta da simulação"; no endpoint printed), its body and answer in
  ``activities.provider_b.models.SimulationRequest`` / ``SimulationAnswer``;
* finding the operations made for a CPF: ``GET /inss/v1/operation?document_number=`` — what a
  creation whose answer was lost looks up before it creates again (the seed shows no idempotency
  key).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Unpack

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from activities.provider_b.errors import OperationOutcomeUnknown, ProviderAuthError, ProviderUnavailable, classify
from activities.provider_b.models import (
    LoginAnswer,
    OperationCreated,
    OperationList,
    OperationRequest,
    OperationView,
    ProductTable,
    SimulationAnswer,
    SimulationRequest,
)
from activities.provider_http import HttpOptions, ProviderHttp
from activities.wire import decode


class Paths:
    """Endpoint paths. The seed prints ``OPERATION`` and ``PRODUCTS``; the others are assumed."""

    LOGIN = "/inss/v1/login"  # assumed (seed: "Bearer {TOKEN_DO_LOGIN}")
    OPERATION = "/inss/v1/operation"  # seed 003
    PRODUCTS = "/inss/v1/operation/tabela_produto"  # seed 003 observação 1
    SIMULATION = "/inss/v1/operation/simulation"  # assumed (seed: "a resposta da simulação", no path)

    @staticmethod
    def operation(debt_key: str) -> str:
        # Assumed: the seed says only that the debt_key is used to follow the operation.
        return f"/inss/v1/operation/{debt_key}"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: SecretStr


EXPIRY_SKEW = timedelta(seconds=5)
"""A token this close to its expiry counts as expired (clocks and the request's own flight time)."""

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before the request left: repeating it cannot duplicate anything."""


class _Token:
    """This process's bearer token: one login at a time (single flight), renewed when it expires
    or when the provider refuses it."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._lock = asyncio.Lock()
        self._value: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self.logins = 0

    def _usable(self, stale: str | None) -> bool:
        return self._value is not None and self._value != stale and datetime.now(UTC) < self._expires_at - EXPIRY_SKEW

    async def get(self, http: httpx.AsyncClient, *, stale: str | None = None) -> str:
        if self._usable(stale):
            assert self._value is not None
            return self._value
        async with self._lock:
            if not self._usable(stale):
                await self._login(http)
            assert self._value is not None
            return self._value

    async def _login(self, http: httpx.AsyncClient) -> None:
        body = {"username": self._credentials.username, "password": self._credentials.password.get_secret_value()}
        try:
            response = await http.post(Paths.LOGIN, json=body, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise ProviderUnavailable(f"timeout on {Paths.LOGIN}", path=Paths.LOGIN) from None
        except httpx.TransportError as error:
            raise ProviderUnavailable(
                f"cannot reach provider on {Paths.LOGIN}: {type(error).__name__}", path=Paths.LOGIN
            ) from None
        if response.status_code in (400, 401, 403, 422):
            raise ProviderAuthError("provider refused our credentials", status=response.status_code, path=Paths.LOGIN)
        refused = classify(response.status_code, response.content, response.headers, Paths.LOGIN)
        if refused is not None:
            raise refused
        try:
            answer = LoginAnswer.model_validate(decode(response.content))
        except (ValueError, ValidationError):
            raise ProviderUnavailable(f"unreadable answer from {Paths.LOGIN}", path=Paths.LOGIN) from None
        self.logins += 1
        self._value = answer.access_token
        self._expires_at = datetime.now(UTC) + timedelta(seconds=answer.expires_in)


class ProviderBClient(ProviderHttp):
    """One instance per process (it pools connections and holds the token)."""

    label = "provider_b"
    log: ClassVar[logging.Logger] = logging.getLogger(__name__)

    def __init__(self, base_url: str, credentials: Credentials, **options: Unpack[HttpOptions]) -> None:
        super().__init__(base_url, **options)
        self._token = _Token(credentials)

    @property
    def logins(self) -> int:
        """How many times this client logged in (tests, metrics)."""
        return self._token.logins

    # ------------------------------------------------------------ plumbing

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: BaseModel | None = None,
        creates: bool = False,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers, content = self._json(body)
        token = await self._token.get(self._http)
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            try:
                response = await self._http.request(method, path, content=content, headers=headers, params=params)
            except _NOT_SENT as error:
                raise ProviderUnavailable(
                    f"cannot reach provider on {method} {path}: {type(error).__name__}", path=path
                ) from None
            except httpx.TransportError as error:
                if creates:
                    raise OperationOutcomeUnknown(
                        f"no answer to {method} {path} ({type(error).__name__}): the operation may exist", path=path
                    ) from None
                raise ProviderUnavailable(f"no answer on {method} {path}: {type(error).__name__}", path=path) from None
            self._answered(method, path, response, started)
            if response.status_code == 401 and attempt == 1:
                # Expired or revoked early: one fresh token, one more try.
                token = await self._token.get(self._http, stale=token)
                continue
            if creates and response.status_code == 504:
                raise OperationOutcomeUnknown(
                    f"gateway timeout on {method} {path}: the operation may exist", status=504, path=path
                )
            refused = classify(response.status_code, response.content, response.headers, path)
            if refused is not None:
                raise refused
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _unreadable(path: str, error: ValueError) -> str:
        # The first error's location only, never pydantic's text (it quotes the body's values).
        first = error.errors()[0] if isinstance(error, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) if first else "body"
        return f"unreadable answer from {path} at {where}"

    # ------------------------------------------------------------ endpoints

    async def products(self) -> ProductTable:
        """``GET /inss/v1/operation/tabela_produto``: the products and their ``cod_tabela``."""
        response = await self._send("GET", Paths.PRODUCTS)
        return self._parse(response, ProductTable, Paths.PRODUCTS)

    async def simulate(self, request: SimulationRequest) -> SimulationAnswer:
        """The provider's own price of an operation (assumed :attr:`Paths.SIMULATION`): nothing is created."""
        response = await self._send("POST", Paths.SIMULATION, body=request)
        return self._parse(response, SimulationAnswer, Paths.SIMULATION)

    async def create_operation(self, request: OperationRequest) -> OperationCreated:
        """``POST /inss/v1/operation``. Raises :class:`OperationOutcomeUnknown` when the request went
        out and no answer came back; :class:`OperationRefused` (naming the field) on a 4xx."""
        response = await self._send("POST", Paths.OPERATION, body=request, creates=True)
        return self._parse(response, OperationCreated, Paths.OPERATION)

    async def products_text(self) -> str:
        """The product table as the provider answered it (for the store's cache)."""
        response = await self._send("GET", Paths.PRODUCTS)
        self._parse(response, ProductTable, Paths.PRODUCTS)  # refuse to cache what does not parse
        return response.text

    async def operations_for(self, document_number: str) -> list[OperationView]:
        """The operations created for a CPF (assumed lookup, :attr:`Paths.OPERATION` with a query)."""
        response = await self._send("GET", Paths.OPERATION, params={"document_number": document_number})
        return self._parse(response, OperationList, Paths.OPERATION).operations

    async def operation(self, debt_key: str) -> OperationView:
        """The operation's current status (assumed endpoint, :meth:`Paths.operation`)."""
        path = Paths.operation(debt_key)
        response = await self._send("GET", path)
        return self._parse(response, OperationView, path)
