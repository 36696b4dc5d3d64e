"""What the gateway reads of a verified webhook before storing it: its identity, its type and the
provider key that routes it to a loan — and, when it cannot be routed (an unknown type, no key, a
field that does not parse), why, so the event is parked for an operator instead of lost. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from activities.qitech.models.webhooks import WebhookRejected, event_identity, load_json, parse_webhook, unwrap
from activities.wire import MAX_DEPTH, TooDeep

PENDING, PARKED = "pending", "parked"


@dataclass(frozen=True)
class Arrival:
    event_id: str
    webhook_type: str | None
    route_key: str | None
    status: str  # pending (routable) | parked (stored for an operator)
    note: str | None = None


def _provider_event_key(payload: Any) -> str | None:
    """The provider's own identity of the event, where it sends one (its resend API names events by
    ``event_key``); a retry of the same event carries the same one, two events never do."""
    for candidate in (payload, unwrap(payload)):
        if isinstance(candidate, dict) and isinstance(candidate.get("event_key"), str) and candidate["event_key"]:
            return str(candidate["event_key"])
    return None


def read_arrival(body: bytes, *, max_depth: int = MAX_DEPTH) -> Arrival:
    """Raises ``TooDeep`` for a body nested past what any provider sends (checked before parsing):
    that is refused, not parked — it is no payload that grew, and storing it would hand the relay and
    an operator's view the same recursion."""
    try:
        payload = load_json(body, max_depth=max_depth)
    except TooDeep:
        raise
    except (ValueError, UnicodeDecodeError) as error:
        # The parser's reasons name positions, never content (a number past the digits we read, too).
        digest = "raw:" + hashlib.sha256(body).hexdigest()
        return Arrival(digest, None, None, PARKED, f"the body is not JSON: {error}"[:300])
    event_key = _provider_event_key(payload)
    event_id = f"event_key:{event_key}" if event_key else event_identity(payload)
    inner = unwrap(payload)
    webhook_type = inner.get("webhook_type") if isinstance(inner, dict) else None
    type_text = webhook_type if isinstance(webhook_type, str) else None
    try:
        webhook = parse_webhook(payload)
    except WebhookRejected as rejected:
        return Arrival(event_id, type_text, _key(inner), PARKED, f"{rejected.reason}: {rejected}"[:500])
    return Arrival(event_id, str(webhook.webhook_type), webhook.key, PENDING)


def _key(inner: Any) -> str | None:
    if isinstance(inner, dict):
        key = inner.get("key") or inner.get("proposal_key")
        return key if isinstance(key, str) else None
    return None
