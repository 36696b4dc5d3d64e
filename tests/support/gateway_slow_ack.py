"""``python -m tests.support.gateway_slow_ack``: the real gateway, except that once a webhook is stored
(committed to the inbox, by its group commit's ``Inbox.put_many``) it waits
``GATEWAY_TEST_PAUSE_AFTER_STORE_SECONDS`` before answering — a window a crash test kills the process
in, so the provider never gets the acknowledgement of an event the inbox already holds. Test support
only: production runs ``python -m webhooks.gateway``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from webhooks.gateway.__main__ import main
from webhooks.inbox.store import Inbox

PAUSE = float(os.environ.get("GATEWAY_TEST_PAUSE_AFTER_STORE_SECONDS", "5"))
_store = Inbox.put_many


async def _stored_then_paused(self: Inbox, *args: Any, **kwargs: Any) -> list[bool]:
    stored = await _store(self, *args, **kwargs)
    await asyncio.sleep(PAUSE)
    return stored


if __name__ == "__main__":
    Inbox.put_many = _stored_then_paused  # type: ignore[method-assign]
    main()
