"""The codec server as a remote codec: encode and decode over HTTP with a bearer token.

What an operator's machine uses instead of the codec keys (``CODEC_REMOTE_URL``): it holds only the
operator's SSO access token, and the codec server decides what that token may do (decode: read
pensioners' data; encode: write what a loan acts on, with the operator's name sealed into it). The
same endpoints the Go and TypeScript remote codecs call (``contract/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

TIMEOUT_SECONDS = 30.0


class CodecServerRefused(RuntimeError):
    """The codec server said no (401: no valid token; 403: not in the group for this operation)."""

    def __init__(self, operation: str, status: int, error: str) -> None:
        why = {
            401: "no valid token: sign in again (CODEC_REMOTE_TOKEN or CODEC_REMOTE_TOKEN_FILE)",
            403: f"your SSO groups do not allow you to {operation} (README, 'Who can do what')",
        }.get(status, error)
        super().__init__(f"the codec server refused to {operation}: {why}")
        self.operation = operation
        self.status = status


def token_from(*, token: str | None = None, token_file: Path | None = None) -> Callable[[], str]:
    """Where the bearer token comes from at each call: a file is read every time, so a token a login
    helper refreshes there is picked up without restarting."""
    if token_file is not None:
        path = token_file
        return lambda: path.read_text().strip()
    fixed = (token or "").strip()
    return lambda: fixed


class RemotePayloadCodec(PayloadCodec):
    def __init__(
        self,
        url: str,
        token: Callable[[], str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._transport = transport
        self._timeout = timeout

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._call("encode", payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._call("decode", payloads)

    async def cpf_hash(self, cpf: str) -> str:
        """The keyed hash of a CPF (BorrowerCpfHash), from the codec server, which holds PII_HASH_KEY.
        Raises ValueError (its message never quotes the number) for an invalid CPF."""
        headers = {"Authorization": f"Bearer {self._token()}"}
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            answer = await client.post(f"{self.url}/cpf-hash", json={"cpf": cpf}, headers=headers)
        if answer.status_code in (401, 403):
            raise CodecServerRefused("find loans by CPF", answer.status_code, answer.text[:200])
        if answer.status_code == 400:
            raise ValueError(answer.json().get("message") or "invalid CPF")
        if answer.status_code == 404:
            raise LookupError("the codec server has no PII_HASH_KEY: loans cannot be found by CPF")
        answer.raise_for_status()
        return str(answer.json()["cpf_hash"])

    async def _call(self, operation: str, payloads: Sequence[Payload]) -> list[Payload]:
        if not payloads:
            return []
        body = json_format.MessageToJson(Payloads(payloads=list(payloads)))
        headers = {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json"}
        # A client per call: the SDK may call the codec from more than one event loop.
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            answer = await client.post(f"{self.url}/{operation}", content=body, headers=headers)
        if answer.status_code in (401, 403):
            raise CodecServerRefused(operation, answer.status_code, answer.text[:200])
        answer.raise_for_status()
        return list(json_format.Parse(answer.content, Payloads()).payloads)
