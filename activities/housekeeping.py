"""The loan's activities no provider owns, for a worker that does not speak to the first provider (a
second-provider-only lender): the rules pinned for a loan whose caller sent none, and the release
of a closed loan's provider keys in the webhook inbox. The first provider's adapter registers the
same names itself (``activities.qitech.adapter.LoanActivities.all``)."""

from __future__ import annotations

from typing import Any, Protocol

from temporalio import activity

from workflows.loan.activity_models import ReleaseInput
from workflows.loan.port import PIN_CURRENT_RULES, RELEASE_PROVIDER_KEYS
from workflows.loan.rules import LoanPolicy, LoanRules, current_rules


class KeyReleaser(Protocol):
    async def release(self, keys: list[str], loan_id: str) -> None: ...


@activity.defn(name=PIN_CURRENT_RULES.name)
async def pin_current_rules(policy: LoanPolicy) -> LoanRules:
    """The worker's current rule set, for a loan whose caller sent none (recorded in its history)."""
    return current_rules(policy)


class Housekeeping:
    def __init__(self, releaser: KeyReleaser) -> None:
        self._releaser = releaser

    def all(self) -> list[Any]:
        return [self.release_provider_keys, pin_current_rules]

    @activity.defn(name=RELEASE_PROVIDER_KEYS.name)
    async def release_provider_keys(self, release: ReleaseInput) -> None:
        await self._releaser.release(release.keys, release.loan_id)
