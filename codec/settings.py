"""Codec configuration from the environment (prefix ``CODEC_``). Keys come only from the environment."""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .aes import AesGcmCodec, parse_keys
from .environment import refuse_in_production, secret_problems


class CodecSettings(BaseSettings):
    """Payload encryption (codec.aes) and the codec server. Keys come only from the environment.

    In production (see codec.environment) it refuses a missing ``CODEC_KEYS``, a published key,
    ``CODEC_ALLOW_PLAINTEXT`` and a published ``CODEC_SERVER_TOKEN``.
    """

    # hide_input_in_errors: a refusal's message must never print the keys.
    model_config = SettingsConfigDict(env_prefix="CODEC_", hide_input_in_errors=True)

    keys: SecretStr | None = None  # "key-id:base64,older-id:base64"
    active_key: str | None = None  # which key encrypts; default: the first one
    allow_plaintext: bool = False  # an explicit opt-out, for local experiments only (refused in production)
    server_host: str = "127.0.0.1"
    server_port: int = 8092
    server_token: SecretStr = SecretStr("")
    ui_origins: str = "http://127.0.0.1:8233,http://localhost:8233"

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        problems = secret_problems(
            {"CODEC_KEYS": self.keys, "CODEC_SERVER_TOKEN": self.server_token},
            # The token is the codec server's alone (python -m codec requires it there); the
            # worker, relay and starter build these settings without one.
            optional={"CODEC_SERVER_TOKEN"},
        )
        if self.allow_plaintext:
            problems.append("CODEC_ALLOW_PLAINTEXT=true would store pensioners' data in clear")
        refuse_in_production(problems)
        return self

    def codec(self) -> AesGcmCodec:
        if self.keys is None or not self.keys.get_secret_value().strip():
            raise MissingCodecKeys(
                "CODEC_KEYS is not set: loans would be stored with CPFs and names in clear text. "
                "Set CODEC_KEYS (id:base64 key, see python -m codec.keys) or CODEC_ALLOW_PLAINTEXT=true."
            )
        keys = parse_keys(self.keys.get_secret_value())
        return AesGcmCodec(keys, self.active_key or next(iter(keys)))

    def codec_or_none(self) -> AesGcmCodec | None:
        if self.allow_plaintext and (self.keys is None or not self.keys.get_secret_value().strip()):
            return None
        return self.codec()

    def server_token_value(self) -> str:
        """The codec server's token; in production it must be set (checked with the others above)."""
        refuse_in_production(secret_problems({"CODEC_SERVER_TOKEN": self.server_token}))
        return self.server_token.get_secret_value()

    def origins(self) -> set[str]:
        return {o.strip() for o in self.ui_origins.split(",") if o.strip()}


class MissingCodecKeys(RuntimeError):
    pass
