"""``python -m webhooks.relay.inbox``: what operators see of the webhook inbox (DATABASE_* settings).

    counts                         events by status, and pending events no loan has claimed (unrouted)
    list --status S [--limit N]    events of one status (pending, unrouted, delivered, late, parked, expired)
    requeue EVENT_ID | #REF        an expired or parked event back to pending (after its cause is fixed)

Nothing here shows a body: bodies are sealed to the relay's key and hold PII. Event ids, provider keys,
types, statuses and notes are what an operator needs to find the loan and the provider's record; they
came from outside (the webhook's body, or a message about it), so they are shown redacted — a CPF put
in a webhook_type is not shown in clear. The provider's keys (UUIDs) stay readable; an event whose id
is shown redacted is requeued by its ``ref`` (``requeue '#12'``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping

from sqlalchemy import update

from domain.redaction import redact_provider_text
from runtime.store.db import store_engine
from runtime.store.queue import operator_commands
from runtime.store.schema import webhook_events
from runtime.telemetry import exit_now
from webhooks.inbox.arrival import PENDING
from webhooks.inbox.store import EXPIRED, PARKED, Inbox

STATUSES = ("pending", "unrouted", "delivered", "late", "parked", "expired")


# Columns whose values came from outside; the others are ours (status, counts, times, the loan id, the ref).
FROM_OUTSIDE = ("event_id", "webhook_type", "route_key", "note")


def shown(row: Mapping[str, object]) -> dict[str, object]:
    """A row as an operator may see it: every value that came from outside redacted (stored values are
    redacted as they arrive; this covers rows stored before that, and whatever a note quotes)."""
    return {
        name: redact_provider_text(value) if name in FROM_OUTSIDE and isinstance(value, str) else value
        for name, value in row.items()
    }


async def requeue(inbox: Inbox, event: str) -> bool:
    """``event``: an event id, or ``#<ref>`` as ``list`` shows it."""
    columns = webhook_events.c
    which = columns.id == int(event[1:]) if event.startswith("#") and event[1:].isdigit() else columns.event_id == event
    async with inbox.engine.begin() as connection:
        result = await connection.execute(
            update(webhook_events)
            .where(which, columns.status.in_([EXPIRED, PARKED]))
            .values(status=PENDING, next_attempt_at=None, note="requeued by an operator")
        )
    return bool(result.rowcount)


async def run(options: argparse.Namespace) -> int:
    async with store_engine() as engine:
        inbox = Inbox(engine)
        if options.command == "counts":
            print(json.dumps(await inbox.counts(), sort_keys=True))
        elif options.command == "list":
            for row in await inbox.listing(options.status, limit=options.limit):
                print(json.dumps(shown(row), default=str, sort_keys=True))
        elif options.command == "requeue":
            if not await requeue(inbox, options.event_id):
                print(f"no expired or parked event {redact_provider_text(options.event_id)!r}", file=sys.stderr)
                return 1
            print(f"requeued {redact_provider_text(options.event_id)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, commands = operator_commands(
        "python -m webhooks.relay.inbox", __doc__, statuses=STATUSES, counts="events by status"
    )
    again = commands.add_parser("requeue", help="an expired or parked event back to pending")
    again.add_argument("event_id", help="the event's id, or #REF as list shows it")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    exit_now(main())
