"""What the second sandbox does, by the CPF's first digit, and the per-CPF overrides tests use.

Seed 003 prints no sandbox scenarios and no status values; these are ours (``manual``):

========  ======================================================================================
digit     the operation
========  ======================================================================================
2         refused: AGUARDANDO FORMALIZAÇÃO → EM ANÁLISE → REPROVADO
3         canceled during the averbação: ... → EM AVERBAÇÃO → CANCELADO
4         stays AGUARDANDO FORMALIZAÇÃO until the borrower formalizes at its ``link_form`` (or a
          test posts ``/_sandbox/operations/{debt_key}/formalize``), then completes
others    completes: AGUARDANDO FORMALIZAÇÃO → EM ANÁLISE → EM AVERBAÇÃO → AGUARDANDO PAGAMENTO → PAGO
========  ======================================================================================
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from devtools.sandbox_b.manual import CANCELED, HAPPY_PATH, REFUSED

Outcome = Literal["completes", "canceled", "refused", "formalization"]


class Faults(BaseModel):
    """Misbehaviour to inject, per request (header ``X-Sandbox-Faults``, JSON), per CPF, or for everyone."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=120_000)] = 0
    fail_5xx: Annotated[int, Field(ge=0)] = 0  # the next N calls answer 503 (before doing anything)
    fail_401: Annotated[int, Field(ge=0)] = 0  # the next N calls refuse the token (as if revoked)
    timeout_s: Annotated[float, Field(ge=0, le=600)] = 0  # do the work, then hold the answer this long
    # The next N creations are made and their answer lost (a 504 after the work): the caller must
    # find the operation instead of creating it again.
    lose_creation_answer: Annotated[int, Field(ge=0)] = 0

    def merged(self, other: Faults | None) -> Faults:
        """Field-wise: the other's non-default values win."""
        if other is None:
            return self
        values = self.model_dump()
        values.update({k: v for k, v in other.model_dump().items() if v != Faults.model_fields[k].default})
        return Faults.model_validate(values)


class Scenario(BaseModel):
    """Per-CPF overrides of the first-digit behaviour."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = "completes"
    # canceled / refused: how many statuses of the happy path it shows before its end.
    ends_after: Annotated[int, Field(ge=1, le=len(HAPPY_PATH) - 1)] = 2
    step_seconds: Annotated[float, Field(gt=0)] | None = None  # this CPF's pace (default: the setting)
    faults: Faults | None = None
    # The provider's own validation refuses the creation, naming this field of its model the way
    # seed 003's example does ("'' should be non-empty in borrower.name"): a rule we cannot see.
    refuse_field: str | None = None

    def statuses(self) -> tuple[str, ...]:
        if self.outcome == "canceled":
            return (*HAPPY_PATH[: self.ends_after], CANCELED)
        if self.outcome == "refused":
            return (*HAPPY_PATH[: self.ends_after], REFUSED)
        return HAPPY_PATH


BY_FIRST_DIGIT: dict[str, Scenario] = {
    "2": Scenario(outcome="refused", ends_after=2),
    "3": Scenario(outcome="canceled", ends_after=3),
    "4": Scenario(outcome="formalization"),
}


def default_scenario(cpf: str) -> Scenario:
    return BY_FIRST_DIGIT.get(cpf[:1], Scenario())
