"""The run command's account of what the sales channel was told: read from the development receiver,
each event in a few words (the stage and what the borrower must do by when, or the ending)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from devtools.devstack.told import describe, wait_for_endings
from devtools.sales_channel.app import create_app
from tests.support.servers import ThreadedServer, free_port

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def post(url: str, webhook_id: str, payload: Mapping[str, object]) -> int:
    body = json.dumps(payload)
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    return httpx.post(f"{url}/events", content=body, headers=headers, timeout=5).status_code


def unsigned(url: str, payload: Mapping[str, object]) -> int:
    return httpx.post(f"{url}/events", json=payload, headers={"webhook-id": "x"}, timeout=5).status_code


def repeats(url: str) -> object:
    return httpx.get(f"{url}/events", timeout=5).json()["repeats"]


def test_describe_says_the_stage_the_action_and_its_deadline_or_the_ending() -> None:
    signing = {
        "type": "loan.stage_changed",
        "data": {
            "stage": "awaiting_signature",
            "next_action": {"action": "sign", "by": "borrower", "deadline": "2026-12-10T00:00:00-03:00"},
        },
    }
    assert describe(signing) == "awaiting_signature (borrower: sign by 2026-12-10)"
    waiting = {"type": "loan.stage_changed", "data": {"stage": "margin_release", "resumes_at": "2027-02-20T00:00:00"}}
    assert describe(waiting) == "margin_release (until 2027-02-20)"
    assert describe({"type": "loan.ended", "data": {"stage": "closed", "status": "completed"}}) == "completed"


async def test_the_receivers_events_by_loan_once_each_after_the_ending() -> None:
    with ThreadedServer(create_app(SECRET), free_port()) as receiver:
        first = {"type": "loan.stage_changed", "data": {"request_key": "sale-1", "stage": "averbacao"}}
        ending = {"type": "loan.ended", "data": {"request_key": "sale-1", "stage": "closed", "status": "completed"}}
        assert post(receiver.url, "sale-1:1", first) == 204
        assert post(receiver.url, "sale-1:1", first) == 204  # a repeat: answered, kept once
        assert post(receiver.url, "sale-1:2", ending) == 204
        assert unsigned(receiver.url, first) == 401
        found = await wait_for_endings(receiver.url, ["sale-1"], seconds=5)
        assert [describe(p) for p in found["sale-1"]] == ["averbacao", "completed"]
        assert repeats(receiver.url) == {"sale-1:1": 1}
