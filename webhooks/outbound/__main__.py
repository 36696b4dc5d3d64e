"""``python -m webhooks.outbound``: what operators see of the sales channel's outbox (DATABASE_* settings).

    counts                         events by status (queued, delivered, failing) and the oldest queued
    list --status S [--limit N]    events of one status, oldest first (queued, delivered)
    retry-now                      every queued event due at once (after the receiver is fixed)

Events carry no personal data; the listing shows what finds the loan (request key, sequence) and where
the delivery stands (attempts, next attempt, the receiver's last answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from runtime.store.db import DatabaseSettings
from runtime.telemetry import exit_now
from webhooks.outbound.outbox import STATUSES, Outbox


async def run(options: argparse.Namespace) -> int:
    engine = DatabaseSettings().engine()
    outbox = Outbox(engine)
    try:
        if options.command == "counts":
            report = {"counts": await outbox.counts(), "oldest_queued": await outbox.oldest_queued()}
            print(json.dumps(report, default=str, sort_keys=True))
        elif options.command == "list":
            for row in await outbox.listing(options.status, limit=options.limit):
                print(json.dumps(row, default=str, sort_keys=True))
        elif options.command == "retry-now":
            print(f"{await outbox.retry_now()} queued event(s) due now")
    finally:
        await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webhooks.outbound", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("counts", help="events by status and the oldest queued")
    listing = commands.add_parser("list", help="events of one status")
    listing.add_argument("--status", choices=STATUSES, required=True)
    listing.add_argument("--limit", type=int, default=100)
    commands.add_parser("retry-now", help="every queued event due at once")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    exit_now(main())
