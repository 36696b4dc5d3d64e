"""AES-GCM payload codec with a key id in each payload's metadata.

Rotation: add a new key, make it active; payloads written under older keys still decode while
their key is configured.

Compression: a payload of ``COMPRESS_FROM`` bytes or more is deflated before it is encrypted when
that makes it smaller, and says so in its metadata (``COMPRESSION``, authenticated with the key id):
a loan's history is mostly JSON that deflates to a third (its start, the activities' inputs, an
Update's answer — the whole loan state). Payloads written without it (older ones, small ones) decode
as before; a decoder from before compression cannot read a compressed payload, so an upgrade first
brings every decoder (workers, relay, codec server) to this version with ``CODEC_COMPRESS=false``.
Deflating before encrypting lets a payload's length depend on how alike its contents are (the
CRIME family of attacks): guessing a value from lengths needs someone who both reads the Temporal
history and puts chosen text into the same payload, once per guess (a loan, or an Update, each);
a risk accepted here for a history a third the size; ``CODEC_COMPRESS=false`` refuses it.

A payload without the encrypted encoding was written by someone without the key. By default it
passes through unchanged (histories recorded before the codec existed keep replaying). With
``require_encrypted`` (the workers' setting in production, ``CODEC_REQUIRE_ENCRYPTED``) it is
*refused*: anyone who reaches the Temporal frontend could otherwise start a loan, or signal a
forged provider event into one, in clear. A refused payload is not an exception here but a payload
no converter reads (encoding ``REFUSED_ENCODING``): the SDK then drops a forged signal (logging
why), rejects a forged Update and fails the workflow task of a forged start (the message names
the refusal), instead of failing every workflow task of a real loan whose history now holds the
forged signal for good. The only clear payloads accepted are the ``ClearInput`` exceptions: the
inputs the set-up job gives its Schedules (it holds no key), each only in the context of a
workflow id the Schedule generates and only with that input's fields.

An operator's name travels sealed: a codec ``sealing`` an operator (the codec server, for a token it
verified) writes it into each payload's metadata *inside* the encryption (``OPERATOR_SEAL``), so only a
holder of the codec keys can put a name there, and the worker reads it back when it decodes
(``runtime.temporal``: it becomes the command's ``verified_operator``). A seal a caller wrote itself is
dropped: from a clear payload when decoding, from what it asks to encode when encoding.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Self

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from runtime.codec.operator_seal import OPERATOR_SEAL

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
COMPRESSION = "compression"
ZLIB = b"zlib"
COMPRESS_FROM = 256  # bytes: below this deflate rarely pays for its own header and metadata
MAX_INFLATED = 8 * 1024 * 1024  # a payload inflates to at most this (Temporal refuses payloads far smaller)
# The encoding a refused clear payload is replaced with: the SDK's "Unknown payload encoding ..."
# error then says why in the workflow task failure or the dropped signal's log line.
REFUSED_ENCODING = b"refused: the payload was not encrypted with a codec key (CODEC_REQUIRE_ENCRYPTED)"


log = logging.getLogger("codec")


@dataclasses.dataclass(frozen=True)
class ClearInput:
    """A clear payload accepted despite ``require_encrypted``: a JSON object with no field but
    ``fields``, for a workflow whose whole id matches ``workflow_id``. A forged loan or mailbox
    started under such an id cannot use it: their inputs need fields this one never carries."""

    workflow_id: re.Pattern[str]
    fields: frozenset[str]

    def allows(self, workflow_id: str, payload: Payload) -> bool:
        if not self.workflow_id.fullmatch(workflow_id) or payload.metadata.get("encoding") != b"json/plain":
            return False
        try:
            value = json.loads(payload.data)
        except ValueError:
            return False
        return isinstance(value, dict) and set(value) <= self.fields


class UnknownKeyError(KeyError):
    """A payload was encrypted with a key this process does not have."""


def parse_keys(spec: str) -> dict[str, bytes]:
    """``"k1:<base64 32 bytes>,k2:<base64 32 bytes>"`` → {key id: key}."""
    keys = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        key = base64.b64decode(encoded)
        if len(key) not in (16, 24, 32) or not key_id:
            raise ValueError(f"codec key {key_id!r}: give id:base64 of 16, 24 or 32 bytes")
        keys[key_id] = key
    return keys


def new_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class AesGcmCodec(PayloadCodec, WithSerializationContext):
    def __init__(
        self,
        keys: Mapping[str, bytes],
        active: str,
        *,
        require_encrypted: bool = False,
        clear_inputs: Sequence[ClearInput] = (),
        seal: Mapping[str, str] | None = None,
        compress: bool = True,
    ) -> None:
        if active not in keys:
            raise ValueError(f"active codec key {active!r} is not among the configured keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active
        self._require_encrypted = require_encrypted
        self._clear_inputs = tuple(clear_inputs)
        self._seal = json.dumps(dict(seal), sort_keys=True).encode() if seal else None
        self._compress = compress
        # Set by the SDK (with_context) to the workflow or activity a payload belongs to.
        self._context: SerializationContext | None = None

    @property
    def active_key_id(self) -> str:
        return self._active

    @property
    def require_encrypted(self) -> bool:
        return self._require_encrypted

    def with_context(self, context: SerializationContext) -> Self:
        bound = self.__class__.__new__(self.__class__)
        bound.__dict__.update(self.__dict__)
        bound._context = context
        return bound

    def sealing(self, operator: Mapping[str, str]) -> Self:
        """This codec, writing ``operator`` sealed into every payload it encodes."""
        bound = self.__class__.__new__(self.__class__)
        bound.__dict__.update(self.__dict__)
        bound._seal = json.dumps(dict(operator), sort_keys=True).encode()
        return bound

    def _accepts_clear(self, payload: Payload) -> bool:
        if not self._require_encrypted:
            return True
        # Only a workflow's own context names the workflow the payload starts or signals; an
        # activity's context is never a Schedule's input.
        context = self._context
        if type(context) is not WorkflowSerializationContext:
            return False
        return any(allowed.allows(context.workflow_id, payload) for allowed in self._clear_inputs)

    def _refuse(self, payload: Payload) -> Payload:
        where = getattr(self._context, "workflow_id", None) or "no workflow context"
        # Never the payload's content: it may be a borrower's data, or an attacker's.
        log.warning(
            "refused a payload that was not encrypted (%s, encoding %r): it was written without the "
            "codec key, and CODEC_REQUIRE_ENCRYPTED accepts only encrypted payloads",
            where,
            payload.metadata.get("encoding", b"").decode(errors="replace"),
        )
        return Payload(metadata={"encoding": REFUSED_ENCODING})

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._active]
        encoded = []
        for payload in payloads:
            inner = _without_seal(payload)
            if self._seal is not None:
                stamped = Payload()
                stamped.CopyFrom(inner)
                stamped.metadata[OPERATOR_SEAL] = self._seal
                inner = stamped
            plain = inner.SerializeToString()
            metadata = {"encoding": ENCODING, KEY_ID: self._active.encode()}
            if self._compress and len(plain) >= COMPRESS_FROM:
                deflated = zlib.compress(plain)
                if len(deflated) < len(plain):
                    plain, metadata[COMPRESSION] = deflated, ZLIB
            nonce = os.urandom(NONCE_BYTES)
            # The key id (and the compression) is authenticated too: a payload cannot be passed off
            # under another key, nor its compression flag added or dropped.
            sealed = cipher.encrypt(nonce, plain, _associated(metadata))
            encoded.append(Payload(metadata=metadata, data=nonce + sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(_without_seal(payload) if self._accepts_clear(payload) else self._refuse(payload))
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise UnknownKeyError(f"payload encrypted with key {key_id!r}, which is not configured")
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            plain = cipher.decrypt(nonce, sealed, _associated(payload.metadata))
            if payload.metadata.get(COMPRESSION) is not None:
                plain = _inflate(plain)
            decoded.append(Payload.FromString(plain))
        return decoded


def _associated(metadata: Mapping[str, bytes]) -> bytes:
    """The authenticated data: the key id, and the compression when there is one (payloads written
    before compression were sealed with the key id alone, and still are when not compressed)."""
    compression = metadata.get(COMPRESSION)
    key_id = metadata.get(KEY_ID, b"")
    return key_id if compression is None else key_id + b"/" + compression


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    plain = inflater.decompress(data, MAX_INFLATED)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"a compressed payload inflates past {MAX_INFLATED} bytes or is cut short")
    return plain


def _without_seal(payload: Payload) -> Payload:
    """The payload without an operator's seal written by whoever sent it (only a key holder seals)."""
    if OPERATOR_SEAL not in payload.metadata:
        return payload
    copy = Payload()
    copy.CopyFrom(payload)
    del copy.metadata[OPERATOR_SEAL]
    return copy
