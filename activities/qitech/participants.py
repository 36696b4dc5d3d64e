"""The CTC participants (seed 002 §9): the banks a portability can bring a contract from, cached in the
store. A Temporal Schedule refreshes the list (``catalog``); a proposal reads the cache, so a loan never
waits on the list and an origin bank outside it is refused before anything reaches the provider."""

from __future__ import annotations

from datetime import datetime

from activities.qitech.client import ProviderClient
from activities.qitech.models.portability import CtcParticipant, CtcParticipants
from domain.loan import ProviderId
from runtime.store.products import ProductTables
from workflows.loan.port import REFRESH_CTC_PARTICIPANTS, activity_name

TABLE = activity_name(ProviderId.QITECH, REFRESH_CTC_PARTICIPANTS)
"""The store's key for the list (the product tables' table holds one body per provider table)."""


class CtcParticipantsCatalog:
    def __init__(self, provider: ProviderClient, tables: ProductTables) -> None:
        self._provider = provider
        self._tables = tables

    async def refresh(self) -> CtcParticipants:
        """The list from the provider into the store (what the Schedule runs)."""
        participants = await self._provider.ctc_participants()
        await self._tables.save(TABLE, participants.model_dump_json())
        return participants

    async def cached(self) -> tuple[CtcParticipants, datetime] | None:
        found = await self._tables.load(TABLE)
        if found is None:
            return None
        return CtcParticipants.model_validate_json(found[0]), found[1]

    async def participant(self, ispb: str) -> CtcParticipant | None:
        """The bank with this ISPB. Before the Schedule's first run, the list is fetched once here."""
        cached = await self.cached()
        participants = cached[0] if cached is not None else await self.refresh()
        return participants.by_ispb(ispb)
