from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from runtime.codec.aes import (
    COMPRESSION,
    ENCODING,
    KEY_ID,
    MAX_INFLATED,
    AesGcmCodec,
    UnknownKeyError,
    new_key,
    parse_keys,
)

CPF = b"14950479032"


def _payload(data: bytes = b'{"cpf": "14950479032", "name": "Maria"}') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def _keys(*ids: str) -> dict[str, bytes]:
    return {key_id: os.urandom(32) for key_id in ids}


async def test_encoded_payloads_hide_the_data_and_decode_back() -> None:
    codec = AesGcmCodec(_keys("k1"), "k1")
    [encoded] = await codec.encode([_payload()])
    assert encoded.metadata["encoding"] == ENCODING and encoded.metadata[KEY_ID] == b"k1"
    assert CPF not in encoded.data and b"Maria" not in encoded.data
    [decoded] = await codec.decode([encoded])
    assert decoded == _payload()


async def test_the_same_payload_encrypts_differently_each_time() -> None:
    codec = AesGcmCodec(_keys("k1"), "k1")
    first, second = await codec.encode([_payload(), _payload()])
    assert first.data != second.data


async def test_rotation_new_key_encrypts_old_key_still_decodes() -> None:
    keys = _keys("2025", "2026")
    old = AesGcmCodec({"2025": keys["2025"]}, "2025")
    [written_last_year] = await old.encode([_payload()])
    rotated = AesGcmCodec(keys, "2026")
    [written_now] = await rotated.encode([_payload()])
    assert written_now.metadata[KEY_ID] == b"2026"
    assert await rotated.decode([written_last_year, written_now]) == [_payload(), _payload()]


async def test_a_payload_under_an_unknown_key_is_an_error_not_garbage() -> None:
    [encoded] = await AesGcmCodec(_keys("k1"), "k1").encode([_payload()])
    with pytest.raises(UnknownKeyError, match="k1"):
        await AesGcmCodec(_keys("k2"), "k2").decode([encoded])


async def test_tampering_and_key_id_swaps_are_detected() -> None:
    keys = _keys("a", "b")
    keys["b"] = keys["a"]  # same key bytes under another id: the id is authenticated data
    codec = AesGcmCodec(keys, "a")
    [encoded] = await codec.encode([_payload()])
    flipped = Payload(metadata=dict(encoded.metadata), data=encoded.data[:-1] + bytes([encoded.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        await codec.decode([flipped])
    relabeled = Payload(metadata={**encoded.metadata, KEY_ID: b"b"}, data=encoded.data)
    with pytest.raises(InvalidTag):
        await codec.decode([relabeled])


async def test_plain_payloads_from_before_the_codec_pass_through() -> None:
    assert await AesGcmCodec(_keys("k1"), "k1").decode([_payload()]) == [_payload()]


def test_key_spec_parsing() -> None:
    key = new_key()
    assert parse_keys(f"k1:{key}, k0:{key}") == {"k1": base64.b64decode(key), "k0": base64.b64decode(key)}
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        parse_keys("k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="active codec key"):
        AesGcmCodec(parse_keys(f"k1:{key}"), "k9")


# ------------------------------------------------------------------ compression

# A loan-like JSON: a large payload that deflates well (field names and figures repeat).
_LARGE = (
    b'{"options": ['
    + b",".join(b'{"day": "2026-12-%02d", "installment_value": "250.00"}' % d for d in range(1, 20))
    + b"]}"
)


async def test_a_large_payload_is_stored_compressed_and_decodes_back() -> None:
    codec = AesGcmCodec(_keys("k1"), "k1")
    [compressed] = await codec.encode([_payload(_LARGE)])
    [uncompressed] = await AesGcmCodec(_keys("k1"), "k1", compress=False).encode([_payload(_LARGE)])
    assert compressed.metadata[COMPRESSION] == b"zlib" and COMPRESSION not in uncompressed.metadata
    assert len(compressed.data) < len(uncompressed.data) / 2
    assert await codec.decode([compressed]) == [_payload(_LARGE)]


async def test_a_small_payload_is_not_compressed() -> None:
    [encoded] = await AesGcmCodec(_keys("k1"), "k1").encode([_payload()])
    assert COMPRESSION not in encoded.metadata


async def test_payloads_written_before_compression_still_decode() -> None:
    keys = _keys("k1")
    [before] = await AesGcmCodec(keys, "k1", compress=False).encode([_payload(_LARGE)])
    assert await AesGcmCodec(keys, "k1").decode([before]) == [_payload(_LARGE)]


async def test_the_compression_flag_cannot_be_added_or_dropped() -> None:
    keys = _keys("k1")
    codec = AesGcmCodec(keys, "k1")
    [compressed] = await codec.encode([_payload(_LARGE)])
    dropped = Payload(metadata={k: v for k, v in compressed.metadata.items() if k != COMPRESSION}, data=compressed.data)
    [plain] = await AesGcmCodec(keys, "k1", compress=False).encode([_payload(_LARGE)])
    added = Payload(metadata={**plain.metadata, COMPRESSION: b"zlib"}, data=plain.data)
    for forged in (dropped, added):
        with pytest.raises(InvalidTag):
            await codec.decode([forged])


async def test_a_payload_that_inflates_past_the_bound_is_refused() -> None:
    codec = AesGcmCodec(_keys("k1"), "k1")
    [huge] = await codec.encode([_payload(b"0" * (MAX_INFLATED + 1))])
    with pytest.raises(ValueError, match="inflates past"):
        await codec.decode([huge])
