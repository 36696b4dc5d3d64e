"""Dataprev's answers to an averbação, with what the provider does with each — the sandbox's own copy of
the seeds' tables (seed 004 §12 "Tabela de retorno de erros Dataprev - averbação" for new credit and
refinancing, seed 002 §14's for Port+Refin), never the lender's: a double reading the lender's table
could not disagree with it.

The two tables list the same 24 codes and differ in two actions: AN (invalid disbursement account) and
IR (term beyond the benefit's end) end a new credit ("Cancelar") and are retried in Port+Refin
("Teimosinha"). An enumerator no table has (the sandbox's ``mock_error``) is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Action(StrEnum):
    RETRY = "teimosinha"  # "Teimosinha": the provider tries again
    CANCEL = "cancel"  # "Cancelar": the operation ends
    CONFIRM = "confirm"  # "Confirmar averbação": taken as reserved


@dataclass(frozen=True)
class DataprevReturn:
    code: str
    enumerator: str
    description: str
    action: Action  # seed 004 §12: new credit and refinancing
    port_refin_action: Action  # seed 002 §14: portability and its refinancing


AVERBACAO_ERRORS: dict[str, DataprevReturn] = {
    row[1]: DataprevReturn(*row)
    for row in (
        ("HW", "consignable_margin_excceded", "Exceeded consignable margin", Action.RETRY, Action.RETRY),
        ("IT", "benefit_blocked_by_tbm", "Benefit blocked due to benefit transfer", Action.RETRY, Action.RETRY),
        ("IE", "benefit_blocked_by_beneficiary", "Benefit blocked by beneficiary", Action.RETRY, Action.RETRY),
        ("AN", "invalid_disbursement_account", "Invalid disbursement bank account", Action.CANCEL, Action.RETRY),
        ("HX", "reservation_already_included", "Reservation already included", Action.CONFIRM, Action.CONFIRM),
        (
            "IF",
            "benefit_blocked_by_granting_process",
            "Benefit blocked during granting process",
            Action.RETRY,
            Action.RETRY,
        ),
        (
            "AV",
            "processing_payroll",
            "Operation couldn't be done during processing payroll period",
            Action.RETRY,
            Action.RETRY,
        ),
        ("OF", "invalid_cbc", "Invalid cbc", Action.RETRY, Action.RETRY),
        (
            "IA",
            "first_name_mismatch",
            "First name mismatch benefit owner or legal representative",
            Action.RETRY,
            Action.RETRY,
        ),
        (
            "OS",
            "legal_representative_document_number_mismatch",
            "Document number mismatch legal representative",
            Action.RETRY,
            Action.RETRY,
        ),
        ("AY", "invalid_state", "Invalid state", Action.RETRY, Action.RETRY),
        (
            "HZ",
            "operation_not_allowed_on_this_reservation_status",
            "Operation couldn't be done with current reservation status",
            Action.RETRY,
            Action.RETRY,
        ),
        ("AP", "invalid_contract_date", "Accrual, end or start contract date is invalid", Action.RETRY, Action.RETRY),
        ("GA", "required_fields_missing", "Required fields are missing", Action.RETRY, Action.RETRY),
        ("BC", "cbc_missing", "CBC is missing", Action.RETRY, Action.RETRY),
        ("NC", "contract_number_missing", "Contract number is missing", Action.RETRY, Action.RETRY),
        ("NB", "benefit_number_missing", "Benefit number is missing", Action.RETRY, Action.RETRY),
        ("CA", "invalid_bank_code", "Invalid bank code", Action.RETRY, Action.RETRY),
        (
            "HR",
            "exceeded_number_of_allowed_contracts",
            "Amount of contracts is above the limit",
            Action.RETRY,
            Action.RETRY,
        ),
        ("PV", "invalid_image_format", "Image with wrong format", Action.RETRY, Action.RETRY),
        (
            "IR",
            "operation_not_allowed_IR",
            "Operation date is greater than benefit expiration",
            Action.CANCEL,
            Action.RETRY,
        ),
        (
            "PK",
            "wrong_bank_code_destination",
            "Portability number was found with wrong bank code destination",
            Action.RETRY,
            Action.RETRY,
        ),
        (
            "PH",
            "wrong_benefit_number_on_portability",
            "Portability number was found with wrong benefit number",
            Action.RETRY,
            Action.RETRY,
        ),
        (
            "PI",
            "invalid_contract_total_amount",
            "Reservation contract total amount should be greater than Dataprev reference amount",
            Action.RETRY,
            Action.RETRY,
        ),
    )
}

SUCCESSFULLY_INCLUDED = "successfully_included"
"""Seed 004 §12 "Tabela de retorno de sucesso": BD, the reservation made."""


def description(enumerator: str) -> str | None:
    row = AVERBACAO_ERRORS.get(enumerator)
    return row.description if row else None


def action(enumerator: str, *, port_refin: bool = False) -> Action:
    """What the provider does after this answer; an enumerator no table has is retried."""
    row = AVERBACAO_ERRORS.get(enumerator)
    if row is None:
        return Action.RETRY
    return row.port_refin_action if port_refin else row.action


DDB_BLOCK_DAYS = 90
"""A new benefit's margin is blocked for loans for 90 days counted from its DDB: seed 004 §4 (the
disbursement window must reach past "os 90 dias") and seed 000's FAQ (unblocking "somente poderá ocorrer
após 90 dias, contados a partir da respectiva DDB")."""


def margin_release_day(ddb: date) -> date:
    """The first day after the 90 days (the DDB counted as day 0): the day a reservation can succeed. A
    disbursement window whose last day is not after the 90 days is canceled permanently (seed 004 §4)."""
    return ddb + timedelta(days=DDB_BLOCK_DAYS + 1)
