"""The sandbox's state in a SQLite file (``SANDBOX_STATE_PATH``), written ahead (sandbox.journal): a
sandbox killed with SIGKILL at any moment comes back knowing every debt, document, consultation,
proposal and webhook it ever revealed, and sends a webhook it had not settled again as the same event
(same ``event_key`` and body), never as a new one.

Commits happen as each HTTP answer starts (journal.CommitBeforeAnswer), before each webhook attempt
leaves (the dispatcher's ``before_send``), after each timer ran, after the window sweep, and at a
clean shutdown. Timers travel as entries (sandbox.timers) and run again, under the same id, for the
time they had left. Without the setting none of this runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from devtools.sandbox.clock import CLOCK
from devtools.sandbox.delivery import WebhookDispatcher
from devtools.sandbox.journal import Journal
from devtools.sandbox.portability import PortabilitySandbox
from devtools.sandbox.provider import SandboxProvider

log = logging.getLogger(__name__)

STATE_VERSION = 4
"""Bumped whenever the entries' shape changes: another version's rows are not read back."""


class SandboxState:
    """Attaches the sandbox's parts to a journal, loads them at startup and commits as they change."""

    def __init__(
        self,
        path: Path,
        provider: SandboxProvider,
        portability: PortabilitySandbox,
        dispatcher: WebhookDispatcher,
        *,
        verify: bool = False,
    ) -> None:
        self.journal = Journal(path, STATE_VERSION, verify=verify)
        self.provider, self.portability, self.dispatcher = provider, portability, dispatcher
        self.journal.attach("provider", provider)
        self.journal.attach("portability", portability)
        self.journal.attach("dispatcher", dispatcher)
        self.journal.attach("timers", provider.timers)
        self.journal.single("clock.offset", lambda: CLOCK.offset, _set_offset)
        # What reveals or changes the state besides an HTTP answer: a webhook leaving, a timer firing.
        dispatcher.before_send = self.journal.commit
        dispatcher.on_settled = self.journal.commit
        dispatcher.unit = self.journal.unit
        provider.timers.unit = self.journal.unit
        provider.timers.on_fired = self.journal.commit

    @property
    def saved(self) -> bool:
        """Nothing changed since the last commit (healthz shows it)."""
        return self.journal.clean

    def load(self) -> None:
        """Take the state back, if any (in the event loop: timers and deliveries start again)."""
        if not self.journal.load():
            return
        timers = self.provider.timers.resume()
        resent = self.dispatcher.resume()
        log.info(
            "sandbox state loaded from %s: %d debts, %d proposals, %d timers resumed, %d webhooks sent again",
            self.journal.path,
            len(self.provider.debts),
            len(self.portability.proposals),
            timers,
            resent,
        )

    def commit(self) -> None:
        self.journal.commit()

    def close(self) -> None:
        self.journal.commit()  # the last changes, and the timers still pending, for the next start
        self.journal.close()


def _set_offset(value: object) -> None:
    CLOCK.offset = value  # type: ignore[assignment]  # a timedelta, written by this code
