"""Every enumerator table of the seeds, as data: code, enumerator, description, lender's action.

Sources are cited per table ("seed 004 §12" = the newer manual's section 12). Where seeds disagree
the newer one wins for this product (new credit / refinancing); the Port+Refin reference (seed 002)
keeps its own column where it differs, so a portability flow can use it.

Seed discrepancy worth knowing: for AN (invalid_disbursement_account) and IR
(operation_not_allowed_IR) seeds 001 and 004 say "Cancelar", seed 002 says "Teimosinha". This
product follows 004 (and the sandbox's averbação scenarios 2 and 3, whose action is "cancel").
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


class ConsultationStatus(StrEnum):
    PENDING_SEARCH = "pending_search"
    PENDING_AUTHORIZATION = "pending_authorization"
    SUCCESS = "success"
    FAILURE = "failure"


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


class CreditType(StrEnum):
    MAGNETIC_CARD = "magnetic_card"
    CHECKING_ACCOUNT = "checking_account"


class AlimonyCode(StrEnum):
    NOT_PAYER = "not_payer"
    PAYER = "payer"
    BENEFIT = "benefit"


class PoliticallyExposedType(StrEnum):
    NOT_POLITICALLY_EXPOSED = "not_politically_exposed"  # code 0; spelling inferred
    POLITICALLY_EXPOSED_LEVEL_1 = "politically_exposed_level_1"


class WebhookType(StrEnum):
    BENEFITS_REQUEST = "social_security_benefits_request"
    BALANCE_REQUEST = "social_security_balance_request"
    DEBT = "debt"
    COLLATERAL = "credit_operation.collateral"
    MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY = "social_security_margin_exceeded_for_new_beneficiary"
    MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE = "social_security_margin_exceeded_for_minimum_wage_increase"
    SUCCESS_BALANCE_REQUEST_NOT_FOUND = "social_security_success_balance_request_not_found"
    # Port+Refin reference (seed 002); parsed, not used by this product's flow.
    PORTABILITY_PROPOSAL_COLLATERAL = "credit_transfer.proposal.collateral"
    PORTABILITY_ORIGIN_CONTRACT = "social_security_portability_origin_contract_request"


class DebtStatus(StrEnum):
    """Debt webhook statuses: the seeds' ones plus the provider's published state machine."""

    WAITING_SIGNATURE = "waiting_signature"
    SIGNATURE_RECEIVED = "signature_received"
    SIGNATURE_FINISHED = "signature_finished"
    SIGNED = "signed"
    ISSUED = "issued"
    DISBURSED = "disbursed"
    OPENED = "opened"
    SETTLED = "settled"
    CANCELED = "canceled"
    CANCELED_PERMANENTLY = "canceled_permanently"
    FINISHED = "finished"  # a simulation's status


DISBURSEMENT_SUCCESS_STATUSES = frozenset({DebtStatus.DISBURSED, DebtStatus.OPENED, DebtStatus.SETTLED})
"""A debt in any of these has been paid out to the borrower."""


class CancelReason(StrEnum):
    MANUAL = "manual"  # also what the provider sends when the disbursement window runs out (seed 004 §4)
    TED_REFUSAL = "ted_refusal"
    PIX_REFUSAL = "pix_refusal"
    MARGIN_RELEASE_AFTER_DISBURSEMENT_END_DATE = "social_security_margin_release_after_disbursement_end_date"
    # "Erros com Ação cancel receberá um webhook com o resultado final da operação" (seed 004 §4):
    # the final webhook's enumerator is not printed; the sandbox sends the averbação enumerator.
    INVALID_DISBURSEMENT_ACCOUNT = "invalid_disbursement_account"
    OPERATION_NOT_ALLOWED_IR = "operation_not_allowed_IR"


class PendingRequesterAction(StrEnum):
    """Seed 004 §7: averbação waiting for the lender ("aguardando ação do parceiro")."""

    MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY = "margin_exceeded_for_new_beneficiary"
    MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE = "margin_exceeded_for_minimum_wage_increase"
    SUCCESS_BALANCE_REQUEST_NOT_FOUND = "success_balance_request_not_found"


class CollateralStatus(StrEnum):
    PENDING_RESERVATION = "pending_reservation"
    RESERVED = "reserved"
    CANCELED = "canceled"


class ReservationMethod(StrEnum):
    NEW_CREDIT = "new_credit"
    REFINANCING = "refinancing"
    PORTABILITY = "portability"
    ISSUING = "issuing"


class OperationCategory(StrEnum):
    MINIMUM_WAGE_INCREASE = "minimum_wage_increase"


class BiometryAnalysisReference(StrEnum):
    """Seed 001/004 §6 "Enumeradores Biometry Analysis Reference"."""

    SERPRO = "serpro"
    TSE = "tse"
    NOT_FOUND = "not_found"


class TransferMethod(StrEnum):
    PIX = "pix"
    TED = "ted"


class AccountType(StrEnum):
    CHECKING_ACCOUNT = "checking_account"
    SAVINGS_ACCOUNT = "savings_account"
    PAYMENT_ACCOUNT = "payment_account"


class FeeType(StrEnum):
    TAC = "tac"
    TED_FEE = "ted_fee"
    SPREAD = "spread"
    SPREAD_CIP_COST = "spread_cip_cost"
    INSURANCE_PREMIUM = "insurance_premium"


class AmountType(StrEnum):
    PERCENTAGE = "percentage"
    ABSOLUTE = "absolute"


class InterestBase(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    CALENDAR_DAYS_365 = "calendar_days_365"
    WORKDAYS = "workdays"


class ConsultationError(StrEnum):
    """Failures of the benefits and balance consultations (seed 004 §12), plus the sandbox's own."""

    NOT_FOUND_LEGAL_REPRESENTATIVE = "not_found_legal_representative"
    INEXISTENT_BENEFICIARY = "inexistent_beneficiary"
    BENEFITY_WITHOUT_LEGAL_REPRESENTATIVE = "benefity_without_legal_representative"
    INEXISTENT_BENEFIT = "inexistent_benefit"
    INCONSISTENT_BALANCE_BENEFIT_DATA = "inconsistent_balance_benefit_data"
    MOCK_ERROR = "mock_error"


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

AVERBACAO_SUCCESSES: tuple[DataprevReturn, ...] = _rows(
    "seed 004 §12 Tabela de retorno de sucesso - averbação",
    (
        ("BD", "successfully_included", "Inclusion has been successfully done", _OK),
        ("BF", "successfully_removed", "Removal has been successfully done", _OK),
        ("BR", "successfully_reactivated", "Reactivation has been successfully done", _OK),
        ("BS", "successfully_suspended", "Suspension has been successfully done", _OK),
    ),
)

# A failed consultation has no retry column in the seeds; for a loan it is final (the loan is
# rejected and a new consultation is a new request by the sales channel).
BALANCE_REQUEST_ERRORS: tuple[DataprevReturn, ...] = _rows(
    "seed 004 §12 Tabela de retorno de erros na consulta de saldo",
    (
        ("CR", "not_found_legal_representative", "no legal representative for the beneficiary", _C),
        ("CD", "inexistent_beneficiary", "no beneficiary found", _C),
        ("AS", "benefity_without_legal_representative", "beneficiary does not have a legal representative", _C),
        ("BI", "inexistent_benefit", "no benefit found", _C),
        (
            "D1",
            "inconsistent_balance_benefit_data",
            "The balance benefit data registered is either inconsistent, null or incomplete.",
            _C,
        ),
    ),
)

BENEFITS_REQUEST_ERRORS: tuple[DataprevReturn, ...] = _rows(
    "seed 004 §12 Tabela de retorno de erros na consulta de benefícios",
    (
        ("CR", "not_found_legal_representative", "no legal representative for the beneficiary", _C),
        ("CD", "inexistent_beneficiary", "no beneficiary found", _C),
        ("AS", "benefity_without_legal_representative", "beneficiary does not have a legal representative", _C),
    ),
)

SANDBOX_MOCK_ERROR = DataprevReturn(
    code="",
    enumerator="mock_error",
    description="Informed document number is not a valid mock on test environment",
    action=_C,
    source="seed 001/004 sandbox sections",
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


@dataclass(frozen=True)
class CodedValue:
    code: str
    enumerator: str
    description: str
    spelling_inferred: bool = False


BENEFIT_STATUSES: tuple[CodedValue, ...] = (
    CodedValue("Elegible", BenefitStatus.ELEGIBLE, "Elegível para empréstimo"),
    CodedValue("Inelegible", BenefitStatus.INELEGIBLE, "Benefício inelegível para empréstimo"),
    CodedValue("Blocked", BenefitStatus.BLOCKED, "Benefício elegível, porém bloqueado para empréstimo"),
)

BLOCK_TYPES: tuple[CodedValue, ...] = (
    CodedValue("0", BlockType.NOT_BLOCKED, "Sem bloqueio"),
    CodedValue("1", BlockType.BLOCKED_BY_BENEFICIARY, "Bloqueado pelo Segurado", spelling_inferred=True),
    CodedValue("2", BlockType.BLOCKED_BY_TBM, "Bloqueado por TBM", spelling_inferred=True),
    CodedValue("3", BlockType.BLOCKED_BY_GRANTING_PROCESS, "Bloqueado na Concessão", spelling_inferred=True),
)

POLITICALLY_EXPOSED_TYPES: tuple[CodedValue, ...] = (
    CodedValue(
        "0", PoliticallyExposedType.NOT_POLITICALLY_EXPOSED, "Pessoa Não Exposta Politicamente", spelling_inferred=True
    ),
    CodedValue("1", PoliticallyExposedType.POLITICALLY_EXPOSED_LEVEL_1, "Pessoa Exposta Politicamente - Nível 1"),
)

BIOMETRY_ANALYSIS_REFERENCES: tuple[CodedValue, ...] = (
    CodedValue(
        "serpro", BiometryAnalysisReference.SERPRO, "similarity_score da base de documentos com foto do Detran (Serpro)"
    ),
    CodedValue("tse", BiometryAnalysisReference.TSE, "similarity_score da base de documentos com foto do TSE"),
    CodedValue(
        "not_found",
        BiometryAnalysisReference.NOT_FOUND,
        "biometria não localizada em serpro nem tse: similarity_score null ou o do parceiro",
    ),
)

RETENTION_REASONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "issuer_retention": "Retenção do Cliente",
        "different_from_original": "Condições da proposta divergentes do contrato original",
        "issuer_lawsuit": "Cliente com ação judicial",
        "insurance_in_progress": "Indenização de seguro em andamento",
        "collateral_in_execution": "Garantia em Execução",
        "contract_not_found": "Contrato não encontrado",
        "invalid_contract_type": "Tipo de contrato inválido",
        "portability_in_progress": "Portabilidade em andamento",
        "assigned_contract": "Contrato cedido",
        "issuer_document_number_invalid": "CPF não é do contrato",
        "unrelated_issuer_document_number": "CPF informado não é o do titular",
        "assigned_without_co_obligation": "Contrato cedido sem coobrigação",
        "fgts_in_use": "FGTS AMORTIZAR em uso",
        "fgts_funding": "FGTS funding",
        "portability_not_requested": "O cliente não solicitou a portabilidade",
        "wrong_original_financial_institution": "IF Credora Original Incorreta",
    }
)
"""Seed 002 §14 "Enumeradores Retention Reason"."""

ASSISTANCE_TYPES: MappingProxyType[int, str] = MappingProxyType(
    {
        1: "pension_by_death_rural_worker",
        2: "pension_by_death_accident_rural_worker",
        3: "pension_by_death_rural_employer",
        4: "retirement_invalidity_rural_emploee",
        5: "retirement_invalidity_accident_rural_worker",
        6: "retirement_invalidity_rural_employer",
        7: "retirement_by_eldness_rural_worker",
        8: "retirement_by_age_rural_employer",
        9: "complement_by_work_accident_rural_worker",
        11: "support_invalidity_rural_worker",
        12: "support_by_age_rural_worker",
        13: "aid_sickness_rural_worker",
        15: "aid_time_off_rural_worker",
        16: "aid_federal",
        17: "international_agreement",
        18: "inclusion_benefit",
        19: "pension_student_law7004",
        20: "pension_by_death_diplomat",
        21: "pension_by_death",
        22: "pension_by_death_statute",
        23: "pension_by_death_veteran",
        24: "pension_special_institutional_act",
        25: "aid_time_off",
        26: "pension_by_death_special_law593",
        27: "pension_by_death_federal_emploee",
        28: "pension_by_death_general_regime_law20465",
        29: "pension_by_death_marine_veteran",
        30: "monthly_income_lifetime_invalidity",
        31: "aid_sickness",
        32: "retirement_invalidity_social_security",
        33: "retirement_invalidity_aeronautic",
        34: "retirement_invalidity_marine_law1756",
        35: "aid_sickness_veteran",
        36: "aid_social_security_accident",
        37: "retirement_capin_extra_emploee",
        38: "retirement_federal_extra_emploee",
        39: "aid_invalidity_student_law7004",
        40: "monthly_income_lifetime_by_age_upper70_law6179",
        41: "retirement_by_age",
        42: "retirement_by_contribution_time",
        43: "retirement_by_time_of_service_veteran",
        44: "retirement_special_aeronautic",
        45: "retirement_by_time_of_service_journalist",
        46: "retirement_special",
        47: "allowance_25",
        48: "allowance_20",
        49: "retirement_ordinary",
        50: "aid_sickness_extinct_basic_plan",
        51: "retirement_invalidity_extinct_basic_plan",
        52: "retirement_by_age_extinct_basic_plan",
        53: "aid_time_off_extinct_basic_plan",
        54: "pension_indemnity_federal",
        55: "pension_by_death_extinct_basic_plan",
        56: "pension_lifetime_syndrome_thalidomide",
        57: "retirement_by_teacher_labor_time",
        58: "retirement_anisty",
        59: "pension_by_death_amnesty",
        60: "indemnity",
        61: "aid_birth",
        62: "aid_funeral",
        63: "aid_funeral_rural_worker",
        64: "aid_funeral_rural_employer",
        65: "savings_special_autarchy",
        67: "savings_mandatory_ipase_law5128",
        68: "savings_special_retirement_ps_affiliated_upper60",
        69: "savings_student_law7004",
        70: "restitution",
        71: "monthly_income",
        72: "retirement_by_time_of_service_law1756",
        73: "monthly_income_family_statute",
        74: "complement_pension_federal",
        75: "complement_retirement_federal",
        76: "monthly_income_statute",
        77: "monthly_income_sinpas_family_statute",
        78: "retirement_by_age_law1756",
        79: "advantage",
        80: "monthly_income_maternity",
        81: "compulsory_retirement",
        82: "retirement_by_time_of_service_sasse",
        83: "retirement_invalidity_ex_sasse",
        84: "pension_by_death_sasse",
        85: "pension_lifetime_rubber_tapper_law7986",
        86: "pension_lifetime_rubber_tapper_dependent_law7986",
        87: "continuous_aid_physical_disabilities",
        88: "continuous_aid_eldness",
        89: "pension_special_hemodialysis_victim_caruaru",
        90: "medic_assistency_work_accident",
        91: "aid_sickness_by_work_accident",
        92: "retirement_invalidity_work_accident",
        93: "pension_by_death_work_accident",
        94: "aid_work_accident",
        95: "aid_additional_work_accident",
        96: "pension_special_leprosy_law11520",
        97: "savings_by_death_work_accident",
        98: "aid_longshoreman",
        99: "time_off_15",
    }
)
"""Seed 004 §12 "Tabela de benefícios": INSS species code → the provider's assistance_type."""

ASSISTANCE_TYPE_NAMES = frozenset(ASSISTANCE_TYPES.values())
