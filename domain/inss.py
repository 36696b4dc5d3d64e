"""The INSS / Dataprev vocabulary a loan decides by: benefit status, situation and block type,
and Dataprev's averbação return codes with the lender's action for each.

These are Dataprev's tables as the lender's manuals print them (seed 004 §12; seed 002 for
Port+Refin). The action column is a *rule*: a loan reads it from its pinned rule set
(``workflows.loan.rules``), so a change here applies to new loans only.

Seed discrepancy worth knowing: for AN (invalid_disbursement_account) and IR
(operation_not_allowed_IR) seeds 001 and 004 say "Cancelar", seed 002 says "Teimosinha". New credit
follows 004; the Port+Refin table (``PORTABILITY_ACTION_OVERRIDES``) follows 002.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class LenderAction(StrEnum):
    """What the lender does with an averbação answer (the manuals' "Ação Qi" column)."""

    RETRY = "retry"  # "Teimosinha": the provider keeps retrying; the loan waits
    CANCEL = "cancel"  # "Cancelar": the operation ends unless its data is corrected
    CONFIRM = "confirm"  # "Confirmar averbação": treat as registered


class BenefitStatus(StrEnum):
    """Seed 004 §12 "Tabela de status de benefícios" (printed capitalised, sent lower-case)."""

    ELEGIBLE = "elegible"
    INELEGIBLE = "inelegible"
    BLOCKED = "blocked"


class BenefitSituation(StrEnum):
    """Seed 004 §12 "Tabela de situação de benefícios"."""

    ACTIVE = "active"
    EXCLUDED = "excluded"
    TERMINATED = "terminated"
    SUSPENDED = "suspended"
    SUSPENDED_BY_CONPAG = "suspended_by_CONPAG"
    TERMINATED_BY_SISOBI = "terminated_by_SISOBI"
    RECEIVING_MONTHLY_RECOVER_6_MONTHS = "receiving_monthly_recover_6_months"
    RECEIVING_MONTHLY_RECOVER_18_MONTHS = "receiving_monthly_recover_18_months"
    SUSPENDED_BY_NAME_ERROR = "suspended_by_name_error"
    SUSPENDED_BY_CREDENTIALED_PAYER = "suspended_by_credentialed_payer"
    SUSPENDED_BY_INSPECTION = "suspended_by_inspection"
    SUSPENDED_BY_AUDIT = "suspended_by_audit"
    TERMINATED_BY_INSPECTION = "terminated_by_inspection"
    TERMINATED_BY_AUDIT = "terminated_by_audit"
    RECEIVING_MONTHLY_RECOVER_6_MONTHS_INSPECTION = "receiving_monthly_recover_6_months_inspection"
    RECEIVING_MONTHLY_RECOVER_18_MONTHS_INSPECTION = "receiving_monthly_recover_18_months_inspection"
    SUSPENDED_BY_SISOBI = "suspended_by_SISOBI"
    CANCELED_BY_AUDIT = "canceled_by_audit"


class BlockType(StrEnum):
    """Seed 004 §12 "Tabela de tipos de bloqueio" gives codes 0-3; only ``not_blocked`` is seen spelled.

    The other spellings are inferred from the averbação enumerators for the same blocks
    (benefit_blocked_by_beneficiary / _by_tbm / _by_granting_process); anything else stays Unknown,
    and the eligibility rule treats every value but ``not_blocked`` as blocked.
    """

    NOT_BLOCKED = "not_blocked"
    BLOCKED_BY_BENEFICIARY = "blocked_by_beneficiary"
    BLOCKED_BY_TBM = "blocked_by_tbm"
    BLOCKED_BY_GRANTING_PROCESS = "blocked_by_granting_process"


@dataclass(frozen=True)
class DataprevReturn:
    """One row of a Dataprev return table."""

    code: str
    enumerator: str
    description: str
    action: LenderAction
    source: str


def _rows(source: str, rows: tuple[tuple[str, str, str, LenderAction], ...]) -> tuple[DataprevReturn, ...]:
    return tuple(DataprevReturn(code, enum, desc, action, source) for code, enum, desc, action in rows)


_R, _C, _OK = LenderAction.RETRY, LenderAction.CANCEL, LenderAction.CONFIRM

AVERBACAO_ERRORS: tuple[DataprevReturn, ...] = _rows(
    "seed 004 §12 Tabela de retorno de erros Dataprev - averbação",
    (
        ("HW", "consignable_margin_excceded", "Exceeded consignable margin", _R),
        ("IT", "benefit_blocked_by_tbm", "Benefit blocked due to benefit transfer", _R),
        ("IE", "benefit_blocked_by_beneficiary", "Benefit blocked by beneficiary", _R),
        ("AN", "invalid_disbursement_account", "Invalid disbursement bank account", _C),
        ("HX", "reservation_already_included", "Reservation already included", _OK),
        ("IF", "benefit_blocked_by_granting_process", "Benefit blocked during granting process", _R),
        ("AV", "processing_payroll", "Operation couldn`t be done during processing payroll period", _R),
        ("OF", "invalid_cbc", "Invalid cbc", _R),
        ("IA", "first_name_mismatch", "First name mismatch benefit owner or legal representative", _R),
        ("OS", "legal_representative_document_number_mismatch", "Document number mismatch legal representative", _R),
        ("AY", "invalid_state", "Invalid state", _R),
        (
            "HZ",
            "operation_not_allowed_on_this_reservation_status",
            "Operation couldn`t be done with current reservation status",
            _R,
        ),
        ("AP", "invalid_contract_date", "Accrual, end or start contract date is invalid", _R),
        ("GA", "required_fields_missing", "Required fields are missing", _R),
        ("BC", "cbc_missing", "CBC is missing", _R),
        ("NC", "contract_number_missing", "Contract number is missing", _R),
        ("NB", "benefit_number_missing", "Benefit number is missing", _R),
        ("CA", "invalid_bank_code", "Invalid bank code", _R),
        ("HR", "exceeded_number_of_allowed_contracts", "Amount of contracts is above the limit", _R),
        ("PV", "invalid_image_format", "Image with wrong format", _R),
        ("IR", "operation_not_allowed_IR", "Operation date is greater than benefit expiration", _C),
        ("PK", "wrong_bank_code_destination", "Portability number was found with wrong bank code destination", _R),
        ("PH", "wrong_benefit_number_on_portability", "Portability number was found with wrong benefit number", _R),
        (
            "PI",
            "invalid_contract_total_amount",
            "Reservation contract total amount should be greater than Dataprev reference amount",
            _R,
        ),
    ),
)

PORTABILITY_ACTION_OVERRIDES: MappingProxyType[str, LenderAction] = MappingProxyType(
    {"invalid_disbursement_account": _R, "operation_not_allowed_IR": _R}
)
"""Seed 002 (Port+Refin reference) keeps AN and IR in teimosinha; 001 and 004 cancel them."""

PORT_REFIN_AVERBACAO_ERRORS: tuple[DataprevReturn, ...] = tuple(
    DataprevReturn(
        row.code,
        row.enumerator,
        row.description,
        PORTABILITY_ACTION_OVERRIDES.get(row.enumerator, row.action),
        "seed 002 §14 Tabela de retorno de erros Dataprev - averbação",
    )
    for row in AVERBACAO_ERRORS
)
"""The averbação errors as seed 002 prints them for Port+Refin: the same codes, enumerators and
descriptions as 004's table, every action Teimosinha but HX (Confirmar averbação)."""

AVERBACAO_SUCCESSES: tuple[DataprevReturn, ...] = _rows(
    "seed 004 §12 Tabela de retorno de sucesso - averbação",
    (
        ("BD", "successfully_included", "Inclusion has been successfully done", _OK),
        ("BF", "successfully_removed", "Removal has been successfully done", _OK),
        ("BR", "successfully_reactivated", "Reactivation has been successfully done", _OK),
        ("BS", "successfully_suspended", "Suspension has been successfully done", _OK),
    ),
)

# The manuals spell some enumerators two ways ("succesfully_included" in the last-response
# examples, "successfully_included" in the table).
ENUMERATOR_ALIASES: MappingProxyType[str, str] = MappingProxyType({"succesfully_included": "successfully_included"})

_AVERBACAO_BY_ENUMERATOR = {row.enumerator: row for row in AVERBACAO_ERRORS + AVERBACAO_SUCCESSES}


def averbacao_return(enumerator: str) -> DataprevReturn | None:
    """The table row for an averbação enumerator (errors or successes), or None if unknown."""
    return _AVERBACAO_BY_ENUMERATOR.get(ENUMERATOR_ALIASES.get(enumerator, enumerator))


def averbacao_action(enumerator: str, *, portability: bool = False) -> LenderAction | None:
    """What the lender does with this averbação answer; None for an enumerator no table has."""
    canonical = ENUMERATOR_ALIASES.get(enumerator, enumerator)
    if portability and canonical in PORTABILITY_ACTION_OVERRIDES:
        return PORTABILITY_ACTION_OVERRIDES[canonical]
    row = _AVERBACAO_BY_ENUMERATOR.get(canonical)
    return row.action if row else None


# How a benefit is paid to its holder: a magnetic card or into a checking account. Both providers
# spell it so (seed 004's consultation answer, seed 003's client); no docstring: the published contract
# describes the enum as the first provider's did.
class CreditType(StrEnum):
    MAGNETIC_CARD = "magnetic_card"
    CHECKING_ACCOUNT = "checking_account"
