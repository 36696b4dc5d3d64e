"""Webhook bodies hold PII (CPFs, names, accounts): the gateway seals each one to the relay's public
key (X25519 + HKDF-SHA256 + AES-256-GCM, an ECIES "sealed box"), so the public-facing gateway can
store it but not read it back, and a database dump reveals nothing without the relay's key.

Keys are ``id:base64`` (32 raw bytes). The relay may hold several private keys (``id:key,old:key``)
while a new one is rolled out; the sealed body names the key it was sealed to.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"S1"
INFO = b"consignado webhook inbox v1"


class SealingError(ValueError):
    """A sealed body this key cannot open (wrong key, tampered, or not sealed by us)."""


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def new_keypair(key_id: str) -> tuple[str, str]:
    """(private ``id:base64``, public ``id:base64``) for the relay and the gateway."""
    private = X25519PrivateKey.generate()
    secret = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return (
        f"{key_id}:{base64.b64encode(secret).decode()}",
        f"{key_id}:{base64.b64encode(_raw(private.public_key())).decode()}",
    )


def _parse(spec: str) -> tuple[str, bytes]:
    key_id, _, encoded = spec.strip().partition(":")
    raw = base64.b64decode(encoded)
    if not key_id or len(raw) != 32:
        raise ValueError("an inbox key is id:base64 of 32 bytes")
    return key_id, raw


def _key(shared: bytes, ephemeral: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral, info=INFO).derive(shared)


class Sealer:
    """The gateway's side: seals to one public key."""

    def __init__(self, public_spec: str) -> None:
        self._key_id, raw = _parse(public_spec)
        self._public = X25519PublicKey.from_public_bytes(raw)

    def seal(self, plaintext: bytes) -> bytes:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = _raw(ephemeral.public_key())
        nonce = os.urandom(12)
        key_id = self._key_id.encode()
        sealed = AESGCM(_key(ephemeral.exchange(self._public), ephemeral_raw)).encrypt(nonce, plaintext, key_id)
        return MAGIC + bytes([len(key_id)]) + key_id + ephemeral_raw + nonce + sealed


class Opener:
    """The relay's side: opens what was sealed to any of its private keys."""

    def __init__(self, private_specs: str) -> None:
        self._keys: dict[bytes, X25519PrivateKey] = {}
        for spec in filter(None, (part.strip() for part in private_specs.split(","))):
            key_id, raw = _parse(spec)
            self._keys[key_id.encode()] = X25519PrivateKey.from_private_bytes(raw)
        if not self._keys:
            raise ValueError("the relay needs at least one inbox private key")

    def open(self, sealed: bytes) -> bytes:
        if not sealed.startswith(MAGIC):
            raise SealingError("not a sealed inbox body")
        size = sealed[2]
        key_id = sealed[3 : 3 + size]
        rest = sealed[3 + size :]
        private = self._keys.get(key_id)
        if private is None:
            raise SealingError(f"sealed to key {key_id.decode(errors='replace')!r}, which this relay does not hold")
        ephemeral_raw, nonce, ciphertext = rest[:32], rest[32:44], rest[44:]
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
        try:
            return AESGCM(_key(shared, ephemeral_raw)).decrypt(nonce, ciphertext, key_id)
        except Exception as error:  # cryptography's InvalidTag
            raise SealingError("sealed body does not open: tampered or wrong key") from error
