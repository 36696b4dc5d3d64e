"""What both providers' HTTP clients share: one pooled connection per process with explicit timeouts,
JSON request bodies, one log line per call (the method, the path, the status and the time — never a
body: bodies carry CPFs, names and accounts), and answers parsed into models.

How each provider authenticates a request, and what its refusals mean, stay in its own client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar, Self, TypedDict, TypeVar, Unpack

import httpx
from pydantic import BaseModel

from activities.qitech.errors import ProviderUnavailable
from activities.wire import decode, encode

M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0)


class HttpOptions(TypedDict, total=False):
    """How a client talks HTTP: its timeouts, a transport (tests, the sandboxes), extra headers."""

    timeout: httpx.Timeout
    transport: httpx.AsyncBaseTransport | None
    headers: dict[str, str] | None


class ProviderHttp:
    """One instance per process (it pools connections). Subclasses name their log line and logger,
    and may read an answer's bytes their provider's way (:meth:`_read`)."""

    label: ClassVar[str] = "provider"
    log: ClassVar[logging.Logger] = logging.getLogger(__name__)

    def __init__(self, base_url: str, **options: Unpack[HttpOptions]) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=options.get("timeout", DEFAULT_TIMEOUT),
            transport=options.get("transport"),
            headers=options.get("headers"),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @staticmethod
    def _json(body: BaseModel | None) -> tuple[dict[str, str], bytes | None]:
        """The headers and bytes of a JSON request (no body: none sent)."""
        headers = {"Accept": "application/json"}
        if body is None:
            return headers, None
        headers["Content-Type"] = "application/json"
        return headers, encode(body)

    def _answered(self, method: str, path: str, response: httpx.Response, started: float) -> None:
        self.log.info(
            "%s %s %s -> %s in %.0f ms",
            self.label,
            method,
            path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )

    def _read(self, content: bytes) -> Any:
        return decode(content)

    @staticmethod
    def _unreadable(path: str, error: ValueError) -> str:
        return f"unreadable answer from {path}: {str(error)[:200]}"

    def _parse(self, response: httpx.Response, model: type[M], path: str, cut: Callable[[Any], Any] | None = None) -> M:
        """``cut``: what of the answer's JSON the caller reads, applied before the model validates it."""
        try:
            body = self._read(response.content)
            return model.model_validate(body if cut is None else cut(body))
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            # A 2xx we cannot read is the provider's bug or a contract change: retryable (a fixed
            # deployment may answer the next try), bounded by the caller's retry policy.
            raise ProviderUnavailable(self._unreadable(path, error), path=path) from None
