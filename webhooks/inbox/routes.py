"""The loans' side of routing: an activity tells the inbox a provider key is its loan's as soon as the
provider's answer names the key — before the workflow sees it — and releases the keys when the loan
closes (implements loan.activities.KeyClaimer)."""

from __future__ import annotations

import logging

from webhooks.inbox.store import Inbox

log = logging.getLogger(__name__)


class SqlKeyRouter:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def claim(self, key: str, loan_id: str) -> None:
        owner = await self._inbox.route(key, loan_id)
        if owner != loan_id:
            # Two loans cannot own one provider key: the first claim stands, and this is on record.
            log.warning("provider key already routed to another loan; this loan's claim is ignored")

    async def release(self, keys: list[str], loan_id: str) -> None:
        await self._inbox.release(keys, loan_id)
