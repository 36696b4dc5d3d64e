"""Who signs a loan and whose account it pays into: rules over the loan's request and the benefit's
facts, the same for every provider."""

from __future__ import annotations

from pydantic import ValidationError

from domain.benefit import BenefitFacts
from domain.loan import DisbursementAccount, LoanRequest


def expected_signer(request: LoanRequest) -> tuple[str, str]:
    """(role, CPF) of who must sign the CCB: the legal representative for a represented beneficiary."""
    if request.legal_representative:
        return "issuer_legal_representative", request.legal_representative.cpf
    return "issuer", request.borrower.cpf


def same_account(one: DisbursementAccount, other: DisbursementAccount) -> bool:
    """The same bank account, however its numbers are zero-padded."""

    def plain(account: DisbursementAccount) -> tuple[str, ...]:
        digits = (account.bank_code, account.branch_number, account.account_number, account.account_digit)
        return tuple(part.lstrip("0") or "0" for part in digits)

    return plain(one) == plain(other)


def paying_account(benefit: BenefitFacts) -> DisbursementAccount | None:
    """The account the benefit is paid into (balance answer's ``disbursement_bank_account``), as a
    disbursement account: seeds 000 and 003 say to disburse there, where AN cannot happen."""
    account = benefit.paying_account
    if account is None:
        return None
    try:
        return DisbursementAccount(
            bank_code=account.bank_code,
            branch_number=account.branch_number,
            account_number=account.account_number,
            account_digit=account.account_digit,
        )
    except ValidationError:
        return None  # an account we could not pay into: the loan says so instead
