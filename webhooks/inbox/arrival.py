"""What the gateway reads of a verified webhook before storing it: its identity, its type and the
provider key that routes it to a loan — and, when it cannot be routed (an unknown type, no key, a
field that does not parse), why, so the event is parked for an operator instead of lost. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from activities.qitech.models.webhooks import WebhookRejected, event_identity, load_json, parse_webhook, unwrap
from activities.wire import MAX_DEPTH, TooDeep
from domain.redaction import redact_provider_text

PENDING, PARKED = "pending", "parked"

# What the inbox's columns hold (runtime.store.schema): an outside value past them would make
# PostgreSQL refuse the insert (503, retried by the provider until it gives up).
EVENT_ID_LENGTH, TYPE_LENGTH, KEY_LENGTH, NOTE_LENGTH = 128, 120, 200, 500


def outside_text(text: str, limit: int) -> str:
    """A value that came in a webhook, as the inbox (and so an operator) may hold it: whatever reads as
    personal (a CPF, a name's digits, an e-mail, a quoted value) redacted, cut to its column."""
    return redact_provider_text(text)[:limit]


def _event_id(event_key: str) -> str:
    """The provider's event key as our event's identity, exactly, when it is safe to keep in clear and
    fits; otherwise its digest (still one identity per key, so a retry is still a duplicate)."""
    if len(event_key) <= EVENT_ID_LENGTH - len("event_key:") and redact_provider_text(event_key) == event_key:
        return f"event_key:{event_key}"
    return "event_key:sha256:" + hashlib.sha256(event_key.encode()).hexdigest()


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
        # The parser's reasons name positions and at most a character of the body.
        digest = "raw:" + hashlib.sha256(body).hexdigest()
        return Arrival(digest, None, None, PARKED, outside_text(f"the body is not JSON: {error}", NOTE_LENGTH))
    event_key = _provider_event_key(payload)
    event_id = _event_id(event_key) if event_key else event_identity(payload)
    inner = unwrap(payload)
    webhook_type = inner.get("webhook_type") if isinstance(inner, dict) else None
    # Parked, the type is whatever the body said: kept for the operator, but redacted (a CPF placed in
    # webhook_type must not reach the store, the view or a metric's label in clear).
    type_text = outside_text(webhook_type, TYPE_LENGTH) if isinstance(webhook_type, str) else None
    try:
        webhook = parse_webhook(payload)
    except WebhookRejected as rejected:
        note = outside_text(f"{rejected.reason}: {rejected}", NOTE_LENGTH)
        return Arrival(event_id, type_text, _key(inner), PARKED, note)
    if len(webhook.key) > KEY_LENGTH:  # no provider key we were ever given is that long: nothing routes it
        return Arrival(
            event_id, str(webhook.webhook_type), None, PARKED, f"invalid_field: the key is over {KEY_LENGTH} characters"
        )
    return Arrival(event_id, str(webhook.webhook_type), webhook.key, PENDING)


def _key(inner: Any) -> str | None:
    """A parked event's key, kept as sent when it could be one of ours (a requeued event routes by it):
    the provider's keys are UUIDs, so one that fits and reads as nothing personal."""
    if isinstance(inner, dict):
        key = inner.get("key") or inner.get("proposal_key")
        if isinstance(key, str) and len(key) <= KEY_LENGTH and redact_provider_text(key) == key:
            return key
    return None
