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

from runtime.store.db import store_engine
from runtime.store.queue import operator_commands
from runtime.telemetry import exit_now
from webhooks.outbound.outbox import STATUSES, Outbox


async def run(options: argparse.Namespace) -> int:
    async with store_engine() as engine:
        outbox = Outbox(engine)
        if options.command == "counts":
            report = {"counts": await outbox.counts(), "oldest_queued": await outbox.oldest_queued()}
            print(json.dumps(report, default=str, sort_keys=True))
        elif options.command == "list":
            for row in await outbox.listing(options.status, limit=options.limit):
                print(json.dumps(row, default=str, sort_keys=True))
        elif options.command == "retry-now":
            print(f"{await outbox.retry_now()} queued event(s) due now")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, commands = operator_commands(
        "python -m webhooks.outbound", __doc__, statuses=STATUSES, counts="events by status and the oldest queued"
    )
    commands.add_parser("retry-now", help="every queued event due at once")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    exit_now(main())
