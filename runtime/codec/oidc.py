"""Checking an operator's OIDC access token, as the Temporal Web UI passes it to the codec server.

With ``TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`` the UI sends ``Authorization: Bearer <the signed-in
operator's access token>``, not a token of ours: the codec server accepts it when it is a JWT signed
by one of the issuer's published keys (JWKS), from that issuer, for the configured audience, and
not expired. Only asymmetric algorithms: a token "signed" with ``none`` or with an HMAC keyed by a
public key is refused.

A valid token says who the operator is, not what they may do: ``OperatorGroups`` reads the groups
claim and grants decoding (reading pensioners' data) and encoding (writing a payload a loan will
act on) to separate groups.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import urllib.request
from typing import Any

import jwt

log = logging.getLogger("codec-server")

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY_SECONDS = 30  # clock skew between the IdP and us


class AccessTokenVerifier:
    def __init__(self, issuer: str, audience: str, *, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._keys: jwt.PyJWKClient | None = None

    def _client(self) -> jwt.PyJWKClient:
        # Discovered at the first token, not at start: the codec server starts while the IdP is down.
        if self._keys is None:
            url = self._jwks_url or self._discover()
            self._keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=300)
        return self._keys

    def _discover(self) -> str:
        where = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        if not where.startswith(("https://", "http://")):
            raise ValueError(f"CODEC_SERVER_OIDC_ISSUER is not an http(s) URL: {self.issuer!r}")
        with urllib.request.urlopen(where, timeout=10) as answer:  # noqa: S310 - an http(s) URL, checked above
            document: dict[str, Any] = json.load(answer)
        return str(document["jwks_uri"])

    def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims when it is valid, else None (blocking: it may fetch the issuer's keys)."""
        try:
            key = self._client().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, OSError, ValueError, KeyError) as error:
            log.info("access token refused: %s", type(error).__name__)
            return None
        return claims


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by its dotted path (``groups``, ``realm_access.roles``: IdPs nest them differently)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclasses.dataclass(frozen=True)
class OperatorGroups:
    """Which SSO group may do what at the codec server. A group left unset grants nothing (fail closed):
    without ``decode`` no SSO token reads a payload, without ``encode`` none writes one."""

    decode: str | None
    encode: str | None
    claim: str = "groups"  # dotted path to the token's list of groups (or roles)

    def of(self, claims: dict[str, Any]) -> set[str]:
        value = claim(claims, self.claim)
        if isinstance(value, str):
            return set(value.replace(",", " ").split())
        if isinstance(value, list):
            # Keycloak may write a group as its path ("/consignado-operators"): either form matches.
            return {str(g) for g in value} | {str(g).rsplit("/", 1)[-1] for g in value}
        return set()

    def allows(self, claims: dict[str, Any], operation: str) -> bool:
        wanted = self.decode if operation == "decode" else self.encode if operation == "encode" else None
        return wanted is not None and wanted in self.of(claims)
