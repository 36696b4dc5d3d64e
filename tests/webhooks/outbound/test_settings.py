"""The sales channel's settings fail closed: in production a URL without its signing secret, or with a
published one, is refused naming the variable; a malformed secret is refused everywhere."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, ValidationError

from runtime.settings import ENV_VARIABLE
from tests.webhooks.outbound.conftest import SECRET
from webhooks.outbound.settings import SalesChannelSettings

URL = "https://sales-channel.lender.example/consignado/events"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    for name in list(os.environ):
        if name.startswith("SALES_CHANNEL_"):
            monkeypatch.delenv(name)


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as refused:
        SalesChannelSettings(**values)  # type: ignore[arg-type]
    return str(refused.value)


@pytest.mark.usefixtures("production")
def test_production_refuses_a_url_without_its_secret_or_with_a_published_one() -> None:
    assert "SALES_CHANNEL_SECRET is not set" in refusal(url=URL)
    assert "SALES_CHANNEL_SECRET holds a development value" in refusal(url=URL, secret=SecretStr("REPLACE_ME"))
    SalesChannelSettings(url=URL, secret=SecretStr(SECRET))  # the control: its own secret
    SalesChannelSettings()  # no URL: nothing is sent (the events stay queued), no secret needed


def test_a_malformed_secret_is_refused_naming_the_variable_without_printing_it() -> None:
    message = refusal(url=URL, secret=SecretStr("whsec_not base64!"))
    assert "SALES_CHANNEL_SECRET is not a whsec_ base64 secret" in message
    assert "not base64!" not in message
    too_short = "whsec_" + "c2hvcnQ="  # base64 of "short": 5 bytes, the specification asks 24 to 64
    assert "SALES_CHANNEL_SECRET is not a whsec_ base64 secret of 24 to 64 bytes" in refusal(
        url=URL, secret=SecretStr(too_short)
    )
