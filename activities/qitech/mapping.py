"""From a loan (our model) to the provider's request shapes, and from its answers to ours. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from activities.qitech.enumerators import OperationCategory
from activities.qitech.models.common import DisbursementAccount as ProviderAccount
from activities.qitech.models.consultation import AuthorizationTerm, BalanceRequest, BenefitsRequest
from activities.qitech.models.debt import (
    AdditionalData,
    Borrower,
    ChangeDisbursementDate,
    Collateral,
    CollateralBankAccount,
    CollateralCorrection,
    DebtData,
    DebtIssuanceRequest,
    LegalRepresentative,
    ReapresentacaoAccount,
)
from activities.qitech.models.portability import (
    OriginContract,
    PortabilityCreditOperation,
    PortabilityFinancial,
    ProposalBorrower,
    ProposalRepresentative,
    ProposalRequest,
    RefinancingCreditOperation,
    RefinancingFinancial,
    TrocoAccount,
)
from activities.qitech.models.simulation import (
    DebtSimulationRequest,
    DisbursementOption,
    Financial,
    FineConfiguration,
    RefinancedOperation,
)
from domain.loan import CollateralFix, DisbursementAccount, LoanRequest, Person, Product, Rebate
from domain.modeling import copy_fields
from domain.pricing.engine import QuoteOption
from workflows.loan.state import PricedOption


@dataclass(frozen=True)
class LenderTerms:
    """What the lender sets for every loan, outside the request (worker configuration)."""

    purchaser_cnpj: str  # cessionário (seed 004: purchaser_document_number)
    fine_monthly_rate: Decimal = Decimal("0.01")
    fine_contract_rate: Decimal = Decimal("0.02")
    subcorban_cnpj: str | None = None


def authorization_term(request: LoanRequest, *, document_key: str | None = None) -> AuthorizationTerm:
    """The IN100 term as the provider wants it; ``document_key`` is the uploaded PDF of a term the
    caller gave as a document (loan.documents checks and uploads it)."""
    signer = request.signer
    term = request.authorization_term
    signed_object: dict[str, object] = (
        {"raw_text": term.raw_text} if term.raw_text else {"document_key": document_key or term.document_key}
    )
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
                "signed_object": signed_object,
            },
        }
    )


def benefits_request(request: LoanRequest, *, term_document_key: str | None = None) -> BenefitsRequest:
    return BenefitsRequest(
        document_number=request.borrower.cpf,
        authorization_term=authorization_term(request, document_key=term_document_key),
    )


def balance_request(
    request: LoanRequest,
    *,
    benefit_number: str | None = None,
    with_term: bool = True,
    term_document_key: str | None = None,
) -> BalanceRequest:
    """Seed 004 §2: case 2 sends the term again (works whether or not the provider kept it); case 1
    (``with_term=False``) relies on the one the benefits request sent."""
    return BalanceRequest(
        document_number=request.borrower.cpf,
        benefit_number=benefit_number or request.benefit.number,
        authorization_term=authorization_term(request, document_key=term_document_key) if with_term else None,
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


def _person_fields(person: Person, *, is_pep: bool | None = None) -> dict[str, object]:
    return {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "address": person.address,
        "is_pep": person.is_pep or bool(is_pep),
        "individual_document_number": person.cpf,
        "birth_date": person.birth_date,
        "mother_name": person.mother_name,
    }


def _borrower_fields(person: Person, *, is_pep: bool | None) -> dict[str, object]:
    document = person.identity_document
    return {
        **_person_fields(person, is_pep=is_pep),
        "gender": person.gender,
        "marital_status": person.marital_status,
        **({"nationality": person.nationality} if person.nationality else {}),
        "document_identification_type": document.kind if document else None,
        "document_identification_number": document.number if document else None,
        "document_identification_date": document.issued_on if document else None,
    }


def _borrower(person: Person, *, is_pep: bool | None) -> Borrower:
    return Borrower.model_validate(_borrower_fields(person, is_pep=is_pep))


def provider_account(account: DisbursementAccount, holder: Person) -> ProviderAccount:
    return copy_fields(
        ProviderAccount,
        account,
        name=account.holder_name or holder.name,
        document_number=holder.cpf,
        percentage_receivable=account.percentage,
    )


def signer_related_party_key(data: DebtData, request: LoanRequest) -> str | None:
    """Where the signer's documents go: the legal representative's related party when there is one
    (his documents, his signature), else the borrower's (seed 004 §5)."""
    borrower_key = data.borrower.related_party_key if data.borrower else None
    representative = request.legal_representative
    if representative is None:
        return borrower_key
    for party in data.related_parties:
        if party.role_type == "issuer_legal_representative" or party.document_number == representative.cpf:
            return party.related_party_key
    return borrower_key


def _rebate(rebate: Rebate) -> dict[str, object]:
    account = rebate.account
    return {
        "amount": rebate.amount,
        "amount_type": rebate.amount_type,
        "fee_type": rebate.fee_type,
        "rebate_bank_account": {
            "name": account.name,
            "document_number": account.cnpj,
            "bank_code": account.bank_code,
            "branch_number": account.branch_number,
            "account_number": account.account_number,
            "account_digit": account.account_digit,
        },
    }


def issuance_request(
    request: LoanRequest,
    lender: LenderTerms,
    assistance_type: str | None,
    *,
    requester_key: str | None = None,
    accounts: Sequence[DisbursementAccount] | None = None,
    politically_exposed: bool | None = None,
    benefit_number: str | None = None,
) -> DebtIssuanceRequest:
    """``POST /debt`` for every product and variant (seed 004 §4 cases 1 and 2: new credit,
    refinancing, minimum-wage increase — alone or refinancing too — with or without a legal
    representative; rebates; split accounts). ``accounts`` defaults to the request's;
    ``requester_key`` to the request key (loans started before it became a UUID)."""
    representatives = (
        [LegalRepresentative.model_validate(_person_fields(request.legal_representative))]
        if request.legal_representative
        else None
    )
    collateral_data: dict[str, object] = {
        "state": request.benefit.state,
        "benefit_number": benefit_number or request.benefit.number,
        "assistance_type": assistance_type,
        "subcorban_document_number": lender.subcorban_cnpj,
    }
    if request.product == Product.MINIMUM_WAGE_INCREASE:
        collateral_data["operation_category"] = OperationCategory.MINIMUM_WAGE_INCREASE
    issuance_financial = financial(request, lender).model_dump(exclude_none=True)
    if request.rebates:
        issuance_financial["rebates"] = [_rebate(r) for r in request.rebates]
    paid_into = list(accounts) if accounts is not None else request.disbursement_accounts
    return DebtIssuanceRequest.model_validate(
        {
            "requester_identifier_key": requester_key or request.request_key,
            "borrower": _borrower(request.borrower, is_pep=politically_exposed),
            "related_parties": representatives,
            "financial": issuance_financial,
            "collaterals": [{"collateral_data": collateral_data}],
            "additional_data": AdditionalData.model_validate({"contract": {"contract_number": request.contract_number}})
            if request.contract_number
            else None,
            "purchaser_document_number": lender.purchaser_cnpj,
            "disbursement_bank_accounts": [provider_account(a, request.borrower) for a in paid_into],
            "refinanced_credit_operations": _refinanced(request),
        }
    )


def collateral_correction(fix: CollateralFix, holder_cpf: str) -> CollateralCorrection:
    account = None
    if fix.disbursement_account:
        corrected = fix.disbursement_account
        account = copy_fields(
            CollateralBankAccount, corrected, account_branch=corrected.branch_number, document_number=holder_cpf
        )
    return CollateralCorrection(disbursement_bank_account=account, benefit_number=fix.benefit_number, name=fix.name)


def change_disbursement_date(
    disbursement_date: date, account: DisbursementAccount | None, *, holder_name: str, holder_cpf: str
) -> ChangeDisbursementDate:
    accounts = None
    if account:
        accounts = [
            copy_fields(
                ReapresentacaoAccount,
                account,
                name=holder_name,
                document_number=holder_cpf,
                bank_code=int(account.bank_code),
                account_type=account.account_type or "checking_account",
                percentage_receivable=account.percentage,
            )
        ]
    return ChangeDisbursementDate(disbursement_date=disbursement_date, disbursement_bank_accounts=accounts)


def priced(options: Sequence[DisbursementOption], *, refinancing: bool = False) -> list[PricedOption]:
    """The provider's options in the loan's words; for a refinancing, each with what it pays off
    (for a new credit, a final amount below the disbursed one is a price to check, not a payoff)."""
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
            payoff=o.payoff if refinancing else None,
        )
        for o in options
    ]


def local_priced(
    options: Sequence[QuoteOption], payoff: Decimal | Mapping[date, Decimal | None] = Decimal(0)
) -> list[PricedOption]:
    """The local engine's options; a refinancing's ``payoff`` (one figure, or the provider's per
    disbursement date) comes out of what the borrower receives."""

    def paid(day: date) -> Decimal:
        if isinstance(payoff, Decimal):
            return payoff
        return payoff.get(day) or Decimal(0)

    return [
        copy_fields(
            PricedOption,
            o,
            last_due_date=o.last_due_date,
            released_amount=o.disbursed_issue_amount - paid(o.disbursement_date),
            monthly_rate=o.rates.monthly,
            payoff=paid(o.disbursement_date) or None,
        )
        for o in options
    ]


def proposal_request(
    request: LoanRequest,
    lender: LenderTerms,
    assistance_type: str | None,
    *,
    politically_exposed: bool | None = None,
    documents: dict[str, str] | None = None,
) -> ProposalRequest:
    """``POST /v2/credit_transfer/proposal`` for a portability (and its troco, when the request has
    one): the borrower and collateral as in an issuance, the origin contract, the portability leg at
    the request's rate (its installment follows from the origin bank's balance), the troco's
    installment and rate. ``documents`` (the uploaded identity documents' keys, by the provider's
    field names) go with whoever signs: the legal representative when there is one, else the borrower
    (the Port+Refin formalization page)."""
    terms, port = request.financial, request.portability
    assert port is not None
    keys = documents or {}
    representatives = (
        [ProposalRepresentative.model_validate({**_person_fields(request.legal_representative), **keys})]
        if request.legal_representative
        else None
    )
    proposal_borrower = ProposalBorrower.model_validate(
        {**_borrower_fields(request.borrower, is_pep=politically_exposed), **(keys if representatives is None else {})}
    )
    troco = None
    if port.troco is not None:
        account = request.disbursement_accounts[0]
        troco = RefinancingCreditOperation(
            financial=RefinancingFinancial(
                first_due_date=terms.first_due_date,
                number_of_installments=terms.number_of_installments,
                limit_days_to_disburse=terms.limit_days_to_disburse,
                installment_face_value=port.troco.installment_value,
                monthly_interest_rate=port.troco.monthly_interest_rate,
            ),
            disbursement_bank_account=copy_fields(
                TrocoAccount,
                account,
                name=account.holder_name or request.borrower.name,
                document_number=request.borrower.cpf,
                ispb=account.ispb_number,
                account_type=account.account_type or "checking_account",
            ),
        )
    return ProposalRequest(
        purchaser_document_number=lender.purchaser_cnpj,
        borrower=proposal_borrower,
        related_parties=representatives,
        collaterals=[
            Collateral.model_validate(
                {
                    "collateral_data": {
                        "state": request.benefit.state,
                        "benefit_number": request.benefit.number,
                        "assistance_type": assistance_type,
                        "subcorban_document_number": lender.subcorban_cnpj,
                    }
                }
            )
        ],
        portability_credit_operation=PortabilityCreditOperation(
            financial=PortabilityFinancial(
                first_due_date=terms.first_due_date,
                number_of_installments=terms.number_of_installments,
                monthly_interest_rate=terms.monthly_interest_rate,
                installment_face_value=None if terms.monthly_interest_rate else terms.installment_value,
                limit_days_to_disburse=terms.limit_days_to_disburse,
            ),
            contract_number=request.contract_number,
        ),
        refinancing_credit_operation=troco,
        origin_contract=OriginContract(
            ispb=port.origin_bank_ispb,
            contract_number=port.origin_contract_number,
            last_due_balance=port.last_due_balance,
        ),
    )
