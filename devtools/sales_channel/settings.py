"""The receiver's configuration (prefix ``SALES_CHANNEL_RECEIVER_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReceiverSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALES_CHANNEL_RECEIVER_", hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 8094
    secret: SecretStr = SecretStr("")  # the Standard Webhooks secret it shares with the sender (whsec_...)
    # A JSON-lines file the events are kept in (loaded at startup), so a restarted receiver still
    # knows what it was told and still drops repeats. Unset: in memory only (the tests).
    state_path: Path | None = None
