"""The codec server: only a token holder decodes, by bearer header (the token in the URL path only
in development); the Web UI's operators by their SSO access token; CORS only for the UI's origin."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads

from domain.loan import CancelRequest, VerifiedOperator
from runtime.codec.aes import AesGcmCodec, new_key
from runtime.codec.oidc import AccessTokenVerifier, OperatorGroups
from runtime.codec.operator_seal import OPERATOR_SEAL
from runtime.codec.server import create_app
from runtime.codec.settings import CodecSettings
from runtime.settings import ENV_VARIABLE
from runtime.temporal import data_converter
from tests.support.oidc import AUDIENCE, OPERATORS, READERS, FakeIssuer
from tests.support.servers import free_port, python_module, running_process

TOKEN = "a-long-enough-test-token"
UI = "http://127.0.0.1:8233"


GROUPS = OperatorGroups(decode=READERS, encode=OPERATORS)


def _client(
    *, allow_path_token: bool = True, oidc: AccessTokenVerifier | None = None, groups: OperatorGroups = GROUPS
) -> tuple[httpx.AsyncClient, AesGcmCodec]:
    codec = AesGcmCodec({"k1": os.urandom(32)}, "k1")
    app = create_app(codec, token=TOKEN, ui_origins={UI}, allow_path_token=allow_path_token, oidc=oidc, groups=groups)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec"), codec


def _body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=list(payloads)))


async def test_decode_needs_the_token_and_then_returns_clear_payloads() -> None:
    client, codec = _client()
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'{"cpf": "14950479032"}')
    [encrypted] = await codec.encode([clear])
    async with client:
        refused = await client.post("/decode", content=_body(encrypted))
        wrong = await client.post("/decode", content=_body(encrypted), headers={"Authorization": "Bearer nope"})
        by_header = await client.post("/decode", content=_body(encrypted), headers={"Authorization": f"Bearer {TOKEN}"})
        by_path = await client.post(f"/t/{TOKEN}/decode?preserveStorageRefs=true", content=_body(encrypted))
    assert refused.status_code == wrong.status_code == 401
    assert b"14950479032" not in refused.content
    for answer in (by_header, by_path):
        assert answer.status_code == 200
        assert list(json_format.Parse(answer.content, Payloads()).payloads) == [clear]


async def test_encode_round_trips_through_the_server() -> None:
    client, codec = _client()
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b"{}")
    async with client:
        encoded = await client.post(f"/t/{TOKEN}/encode", content=_body(clear))
    [payload] = json_format.Parse(encoded.content, Payloads()).payloads
    assert await codec.decode([payload]) == [clear]


async def test_cors_answers_the_ui_origin_only() -> None:
    client, _ = _client()
    preflight_headers = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with client:
        preflight = await client.options(f"/t/{TOKEN}/decode", headers=preflight_headers)
        stranger = await client.options(
            f"/t/{TOKEN}/decode", headers={**preflight_headers, "Origin": "http://evil.example"}
        )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in preflight.headers["access-control-allow-headers"]
    assert "access-control-allow-origin" not in stranger.headers


def test_a_short_token_is_refused_at_start() -> None:
    import pytest

    with pytest.raises(ValueError, match="16 characters"):
        create_app(AesGcmCodec({"k": os.urandom(32)}, "k"), token="short", ui_origins={UI})


async def test_in_production_the_token_in_the_path_is_refused_and_the_header_works() -> None:
    client, codec = _client(allow_path_token=False)
    [encrypted] = await codec.encode([CLEAR])
    async with client:
        by_path = await client.post(f"/t/{TOKEN}/decode", content=_body(encrypted))
        by_header = await client.post("/decode", content=_body(encrypted), headers=_bearer(TOKEN))
        preflight = await client.options("/decode", headers=_preflight("authorization,content-type"))
    assert by_path.status_code == 403 and by_path.json() == {"error": "token_in_path_refused"}
    assert b"14950479032" not in by_path.content
    assert by_header.status_code == 200 and list(json_format.Parse(by_header.content, Payloads()).payloads) == [CLEAR]
    # The browser may send the header: the preflight allows it for the UI's origin.
    assert "authorization" in preflight.headers["access-control-allow-headers"]


# ---------------------------------------------------------------- the operators' SSO access token


@pytest.fixture(scope="module")
def issuer() -> Iterator[FakeIssuer]:
    fake = FakeIssuer()
    with fake.server:
        yield fake


async def test_the_ui_passes_the_operators_access_token_and_only_a_valid_one_decodes(issuer: FakeIssuer) -> None:
    client, codec = _client(allow_path_token=False, oidc=AccessTokenVerifier(issuer.url, AUDIENCE))
    [encrypted] = await codec.encode([CLEAR])
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = issuer.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    refused = {
        "wrong audience": issuer.token(aud="another-app"),
        "wrong issuer": issuer.token(iss="http://127.0.0.1:1/evil"),
        "expired": issuer.token(exp=int(time.time()) - 600),
        "no expiry": issuer.token(exp=None),
        "another key": issuer.token(key=other_key),
        "hmac keyed by the public key": _hs256(public_pem, issuer),
        "unsigned": _unsigned(issuer),
        "not a jwt": "operator-42",
    }
    async with client:
        valid = await client.post("/decode", content=_body(encrypted), headers=_bearer(issuer.token()))
        ours = await client.post("/decode", content=_body(encrypted), headers=_bearer(TOKEN))  # the CLI's
        answers = {
            name: await client.post("/decode", content=_body(encrypted), headers=_bearer(token))
            for name, token in refused.items()
        }
        in_path = await client.post(f"/t/{issuer.token()}/decode", content=_body(encrypted))
    assert valid.status_code == ours.status_code == 200
    assert list(json_format.Parse(valid.content, Payloads()).payloads) == [CLEAR]
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(refused, 401)
    assert in_path.status_code == 403
    assert issuer.jwks_requests >= 1  # the keys came from the issuer's published JWKS


async def test_without_oidc_an_access_token_is_just_a_wrong_token(issuer: FakeIssuer) -> None:
    client, codec = _client(allow_path_token=False)
    [encrypted] = await codec.encode([CLEAR])
    async with client:
        answer = await client.post("/decode", content=_body(encrypted), headers=_bearer(issuer.token()))
    assert answer.status_code == 401


async def test_an_unreachable_issuer_refuses_and_the_server_keeps_serving() -> None:
    client, codec = _client(oidc=AccessTokenVerifier(f"http://127.0.0.1:{free_port()}/nobody", AUDIENCE))
    [encrypted] = await codec.encode([CLEAR])
    async with client:
        refused = await client.post("/decode", content=_body(encrypted), headers=_bearer("a.b.c"))
        ours = await client.post("/decode", content=_body(encrypted), headers=_bearer(TOKEN))
    assert (refused.status_code, ours.status_code) == (401, 200)


async def test_an_operator_without_the_group_is_refused_at_decode_and_encode_needs_its_own_group(
    issuer: FakeIssuer,
) -> None:
    client, codec = _client(allow_path_token=False, oidc=AccessTokenVerifier(issuer.url, AUDIENCE))
    [encrypted] = await codec.encode([CLEAR])
    nobody = issuer.token(groups=["everyone"])
    reader = issuer.token(groups=[READERS])
    operator = issuer.token(groups=[f"/{OPERATORS}"])  # a group written as its path (Keycloak)
    async with client:
        decode_as = {
            name: await client.post("/decode", content=_body(encrypted), headers=_bearer(t))
            for name, t in (("nobody", nobody), ("no groups claim", issuer.token(groups=None)), ("reader", reader))
        }
        encode_as = {
            name: await client.post("/encode", content=_body(CLEAR), headers=_bearer(t))
            for name, t in (("reader", reader), ("operator", operator))
        }
        operator_decodes = await client.post("/decode", content=_body(encrypted), headers=_bearer(operator))
    statuses = {name: a.status_code for name, a in decode_as.items()}
    assert statuses == {"nobody": 403, "no groups claim": 403, "reader": 200}
    assert decode_as["nobody"].json() == {"error": "forbidden", "operation": "decode"}
    assert b"14950479032" not in decode_as["nobody"].content
    assert list(json_format.Parse(decode_as["reader"].content, Payloads()).payloads) == [CLEAR]
    # Reading is not writing: a reader may not encode, an operator of the other group may not decode.
    assert {name: a.status_code for name, a in encode_as.items()} == {"reader": 403, "operator": 200}
    assert operator_decodes.status_code == 403


async def test_with_no_groups_configured_no_sso_token_does_anything(issuer: FakeIssuer) -> None:
    client, codec = _client(
        oidc=AccessTokenVerifier(issuer.url, AUDIENCE), groups=OperatorGroups(decode=None, encode=None)
    )
    [encrypted] = await codec.encode([CLEAR])
    token = issuer.token(groups=[READERS, OPERATORS])
    async with client:
        decode = await client.post("/decode", content=_body(encrypted), headers=_bearer(token))
        encode = await client.post("/encode", content=_body(CLEAR), headers=_bearer(token))
        ours = await client.post("/decode", content=_body(encrypted), headers=_bearer(TOKEN))
    assert (decode.status_code, encode.status_code, ours.status_code) == (403, 403, 200)


def test_groups_come_from_the_configured_claim_path() -> None:
    groups = OperatorGroups(decode="reader", encode="writer", claim="realm_access.roles")
    claims = {"realm_access": {"roles": ["reader"]}, "groups": ["writer"]}
    assert groups.allows(claims, "decode") and not groups.allows(claims, "encode")
    assert OperatorGroups(decode="a", encode="b").of({"groups": "a b,c"}) == {"a", "b", "c"}


def test_in_production_an_issuer_needs_both_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VARIABLE, "production")
    base: dict[str, Any] = {
        "keys": SecretStr(f"k1:{new_key()}"),
        "server_oidc_issuer": "https://sso.example",
        "server_oidc_audience": AUDIENCE,
    }
    with pytest.raises(ValueError, match="CODEC_SERVER_DECODE_GROUP and CODEC_SERVER_ENCODE_GROUP"):
        CodecSettings(**base)
    with pytest.raises(ValueError, match="without CODEC_SERVER_ENCODE_GROUP"):
        CodecSettings(**base, server_decode_group=READERS)
    settings = CodecSettings(**base, server_decode_group=READERS, server_encode_group=OPERATORS)
    assert settings.operator_groups() == GROUPS
    monkeypatch.setenv(ENV_VARIABLE, "development")
    assert CodecSettings(**base).operator_groups() == OperatorGroups(decode=None, encode=None)


def test_an_issuer_without_an_audience_is_refused() -> None:
    with pytest.raises(ValueError, match="CODEC_SERVER_OIDC_AUDIENCE"):
        CodecSettings(keys=SecretStr(f"k1:{new_key()}"), server_oidc_issuer="https://sso.example")


# ---------------------------------------------------------------- python -m runtime.codec, as a process


@contextlib.contextmanager
def _serve_codec(tmp_path: Path, environment: str) -> Iterator[str]:
    with _codec_process(tmp_path, environment) as (url, _):
        yield url


@contextlib.contextmanager
def _codec_process(tmp_path: Path, environment: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        ENV_VARIABLE: environment,
        "CODEC_KEYS": f"k1:{new_key()}",
        "CODEC_SERVER_TOKEN": TOKEN,
        "CODEC_SERVER_PORT": str(port),
        "CODEC_ALLOW_PLAINTEXT": "false",
        "OTEL_TRACES_EXPORTER": "none",
    }
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / f"codec-{environment}.log"
    with running_process(python_module("runtime.codec"), env=env, ready_url=f"{url}/healthz", log=log) as process:
        yield url, process.pid


def test_the_real_server_refuses_the_path_form_in_production_only(tmp_path: Path) -> None:
    body = _body(Payload(metadata={"encoding": b"json/plain"}, data=b"{}"))
    for environment, path_status in (("production", 403), ("development", 200)):
        with _serve_codec(tmp_path, environment) as url:
            by_path = httpx.post(f"{url}/t/{TOKEN}/encode", content=body, timeout=10)
            by_header = httpx.post(f"{url}/encode", content=body, headers=_bearer(TOKEN), timeout=10)
        assert (by_path.status_code, by_header.status_code) == (path_status, 200), environment


CLEAR = Payload(metadata={"encoding": b"json/plain"}, data=b'{"cpf": "14950479032"}')


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _preflight(headers: str) -> dict[str, str]:
    return {"Origin": UI, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers}


def _hs256(public_pem: bytes, issuer: FakeIssuer) -> str:
    """The classic confusion: an HMAC "signature" keyed by the issuer's public key."""
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    now = int(time.time())
    body = _b64({"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "exp": now + 300})
    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _unsigned(issuer: FakeIssuer) -> str:
    now = int(time.time())
    header = _b64({"alg": "none", "typ": "JWT", "kid": "k1"})
    return f"{header}.{_b64({'iss': issuer.url, 'aud': AUDIENCE, 'sub': 'x', 'exp': now + 300})}."


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# ---------------------------------------------------------------- what it cannot read, and how much it reads


async def test_garbage_and_a_decrypted_non_payload_are_bad_requests_not_server_errors() -> None:
    key = os.urandom(32)
    codec = AesGcmCodec({"k1": key}, "k1")
    app = create_app(codec, token=TOKEN, ui_origins={UI})
    [sealed] = await codec.encode([CLEAR])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    # Sealed with the server's own key, but what it seals is not a Payload message.
    nonce = os.urandom(12)
    wrapped = Payload(metadata=dict(sealed.metadata), data=nonce + AESGCM(key).encrypt(nonce, b"\xff\xff\xff", b"k1"))
    bodies = ("not json", _body(tampered), _body(wrapped), '{"payloads": "nope"}')
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as client:
        answers = [await client.post("/decode", content=body, headers=_bearer(TOKEN)) for body in bodies]
    assert [a.status_code for a in answers] == [400, 400, 400, 400]


def _peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def test_a_huge_body_is_refused_with_413_while_it_is_read(tmp_path: Path) -> None:
    megabyte = b"x" * (1024 * 1024)

    def two_hundred_megabytes() -> Iterator[bytes]:
        for _ in range(200):
            yield megabyte

    with _codec_process(tmp_path, "development") as (url, pid):
        before = _peak_rss_mib(pid)
        with httpx.Client(timeout=60) as client:
            # Chunked, with no length to refuse it by: the cap holds while the body streams in.
            streamed = client.post(f"{url}/decode", content=two_hundred_megabytes(), headers=_bearer(TOKEN))
            still_fine = client.post(f"{url}/encode", content=_body(CLEAR), headers=_bearer(TOKEN))
        # Declared too large: refused on its headers, before a byte of the body is read.
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(
                f"POST /decode HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
            )
            declared = raw.recv(200).decode()
        grew = _peak_rss_mib(pid) - before
    assert streamed.status_code == 413 and still_fine.status_code == 200
    assert declared.startswith("HTTP/1.1 413")
    assert grew < 64, f"the codec server's peak memory grew {grew:.0f} MiB"


# ---------------------------------------------------------------- the operator's seal


async def test_what_an_operator_encodes_is_sealed_with_their_name_and_a_callers_own_seal_is_dropped(
    issuer: FakeIssuer,
) -> None:
    client, codec = _client(allow_path_token=False, oidc=AccessTokenVerifier(issuer.url, AUDIENCE))
    forged = Payload(metadata={"encoding": b"json/plain", OPERATOR_SEAL: b'{"name": "boss"}'}, data=b"{}")
    async with client:
        by_ana = await client.post("/encode", content=_body(forged), headers=_bearer(issuer.operator("ana", "sub-1")))
        by_service = await client.post("/encode", content=_body(forged), headers=_bearer(TOKEN))
    [ana_payload] = await codec.decode(list(json_format.Parse(by_ana.content, Payloads()).payloads))
    [service_payload] = await codec.decode(list(json_format.Parse(by_service.content, Payloads()).payloads))
    seal = json.loads(ana_payload.metadata[OPERATOR_SEAL])
    assert (seal["name"], seal["subject"], seal["via"]) == ("ana", "sub-1", "sso")
    assert OPERATOR_SEAL not in service_payload.metadata  # a service seals nobody
    assert ana_payload.data == service_payload.data == b"{}"
    # Outside the encryption a seal means nothing: a clear payload loses it when decoded.
    [clear] = await codec.decode([forged])
    assert OPERATOR_SEAL not in clear.metadata


async def test_the_seal_is_the_only_source_of_a_commands_verified_operator() -> None:
    codec = AesGcmCodec({"k1": os.urandom(32)}, "k1")
    converter = data_converter(codec)
    claimed = CancelRequest.model_validate(
        {"reason": "r", "verified_operator": {"name": "boss", "subject": "boss", "via": "sso"}}
    )
    [unsealed] = await converter.encode([claimed])
    sealing = dataclasses.replace(converter, payload_codec=codec.sealing({"name": "ana", "subject": "s"}))
    [sealed] = await sealing.encode([claimed])
    [from_unsealed] = await converter.decode([unsealed], [CancelRequest])
    [from_sealed] = await converter.decode([sealed], [CancelRequest])
    assert from_unsealed.verified_operator is None
    assert from_sealed.verified_operator == VerifiedOperator(name="ana", subject="s")
