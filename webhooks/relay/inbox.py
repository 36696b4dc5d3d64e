"""``python -m webhooks.relay.inbox``: what operators see of the webhook inbox (DATABASE_* settings).

    counts                         events by status, and pending events no loan has claimed (unrouted)
    list --status S [--limit N]    events of one status (pending, unrouted, delivered, late, parked, expired)
    requeue EVENT_ID               an expired or parked event back to pending (after its cause is fixed)

Nothing here shows a body: bodies are sealed to the relay's key and hold PII. Event ids, provider keys,
types, statuses and notes are what an operator needs to find the loan and the provider's record.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from sqlalchemy import update

from runtime.store.db import DatabaseSettings
from runtime.store.schema import webhook_events
from runtime.telemetry import exit_now
from webhooks.inbox.arrival import PENDING
from webhooks.inbox.store import EXPIRED, PARKED, Inbox

STATUSES = ("pending", "unrouted", "delivered", "late", "parked", "expired")


async def requeue(inbox: Inbox, event_id: str) -> bool:
    async with inbox.engine.begin() as connection:
        result = await connection.execute(
            update(webhook_events)
            .where(webhook_events.c.event_id == event_id, webhook_events.c.status.in_([EXPIRED, PARKED]))
            .values(status=PENDING, next_attempt_at=None, note="requeued by an operator")
        )
    return bool(result.rowcount)


async def run(options: argparse.Namespace) -> int:
    engine = DatabaseSettings().engine()
    inbox = Inbox(engine)
    try:
        if options.command == "counts":
            print(json.dumps(await inbox.counts(), sort_keys=True))
        elif options.command == "list":
            for row in await inbox.listing(options.status, limit=options.limit):
                print(json.dumps(row, default=str, sort_keys=True))
        elif options.command == "requeue":
            if not await requeue(inbox, options.event_id):
                print(f"no expired or parked event {options.event_id!r}", file=sys.stderr)
                return 1
            print(f"requeued {options.event_id}")
    finally:
        await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webhooks.relay.inbox", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("counts", help="events by status")
    listing = commands.add_parser("list", help="events of one status")
    listing.add_argument("--status", choices=STATUSES, required=True)
    listing.add_argument("--limit", type=int, default=100)
    again = commands.add_parser("requeue", help="an expired or parked event back to pending")
    again.add_argument("event_id")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    exit_now(main())
