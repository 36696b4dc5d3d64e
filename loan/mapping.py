"""From a loan (our model) to the provider's request shapes, and from its answers to ours. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.loan import CollateralFix, DisbursementAccount, LoanRequest, Person, Product
from pricing.engine import QuoteOption
from provider.enumerators import OperationCategory
from provider.models.common import DisbursementAccount as ProviderAccount
from provider.models.consultation import AuthorizationTerm, BalanceRequest, BenefitsRequest
from provider.models.debt import (
    AdditionalData,
    Borrower,
    ChangeDisbursementDate,
    CollateralBankAccount,
    CollateralCorrection,
    DebtIssuanceRequest,
    LegalRepresentative,
    ReapresentacaoAccount,
)
from provider.models.simulation import (
    DebtSimulationRequest,
    DisbursementOption,
    Financial,
    FineConfiguration,
    RefinancedOperation,
)

from .state import PricedOption


@dataclass(frozen=True)
class LenderTerms:
    """What the lender sets for every loan, outside the request (worker configuration)."""

    purchaser_cnpj: str  # cessionário (seed 004: purchaser_document_number)
    fine_monthly_rate: Decimal = Decimal("0.01")
    fine_contract_rate: Decimal = Decimal("0.02")
    subcorban_cnpj: str | None = None


def authorization_term(request: LoanRequest) -> AuthorizationTerm:
    signer = request.signer
    term = request.authorization_term
    return AuthorizationTerm.model_validate(
        {
            "document_number": request.borrower.cpf,
            "legal_representative_document_number": request.legal_representative.cpf
            if request.legal_representative
            else None,
            "signature": {
                "signer": {
                    "name": signer.name,
                    "email": signer.email or "",
                    "phone": signer.phone,
                    "document_number": signer.cpf,
                },
                "authenticity": {
                    "timestamp": term.signed_at,
                    "ip_address": term.ip_address,
                    "session_id": term.session_id,
                },
                "signed_object": {"document_key": term.document_key, "raw_text": term.raw_text},
            },
        }
    )


def benefits_request(request: LoanRequest) -> BenefitsRequest:
    return BenefitsRequest(document_number=request.borrower.cpf, authorization_term=authorization_term(request))


def balance_request(request: LoanRequest) -> BalanceRequest:
    # Case 2 (term sent again): works whether or not the provider kept the earlier one.
    return BalanceRequest(
        document_number=request.borrower.cpf,
        benefit_number=request.benefit.number,
        authorization_term=authorization_term(request),
    )


def financial(request: LoanRequest, lender: LenderTerms, *, installment: Decimal | None = None) -> Financial:
    terms = request.financial
    fixed_installment = installment if installment is not None else terms.installment_value
    return Financial(
        first_due_date=terms.first_due_date,
        disbursement_date=terms.disbursement_date,
        limit_days_to_disburse=terms.limit_days_to_disburse,
        number_of_installments=terms.number_of_installments,
        installment_face_value=fixed_installment,
        disbursed_amount=terms.disbursed_amount if installment is None else None,
        monthly_interest_rate=terms.monthly_interest_rate,
        fine_configuration=FineConfiguration(
            monthly_rate=lender.fine_monthly_rate, contract_fine_rate=lender.fine_contract_rate
        ),
    )


def _refinanced(request: LoanRequest) -> list[RefinancedOperation] | None:
    keys = request.refinanced_operation_keys
    return [RefinancedOperation(operation_key=k) for k in keys] if keys else None


def simulation_request(request: LoanRequest, lender: LenderTerms) -> DebtSimulationRequest:
    return DebtSimulationRequest(
        financial=financial(request, lender), refinanced_credit_operations=_refinanced(request)
    )


def _person_fields(person: Person) -> dict[str, object]:
    return {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "address": person.address,
        "is_pep": person.is_pep,
        "individual_document_number": person.cpf,
        "birth_date": person.birth_date,
        "mother_name": person.mother_name,
    }


def provider_account(account: DisbursementAccount, holder: Person) -> ProviderAccount:
    return ProviderAccount(
        name=holder.name,
        bank_code=account.bank_code,
        branch_number=account.branch_number,
        account_number=account.account_number,
        account_digit=account.account_digit,
        document_number=holder.cpf,
        transfer_method=account.transfer_method,
        account_type=account.account_type,
    )


def issuance_request(request: LoanRequest, lender: LenderTerms, assistance_type: str | None) -> DebtIssuanceRequest:
    borrower = Borrower.model_validate({**_person_fields(request.borrower), "gender": request.borrower.gender})
    representatives = (
        [LegalRepresentative.model_validate(_person_fields(request.legal_representative))]
        if request.legal_representative
        else None
    )
    collateral_data: dict[str, object] = {
        "state": request.benefit.state,
        "benefit_number": request.benefit.number,
        "assistance_type": assistance_type,
        "subcorban_document_number": lender.subcorban_cnpj,
    }
    if request.product == Product.MINIMUM_WAGE_INCREASE:
        collateral_data["operation_category"] = OperationCategory.MINIMUM_WAGE_INCREASE
    issuance_financial = financial(request, lender).model_dump(exclude_none=True)
    return DebtIssuanceRequest.model_validate(
        {
            "requester_identifier_key": request.request_key,
            "borrower": borrower,
            "related_parties": representatives,
            "financial": issuance_financial,
            "collaterals": [{"collateral_data": collateral_data}],
            "additional_data": AdditionalData.model_validate({"contract": {"contract_number": request.contract_number}})
            if request.contract_number
            else None,
            "purchaser_document_number": lender.purchaser_cnpj,
            "disbursement_bank_accounts": [provider_account(request.disbursement_account, request.borrower)],
            "refinanced_credit_operations": _refinanced(request),
        }
    )


def collateral_correction(fix: CollateralFix, holder_cpf: str) -> CollateralCorrection:
    account = None
    if fix.disbursement_account:
        account = CollateralBankAccount(
            bank_code=fix.disbursement_account.bank_code,
            account_branch=fix.disbursement_account.branch_number,
            account_number=fix.disbursement_account.account_number,
            account_digit=fix.disbursement_account.account_digit,
            document_number=holder_cpf,
        )
    return CollateralCorrection(disbursement_bank_account=account, benefit_number=fix.benefit_number, name=fix.name)


def change_disbursement_date(
    disbursement_date: date, account: DisbursementAccount | None, *, holder_name: str, holder_cpf: str
) -> ChangeDisbursementDate:
    accounts = None
    if account:
        accounts = [
            ReapresentacaoAccount(
                name=holder_name,
                document_number=holder_cpf,
                bank_code=int(account.bank_code),
                ispb_number=account.ispb_number,
                branch_number=account.branch_number,
                account_number=account.account_number,
                account_digit=account.account_digit,
                account_type=account.account_type,
            )
        ]
    return ChangeDisbursementDate(disbursement_date=disbursement_date, disbursement_bank_accounts=accounts)


def priced(options: Sequence[DisbursementOption]) -> list[PricedOption]:
    return [
        PricedOption(
            disbursement_date=o.disbursement_date,
            first_due_date=o.first_due_date if not isinstance(o.first_due_date, str) else None,
            last_due_date=(
                o.installments[-1].business_due_date
                if o.installments and not isinstance(o.installments[-1].business_due_date, str)
                else None
            ),
            installment_value=o.installment_value,
            issue_amount=o.issue_amount,
            released_amount=o.released_amount,
            total_iof=o.iof,
            monthly_rate=o.prefixed_interest_rate.monthly_rate if o.prefixed_interest_rate else None,
            monthly_cet=o.monthly_cet,
            annual_cet=o.annual_cet_rate,
        )
        for o in options
    ]


def local_priced(options: Sequence[QuoteOption]) -> list[PricedOption]:
    return [
        PricedOption(
            disbursement_date=o.disbursement_date,
            first_due_date=o.first_due_date,
            last_due_date=o.last_due_date,
            installment_value=o.installment_value,
            issue_amount=o.issue_amount,
            released_amount=o.disbursed_issue_amount,
            total_iof=o.total_iof,
            monthly_rate=o.rates.monthly,
            monthly_cet=o.monthly_cet,
            annual_cet=o.annual_cet,
        )
        for o in options
    ]


def compare(provider: Sequence[PricedOption], local: Sequence[PricedOption]) -> list[str]:
    """Where the provider's figures differ from the local engine's, option by option."""
    differences = []
    by_date = {o.disbursement_date: o for o in local}
    for theirs in provider:
        ours = by_date.get(theirs.disbursement_date)
        if ours is None:
            differences.append(f"{theirs.disbursement_date}: option not in the local quote")
            continue
        for field in ("first_due_date", "installment_value", "issue_amount", "released_amount", "total_iof"):
            mine, provider_value = getattr(ours, field), getattr(theirs, field)
            if provider_value is not None and mine != provider_value:
                differences.append(f"{theirs.disbursement_date} {field}: provider {provider_value}, local {mine}")
    return differences
