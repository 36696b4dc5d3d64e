"""Codec configuration from the environment (prefix ``CODEC_``). Keys come only from the environment."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.converter import PayloadCodec

from runtime.codec.aes import AesGcmCodec, ClearInput, parse_keys
from runtime.codec.environment import is_development, refuse_in_production, secret_problems
from runtime.codec.oidc import OperatorGroups
from runtime.codec.remote import RemotePayloadCodec, token_from

log = logging.getLogger("codec")

# A Schedule names each workflow it starts "<the action's workflow id>-<the time it was due>".
_SCHEDULED_AT = r"-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"

SCHEDULED_CLEAR_INPUTS: tuple[ClearInput, ...] = (
    # recovery.schedule: WebhookRecovery, RecoveryInput (ids and fields: recovery.contract).
    ClearInput(re.compile("webhook-recovery" + _SCHEDULED_AT), frozenset({"look_back"})),
    # catalog.schedule: ProductTableRefresh per provider table, RefreshInput (catalog.contract).
    ClearInput(
        re.compile("(?:product-table|ctc-participants)-[a-z0-9_]+" + _SCHEDULED_AT), frozenset({"provider", "refresh"})
    ),
)
"""The clear inputs a worker still reads with ``require_encrypted``: those of the Schedules the
set-up job creates without a codec key (ops.temporal_setup). Written out here because the codec
imports nothing of ours; tests/codec checks them against recovery.contract and catalog.contract.
Once the set-up job encodes its Schedules' inputs, this list can be emptied."""


class CodecSettings(BaseSettings):
    """Payload encryption (codec.aes) and the codec server. Keys come only from the environment.

    In production (see codec.environment) it refuses a missing ``CODEC_KEYS``, a published key,
    ``CODEC_ALLOW_PLAINTEXT`` and a published ``CODEC_SERVER_TOKEN``; the codec it builds refuses
    clear payloads (``CODEC_REQUIRE_ENCRYPTED``, on by default there).
    """

    # hide_input_in_errors: a refusal's message must never print the keys.
    model_config = SettingsConfigDict(env_prefix="CODEC_", hide_input_in_errors=True)

    keys: SecretStr | None = None  # "key-id:base64,older-id:base64"
    active_key: str | None = None  # which key encrypts; default: the first one
    allow_plaintext: bool = False  # an explicit opt-out, for local experiments only (refused in production)
    # Refuse payloads that were not encrypted (see codec.aes). None: on in production, off in
    # development. An explicit false in production is for draining histories recorded before the codec.
    require_encrypted: bool | None = None
    # Deflate large payloads before encrypting them (codec.aes): a loan's history shrinks by a third.
    # Off only while upgrading from a version that cannot read them (every decoder first).
    compress: bool = True
    server_host: str = "127.0.0.1"
    server_port: int = 8092
    server_token: SecretStr = SecretStr("")
    ui_origins: str = "http://127.0.0.1:8233,http://localhost:8233"
    # The Web UI's operators, signed in with the lender's SSO, send their OIDC access token (the UI's
    # TEMPORAL_CODEC_PASS_ACCESS_TOKEN): the codec server accepts a JWT from this issuer for this
    # audience, checked against the issuer's published keys (discovered, or this JWKS URL).
    server_oidc_issuer: str | None = None
    server_oidc_audience: str | None = None
    server_oidc_jwks_url: str | None = None
    # What a signed-in operator may do, by the token's groups claim (a dotted path, e.g.
    # realm_access.roles): decode (read pensioners' data in the Web UI or CLI) and encode (write a
    # payload a loan acts on: start, Updates). Unset grants nothing; in production both are required
    # with an issuer, so a forgotten variable refuses to start rather than letting every employee in.
    server_oidc_groups_claim: str = "groups"
    # The claim that names the operator in the loan's history (sealed into what they encode).
    server_oidc_name_claim: str = "preferred_username"
    server_decode_group: str | None = None
    server_encode_group: str | None = None
    # An operator's machine (the CLI, the starter API) holds no codec key: it encodes and decodes
    # through the codec server with the operator's SSO access token (the token itself, or a file a
    # login helper keeps fresh, read at each call). The codec server checks the token's groups and
    # seals the operator's name into what they send. Used only where the caller asks for it
    # (runtime.temporal.connect(remote_codec=True)): the worker and the relay always hold the keys.
    remote_url: str | None = None
    remote_token: SecretStr | None = None
    remote_token_file: Path | None = None
    # Development only: the name a developer's own codec keys seal into what they send (in
    # production an operator's name comes from their SSO token, through the codec server).
    operator: str | None = None

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        if self.server_oidc_issuer and not self.server_oidc_audience:
            # Without an audience, any token the company's SSO issues for any application would do.
            raise ValueError("CODEC_SERVER_OIDC_ISSUER needs CODEC_SERVER_OIDC_AUDIENCE (the Web UI's token audience)")
        groups_missing = [
            variable
            for variable, value in (
                ("CODEC_SERVER_DECODE_GROUP", self.server_decode_group),
                ("CODEC_SERVER_ENCODE_GROUP", self.server_encode_group),
            )
            if not (value or "").strip()
        ]
        problems = secret_problems(
            {"CODEC_KEYS": self.keys, "CODEC_SERVER_TOKEN": self.server_token},
            # The token is the codec server's alone (python -m runtime.codec requires it there); the
            # worker, relay and starter build these settings without one. An operator's machine with a
            # remote codec holds no key at all.
            optional={"CODEC_SERVER_TOKEN", *(["CODEC_KEYS"] if self.remote_url else [])},
        )
        problems += self._remote_problems()
        if self.operator:
            problems.append(
                "CODEC_OPERATOR names an operator no one verified: in production the codec server seals the "
                "operator's name from their SSO token (CODEC_REMOTE_URL)"
            )
        if self.server_oidc_issuer and groups_missing:
            problems.append(
                f"CODEC_SERVER_OIDC_ISSUER without {' and '.join(groups_missing)}: say which SSO group may "
                "read pensioners' data and which may write what a loan acts on"
            )
        if self.allow_plaintext:
            problems.append("CODEC_ALLOW_PLAINTEXT=true would store pensioners' data in clear")
        refuse_in_production(problems)
        return self

    def encryption_required(self) -> bool:
        return (not is_development()) if self.require_encrypted is None else self.require_encrypted

    def codec(self, *, require_encrypted: bool | None = None) -> AesGcmCodec:
        """The codec; ``require_encrypted`` overrides the setting (the codec server shows payloads
        as they are: it decodes for display and trusts nothing it decodes)."""
        if self.keys is None or not self.keys.get_secret_value().strip():
            raise MissingCodecKeys(
                "CODEC_KEYS is not set: loans would be stored with CPFs and names in clear text. "
                "Set CODEC_KEYS (id:base64 key, see python -m runtime.codec.keys) or CODEC_ALLOW_PLAINTEXT=true."
            )
        keys = parse_keys(self.keys.get_secret_value())
        refuse = self.encryption_required() if require_encrypted is None else require_encrypted
        if require_encrypted is None and self.require_encrypted is False and not is_development():
            log.warning("CODEC_REQUIRE_ENCRYPTED=false: payloads written without the codec key are read as given")
        return AesGcmCodec(
            keys,
            self.active_key or next(iter(keys)),
            require_encrypted=refuse,
            clear_inputs=SCHEDULED_CLEAR_INPUTS,
            compress=self.compress,
        )

    def _remote_problems(self) -> list[str]:
        if not self.remote_url:
            return []
        problems = []
        if not self.remote_url.startswith("https://"):
            problems.append("CODEC_REMOTE_URL must be https: the operator's token and pensioners' data travel on it")
        if self.remote_token_file is None and not (self.remote_token and self.remote_token.get_secret_value().strip()):
            problems.append(
                "CODEC_REMOTE_URL needs the operator's access token: CODEC_REMOTE_TOKEN or CODEC_REMOTE_TOKEN_FILE"
            )
        return problems

    def remote(self) -> RemotePayloadCodec | None:
        """The codec server as this process's codec, when ``CODEC_REMOTE_URL`` says so."""
        if not self.remote_url:
            return None
        token = self.remote_token.get_secret_value() if self.remote_token else None
        return RemotePayloadCodec(self.remote_url, token_from(token=token, token_file=self.remote_token_file))

    def codec_or_none(self, *, remote: bool = False) -> PayloadCodec | None:
        """The codec this process encrypts with: the codec server's when ``remote`` is allowed and
        configured (an operator's machine), else its own keys (sealing ``CODEC_OPERATOR`` in development)."""
        if remote and (remote_codec := self.remote()) is not None:
            return remote_codec
        if self.allow_plaintext and (self.keys is None or not self.keys.get_secret_value().strip()):
            return None
        codec = self.codec()
        if self.operator and is_development():
            return codec.sealing({"name": self.operator, "subject": self.operator, "via": "development"})
        return codec

    def server_token_value(self) -> str:
        """The codec server's token; in production it must be set (checked with the others above)."""
        refuse_in_production(secret_problems({"CODEC_SERVER_TOKEN": self.server_token}))
        return self.server_token.get_secret_value()

    def path_token_allowed(self) -> bool:
        """The token in the URL path (``/t/<token>/decode``) is for a developer's dev-server UI only,
        which cannot send a header: in a URL it leaks into the UI's settings (served to every
        browser), browser history and access logs."""
        return is_development()

    def operator_groups(self) -> OperatorGroups:
        return OperatorGroups(
            decode=(self.server_decode_group or "").strip() or None,
            encode=(self.server_encode_group or "").strip() or None,
            claim=self.server_oidc_groups_claim,
        )

    def origins(self) -> set[str]:
        return {o.strip() for o in self.ui_origins.split(",") if o.strip()}


class MissingCodecKeys(RuntimeError):
    pass
