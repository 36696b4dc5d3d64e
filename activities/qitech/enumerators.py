"""The provider's own enumerators (seeds 001/002/004): webhook types, statuses, cancel reasons,
pending actions, fee kinds, and its ``assistance_type`` names for INSS species codes.

INSS / Dataprev vocabulary (benefit status, block type, how a benefit is paid, averbação returns and
the lender's action for each) is not the provider's: it lives in ``domain.inss``.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class ConsultationStatus(StrEnum):
    PENDING_SEARCH = "pending_search"
    PENDING_AUTHORIZATION = "pending_authorization"
    SUCCESS = "success"
    FAILURE = "failure"


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
    # Anuência (docs.qitech.com.br/documentation/guides/INSS/pending_confirmation): since 2026-05-19 a
    # new credit's or refinancing's reservation waits for the beneficiary's confirmation in Meu INSS.
    RESERVATION_STATUS_CHANGE = "laas.social_security.reservation.status_change"
    # Port+Refin reference (seed 002).
    PORTABILITY_PROPOSAL_COLLATERAL = "credit_transfer.proposal.collateral"
    PORTABILITY_ORIGIN_CONTRACT = "social_security_portability_origin_contract_request"


class DebtStatus(StrEnum):
    """Debt webhook statuses: the seeds' ones plus the provider's published state machine
    (docs.qitech.com.br/documentation/emissao_de_divida/status_de_uma_divida: waiting_signature →
    signature_finished → signed → issued → disbursed → opened → settled; canceled,
    canceled_permanently). Seed 001 answers a signature with signature_received."""

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
"""A debt in any of these has been paid out to the borrower (the published state machine: disbursed,
then opened, then settled when the provider collects)."""


class CancelReason(StrEnum):
    MANUAL = "manual"  # also what the provider sends when the disbursement window runs out (seed 004 §4)
    TED_REFUSAL = "ted_refusal"
    PIX_REFUSAL = "pix_refusal"
    MARGIN_RELEASE_AFTER_DISBURSEMENT_END_DATE = "social_security_margin_release_after_disbursement_end_date"
    # "Erros com Ação cancel receberá um webhook com o resultado final da operação" (seed 004 §4):
    # the final webhook's enumerator is not printed; the sandbox sends the averbação enumerator.
    INVALID_DISBURSEMENT_ACCOUNT = "invalid_disbursement_account"
    OPERATION_NOT_ALLOWED_IR = "operation_not_allowed_IR"
    # Anuência (the pending_confirmation page): refused in Meu INSS, or not confirmed within 5 days.
    CONFIRMATION_DENIED = "social_security_confirmation_denied_by_beneficiary"
    CONFIRMATION_EXPIRED = "social_security_confirmation_expired"


class ReservationStatus(StrEnum):
    """``status`` of ``laas.social_security.reservation.status_change`` (the pending_confirmation page
    prints only this one; the outcomes arrive as other webhooks: the collateral constituted, or the debt
    canceled with one of the two ``CONFIRMATION_*`` cancel reasons)."""

    PENDING_CONFIRMATION = "pending_confirmation"


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
