"""The codec server: the HTTP endpoint the Temporal Web UI (and CLI) calls to decode payloads.

Only an authorized operator gets clear data. Every call carries ``Authorization: Bearer ...``:
our access token (CLI: ``temporal ... --codec-endpoint URL --codec-auth "Bearer TOKEN"``; other
services' remote codecs), or, when ``oidc`` is configured, the signed-in operator's OIDC access
token, which the Web UI passes with ``TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true``. The token in the
endpoint path (``/t/<token>``) is accepted only with ``allow_path_token`` (development: the local
dev server's UI sends no header); otherwise it is refused, since a token in a URL leaks into the
UI's settings, browser history and access logs. CORS answers only the UI's origin.

A valid SSO token says who the operator is; the groups claim says what they may do (``OperatorGroups``):
one group may decode (read pensioners' data), another encode (write what a loan acts on). A valid
token without the group is refused with 403. Our own token (``CODEC_SERVER_TOKEN``) is a service's,
and may do both.

What an SSO operator encodes carries their name sealed inside the encryption (``AesGcmCodec.sealing``):
the worker reads it as the command's verified operator, which is how a loan knows who acted. The name
is the token's ``name_claim`` (``preferred_username`` by default), beside its subject.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from runtime.bodies import BodyTooLarge, read_capped
from runtime.codec.aes import AesGcmCodec, UnknownKeyError
from runtime.codec.oidc import AccessTokenVerifier, OperatorGroups, claim

log = logging.getLogger("codec-server")

ALLOWED_HEADERS = "content-type, x-namespace, authorization"
MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request the server reads: a batch of payloads the UI or a CLI asks for (Temporal caps a
payload at 2 MiB and a gRPC message at 4 MiB). Checked while reading: a larger body is refused with 413
before it is held in memory."""
UNREADABLE = (json_format.ParseError, DecodeError, InvalidTag, UnknownKeyError, ValueError, TypeError, KeyError)
"""What garbage becomes on the way through: a bad JSON body, a ciphertext that does not authenticate,
a decrypted value that is not a payload. The request is bad (400), never the server (500)."""


def operator_seal(claims: dict[str, Any], name_claim: str) -> dict[str, str]:
    """What the codec server seals into an operator's payloads: who, as their verified token says."""
    subject = str(claims.get("sub") or "?")
    name = claim(claims, name_claim)
    return {
        "name": str(name) if isinstance(name, str) and name.strip() else subject,
        "subject": subject,
        "via": "sso",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def create_app(
    codec: AesGcmCodec,
    *,
    token: str,
    ui_origins: set[str],
    allow_path_token: bool = False,
    oidc: AccessTokenVerifier | None = None,
    groups: OperatorGroups | None = None,
    name_claim: str = "preferred_username",
    cpf_hash: Callable[[str], str] | None = None,
    max_body: int = MAX_BODY_BYTES,
) -> FastAPI:
    if len(token) < 16:
        raise ValueError("the codec server's access token must have at least 16 characters")
    app = FastAPI(title="Temporal codec server")

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin and origin in ui_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    # No groups configured: no SSO token may do anything (CodecSettings refuses that in production).
    access = groups or OperatorGroups(decode=None, encode=None)

    async def caller(request: Request, path_token: str | None) -> dict[str, Any] | None:
        """Who calls: ``{}`` for our own token (a service), an operator's verified claims, or None."""
        header = request.headers.get("authorization", "")
        given = path_token or (header[7:].strip() if header.lower().startswith("bearer ") else "")
        if hmac.compare_digest(given.encode(), token.encode()):
            return {}
        if oidc is None or path_token is not None or not given:
            return None
        # Blocking (it may fetch the issuer's keys): off the event loop.
        return await asyncio.to_thread(oidc.verify, given)

    async def authorize(
        request: Request, operation: str, path_token: str | None
    ) -> tuple[dict[str, Any], None] | tuple[None, Response]:
        """The caller's claims (``{}`` for a service) when it may ``operation``, else the refusal."""
        if path_token is not None and not allow_path_token:
            log.warning(
                "codec %s refused: token in the URL path (development only); send it as a bearer header, "
                "and replace the token, which has been in a URL",
                operation,
            )
            return None, cors(request, JSONResponse({"error": "token_in_path_refused"}, status_code=403))
        claims = await caller(request, path_token)
        if claims is None:
            log.warning("codec %s refused: missing or wrong token", operation)
            return None, cors(request, JSONResponse({"error": "unauthorized"}, status_code=401))
        operator = claims.get("sub", "?") if claims else None
        if claims and not access.allows(claims, operation):
            log.warning("codec %s refused for %s: not in the group allowed to %s", operation, operator, operation)
            return None, cors(request, JSONResponse({"error": "forbidden", "operation": operation}, status_code=403))
        if operator is not None:
            log.info("codec %s for %s", request.url.path.rsplit("/", 1)[-1], operator)  # who read or wrote what
        return claims, None

    async def handle(request: Request, operation: str, path_token: str | None) -> Response:
        if request.method == "OPTIONS":
            return cors(request, Response(status_code=204))
        claims, refusal = await authorize(request, operation, path_token)
        if refusal is not None:
            return refusal
        try:
            body = await read_capped(request, max_body)
        except BodyTooLarge:
            log.warning("codec %s refused: a body over %d bytes", operation, max_body)
            return cors(request, JSONResponse({"error": "body_too_large"}, status_code=413))
        try:
            payloads = json_format.Parse(body, Payloads())
            if operation == "encode":
                writer = codec.sealing(operator_seal(claims, name_claim)) if claims else codec
                result = await writer.encode(list(payloads.payloads))
            else:
                result = await codec.decode(list(payloads.payloads))
        except UNREADABLE as error:
            return cors(request, JSONResponse({"error": type(error).__name__}, status_code=400))
        answer = json_format.MessageToJson(Payloads(payloads=result))
        return cors(request, Response(answer, media_type="application/json"))

    @app.api_route("/decode", methods=["POST", "OPTIONS"])
    async def decode(request: Request) -> Response:
        return await handle(request, "decode", None)

    @app.api_route("/encode", methods=["POST", "OPTIONS"])
    async def encode(request: Request) -> Response:
        return await handle(request, "encode", None)

    @app.api_route("/t/{path_token}/decode", methods=["POST", "OPTIONS"])
    async def decode_with_path_token(request: Request, path_token: str) -> Response:
        return await handle(request, "decode", path_token)

    @app.api_route("/t/{path_token}/encode", methods=["POST", "OPTIONS"])
    async def encode_with_path_token(request: Request, path_token: str) -> Response:
        return await handle(request, "encode", path_token)

    @app.post("/cpf-hash")
    async def hash_of_a_cpf(request: Request) -> Response:
        """The keyed hash of a CPF (``BorrowerCpfHash``), so an operator finds a loan by CPF without
        holding PII_HASH_KEY. Reading: the decode group's. Never logs or echoes the CPF."""
        _, refusal = await authorize(request, "decode", None)
        if refusal is not None:
            return refusal
        if cpf_hash is None:
            return JSONResponse({"error": "no_pii_hash_key"}, status_code=404)
        try:
            cpf = json.loads(await read_capped(request, 1024))["cpf"]
        except BodyTooLarge:
            return JSONResponse({"error": "body_too_large"}, status_code=413)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "bad_request", "message": 'give {"cpf": "..."}'}, status_code=400)
        try:
            return JSONResponse({"cpf_hash": cpf_hash(str(cpf))})
        except ValueError as error:
            # The message says what is wrong with the number (domain.documents), never the number.
            return JSONResponse({"error": "invalid_cpf", "message": str(error)}, status_code=400)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
