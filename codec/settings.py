"""Codec configuration from the environment (prefix ``CODEC_``). Keys come only from the environment."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .aes import AesGcmCodec, parse_keys


class CodecSettings(BaseSettings):
    """Payload encryption (codec.aes) and the codec server. Keys come only from the environment."""

    model_config = SettingsConfigDict(env_prefix="CODEC_")

    keys: SecretStr | None = None  # "key-id:base64,older-id:base64"
    active_key: str | None = None  # which key encrypts; default: the first one
    allow_plaintext: bool = False  # an explicit opt-out, for local experiments only
    server_host: str = "127.0.0.1"
    server_port: int = 8092
    server_token: SecretStr = SecretStr("")
    ui_origins: str = "http://127.0.0.1:8233,http://localhost:8233"

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

    def origins(self) -> set[str]:
        return {o.strip() for o in self.ui_origins.split(",") if o.strip()}


class MissingCodecKeys(RuntimeError):
    pass
