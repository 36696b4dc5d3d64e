"""The codec server: only a token holder decodes; CORS only for the UI's origin."""

from __future__ import annotations

import os

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from codec.aes import AesGcmCodec
from codec.server import create_app

TOKEN = "a-long-enough-test-token"
UI = "http://127.0.0.1:8233"


def _client() -> tuple[httpx.AsyncClient, AesGcmCodec]:
    codec = AesGcmCodec({"k1": os.urandom(32)}, "k1")
    app = create_app(codec, token=TOKEN, ui_origins={UI})
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
