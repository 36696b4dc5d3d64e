"""The rule set a loan decides by, pinned in its input when it starts.

Regulation values (rate cap, installments, DDB block days), the Dataprev averbação action table,
the lender's limits (balance rechecks, installment reduction) and the durations a loan waits all
travel in ``LoanInput.rules``. A regulation change (an edit of ``domain.regulation`` or
``domain.inss``) therefore reaches *new* loans only: a running loan keeps deciding by the values it
started with, on every replay, on any worker build.

- ``current_rules()``: today's values, read from ``domain`` — what the starter pins at start.
- ``LEGACY_RULES``: the values every loan started before rules were pinned decided by. Frozen
  here as literals on purpose: never edit them (recorded histories replay against them).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.eligibility import EligibilityLimits
from domain.fields import Rate
from domain.inss import (
    AVERBACAO_ERRORS,
    AVERBACAO_SUCCESSES,
    ENUMERATOR_ALIASES,
    PORTABILITY_ACTION_OVERRIDES,
    LenderAction,
    averbacao_action,
)
from domain.regulation import DDB_BLOCK_DAYS, MAX_INSTALLMENTS, MAX_MONTHLY_RATE


class LoanPolicy(BaseModel):
    """Durations a loan waits, from the lender's operating rules (tests shorten them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consultation_timeout: timedelta = timedelta(hours=6)
    correction_grace: timedelta = timedelta(days=1)
    provider_call_timeout: timedelta = timedelta(hours=2)
    # Reconciliation: after this long without a word from the provider in a stage that waits on it,
    # the loan asks the provider; then after twice as long, up to the maximum. Longer than the
    # provider's own redelivery (3 retries 5 minutes apart), so a lookup is the exception.
    provider_silence: timedelta = timedelta(minutes=30)
    provider_silence_max: timedelta = timedelta(hours=12)
    # Following a polled provider's operation: ask after this long, then twice as long while nothing
    # changes, up to the maximum; back to the start at each change.
    poll_every: timedelta = timedelta(minutes=1)
    poll_every_max: timedelta = timedelta(minutes=30)
    # Continue-as-new at this many events even if the server has not suggested it yet.
    history_event_limit: int = Field(default=2000, ge=100)


class LoanRules(BaseModel):
    """Everything a loan decides by that a regulation or the lender may change over time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """Which rule set this is (e.g. ``regulation-2025-04``): operators see it in the loan's state."""
    max_monthly_rate: Rate
    max_installments: Annotated[int, Field(ge=1)]
    ddb_block_days: Annotated[int, Field(ge=0)]
    averbacao_actions: dict[str, LenderAction]
    """Dataprev averbação enumerator → what the lender does (teimosinha, cancel, confirm)."""
    port_refin_averbacao_actions: dict[str, LenderAction] | None = None
    """The same for a portability's legs: seed 002's Port+Refin table (AN and IR are teimosinha there).
    None in rule sets pinned before it was: their legs read ``domain.inss``'s Port+Refin table, as they
    always did."""
    max_balance_rechecks: Annotated[int, Field(ge=0)] = 3
    """New balance consultations the averbação may ask for before the loan gives up."""
    max_installment_reduction: Annotated[Decimal, Field(gt=0, lt=1)] = Decimal("0.3")
    """How much lower a reduced installment may be (the provider's recalculation limit)."""
    policy: LoanPolicy = LoanPolicy()
    edition: Annotated[int, Field(ge=1)] = 1
    """How the loan reads the world, pinned like the values: 1, the first edition; 2, the seed-004
    review (eligibility per seed 004 §2/§12, the requester_identifier_key a UUID, the CCB's signer
    roles checked, Dataprev's success returns told apart). Rule sets without it are edition 1."""

    @property
    def eligibility(self) -> EligibilityLimits:
        return EligibilityLimits(
            max_monthly_rate=self.max_monthly_rate, max_installments=self.max_installments, seed_004=self.edition >= 2
        )

    def averbacao_action(self, enumerator: str, *, port_refin: bool = False) -> LenderAction | None:
        """The lender's action for an averbação answer (of a portability's leg: ``port_refin``); None for
        an enumerator this rule set lacks."""
        canonical = ENUMERATOR_ALIASES.get(enumerator, enumerator)
        if not port_refin:
            return self.averbacao_actions.get(canonical)
        if self.port_refin_averbacao_actions is None:
            return averbacao_action(canonical, portability=True)
        return self.port_refin_averbacao_actions.get(canonical)

    @property
    def pins_port_refin(self) -> bool:
        return self.port_refin_averbacao_actions is not None


def _actions(*, portability: bool) -> dict[str, LenderAction]:
    # Only BD (included) is the averbação's own success; BF/BR/BS answer removals, reactivations
    # and suspensions (seed 004 §12 prints no action for them): loan.facts tells them apart.
    included = (row for row in AVERBACAO_SUCCESSES if row.enumerator == "successfully_included")
    table = {row.enumerator: row.action for row in (*AVERBACAO_ERRORS, *included)}
    if portability:
        # Seed 002 keeps AN and IR in teimosinha for Port+Refin; 001/004 cancel them for new credit.
        table.update(PORTABILITY_ACTION_OVERRIDES)
    return table


CURRENT_RULES_NAME = "regulation-2025-04/edition-2"
"""Name today's values: bump it whenever a value below changes (CNPS 2025-03 cap in force since April 2025)."""
CURRENT_EDITION = 2


def current_rules(policy: LoanPolicy | None = None) -> LoanRules:
    """Today's rule set, from ``domain`` (the one place regulation values are edited): both averbação
    tables, new credit's (seed 004) and Port+Refin's (seed 002), so a portability's legs decide by the
    table pinned when the loan started, as everything else does."""
    return LoanRules(
        name=CURRENT_RULES_NAME,
        max_monthly_rate=MAX_MONTHLY_RATE.value,
        max_installments=MAX_INSTALLMENTS.value,
        ddb_block_days=DDB_BLOCK_DAYS.value,
        averbacao_actions=_actions(portability=False),
        port_refin_averbacao_actions=_actions(portability=True),
        policy=policy or LoanPolicy(),
        edition=CURRENT_EDITION,
    )


_R, _C, _OK = LenderAction.RETRY, LenderAction.CANCEL, LenderAction.CONFIRM

LEGACY_AVERBACAO_ACTIONS = MappingProxyType(
    {
        "consignable_margin_excceded": _R,
        "benefit_blocked_by_tbm": _R,
        "benefit_blocked_by_beneficiary": _R,
        "invalid_disbursement_account": _C,
        "reservation_already_included": _OK,
        "benefit_blocked_by_granting_process": _R,
        "processing_payroll": _R,
        "invalid_cbc": _R,
        "first_name_mismatch": _R,
        "legal_representative_document_number_mismatch": _R,
        "invalid_state": _R,
        "operation_not_allowed_on_this_reservation_status": _R,
        "invalid_contract_date": _R,
        "required_fields_missing": _R,
        "cbc_missing": _R,
        "contract_number_missing": _R,
        "benefit_number_missing": _R,
        "invalid_bank_code": _R,
        "exceeded_number_of_allowed_contracts": _R,
        "invalid_image_format": _R,
        "operation_not_allowed_IR": _C,
        "wrong_bank_code_destination": _R,
        "wrong_benefit_number_on_portability": _R,
        "invalid_contract_total_amount": _R,
        "successfully_included": _OK,
        "successfully_removed": _OK,
        "successfully_reactivated": _OK,
        "successfully_suspended": _OK,
    }
)


def legacy_rules(policy: LoanPolicy) -> LoanRules:
    """The rules of a loan started before rules were pinned (its input has only a policy)."""
    return LoanRules(
        name="legacy-unpinned",
        max_monthly_rate=Decimal("0.0185"),
        max_installments=96,
        ddb_block_days=90,
        averbacao_actions=dict(LEGACY_AVERBACAO_ACTIONS),
        max_balance_rechecks=3,
        max_installment_reduction=Decimal("0.3"),
        policy=policy,
    )
