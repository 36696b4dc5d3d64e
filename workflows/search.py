"""Custom search attributes: how an operator finds loans in the Web UI. Never a CPF or a name here —
search attributes are not encrypted by any codec."""

from __future__ import annotations

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

LOAN_STAGE = SearchAttributeKey.for_keyword("LoanStage")
LOAN_STATUS = SearchAttributeKey.for_keyword("LoanStatus")
LOAN_PRODUCT = SearchAttributeKey.for_keyword("LoanProduct")
PROVIDER_DEBT_KEY = SearchAttributeKey.for_keyword("ProviderDebtKey")
DATAPREV_LAST_ANSWER = SearchAttributeKey.for_keyword("DataprevLastAnswer")
DISBURSEMENT_WINDOW_END = SearchAttributeKey.for_datetime("DisbursementWindowEnd")
MARGIN_RELEASE_AT = SearchAttributeKey.for_datetime("MarginReleaseAt")
MAILBOX_STATE = SearchAttributeKey.for_keyword("ProviderKeyMailboxState")
# A keyed hash (HMAC-SHA256, PII_HASH_KEY) of the borrower's CPF: operators find a loan by CPF
# (python -m starter list --cpf ...) without the CPF ever being stored in visibility.
BORROWER_CPF_HASH = SearchAttributeKey.for_keyword("BorrowerCpfHash")

ALL_KEYS = (
    LOAN_STAGE,
    LOAN_STATUS,
    LOAN_PRODUCT,
    PROVIDER_DEBT_KEY,
    DATAPREV_LAST_ANSWER,
    DISBURSEMENT_WINDOW_END,
    MARGIN_RELEASE_AT,
    MAILBOX_STATE,
    BORROWER_CPF_HASH,
)

_CLI_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
}


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` for ``temporal server start-dev``."""
    return [f"{key.name}={_CLI_TYPES[key.indexed_value_type]}" for key in ALL_KEYS]
