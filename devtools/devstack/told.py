"""What the sales channel was told about the sample loans, as its development receiver has it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import httpx


def describe(payload: dict[str, Any]) -> str:
    """One event in a few words: the stage and what the borrower must do by when, or the ending."""
    data = payload.get("data", {})
    if payload.get("type") == "loan.ended":
        return str(data.get("status"))
    words = str(data.get("stage"))
    action = data.get("next_action")
    if action:
        deadline = f" by {str(action['deadline'])[:10]}" if action.get("deadline") else ""
        words += f" ({action['by']}: {action['action']}{deadline})"
    if data.get("resumes_at"):
        words += f" (until {str(data['resumes_at'])[:10]})"
    return words


async def events_by_loan(receiver_url: str) -> dict[str, list[dict[str, Any]]]:
    async with httpx.AsyncClient(base_url=receiver_url, timeout=5.0) as receiver:
        answer = await receiver.get("/events")
    answer.raise_for_status()
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in answer.json()["events"]:
        found.setdefault(entry["payload"]["data"]["request_key"], []).append(entry["payload"])
    return found


async def wait_for_endings(receiver_url: str, ended: Iterable[str], *, seconds: float = 15.0) -> dict[str, Any]:
    """The events by loan, once every loan in ``ended`` has its ending there (or ``seconds`` passed:
    the relay delivers within moments of the loans' news, unless the receiver is in trouble)."""
    wanted, deadline = set(ended), time.monotonic() + seconds
    while True:
        try:
            found = await events_by_loan(receiver_url)
        except httpx.HTTPError:
            found = {}
        done = {key for key, events in found.items() if events and events[-1].get("type") == "loan.ended"}
        if wanted <= done or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)
