"""The provider's vocabularies the sandbox speaks, written here from the seeds and the published pages
(never imported from the client it stands in for: a double reading our enumerators could not disagree
with them). Each value cites where it is printed; a value no page prints is marked *assumed* (the
README's portability assumptions) — the client assumes it too, on its own, so a disagreement shows.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

# ---------------------------------------------------------------- new credit and refinancing

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
"""Seed 004 §12 "Tabela de benefícios" (the same in seed 002 §14): Dataprev's species code -> the
``assistance_type`` enumerator, spellings as printed. An issuance naming another is canceled
permanently after its signature (seed 004 §6)."""

ASSISTANCE_TYPE_NAMES = frozenset(ASSISTANCE_TYPES.values())

MARGIN_RELEASE_AFTER_DISBURSEMENT_END_DATE = "social_security_margin_release_after_disbursement_end_date"
"""Seed 004 §4: the cancel reason of a debt whose window ends inside the benefit's 90 days."""

MINIMUM_WAGE_INCREASE = "minimum_wage_increase"
"""Seed 004 §4 "Crédito Novo - Aumento Salarial": ``collateral_data.operation_category``."""

CONFIRMATION_CANCEL_REASONS = MappingProxyType(
    {
        "denied": "social_security_confirmation_denied_by_beneficiary",
        "expired": "social_security_confirmation_expired",
    }
)
"""Anuência (docs.qitech.com.br/documentation/guides/INSS/pending_confirmation): the debt's cancel
reason when the beneficiary refuses in Meu INSS, or the 5 calendar days pass."""

CONFIRMATION_DAYS = 5
"""Anuência: calendar days the beneficiary has to confirm in Meu INSS (the pending_confirmation page)."""


class PendingRequesterAction(StrEnum):
    """Seed 004 §7: an averbação waiting for the lender ("aguardando ação do parceiro"), each with the
    ``webhook_type`` its ``{"webhook": ...}`` envelope carries."""

    MARGIN_EXCEEDED_FOR_NEW_BENEFICIARY = "margin_exceeded_for_new_beneficiary"
    MARGIN_EXCEEDED_FOR_MINIMUM_WAGE_INCREASE = "margin_exceeded_for_minimum_wage_increase"
    SUCCESS_BALANCE_REQUEST_NOT_FOUND = "success_balance_request_not_found"

    @property
    def webhook_type(self) -> str:
        return f"social_security_{self.value}"


# ---------------------------------------------------------------- portability + refinancing


class PortRefinWebhookType(StrEnum):
    PROPOSAL = "credit_transfer.proposal"  # the INSS status-machine page (maquinas-de-status)
    PROPOSAL_COLLATERAL = "credit_transfer.proposal.collateral"  # seed 002 §11: the portability leg's averbação
    PROPOSAL_CREDIT_OPERATION = "credit_transfer.proposal.credit_operation"  # *assumed*: each leg's status
    # docs.qitech.com.br/documentation/guides/INSS/portability+refinancing/webhook-autorizacao-de-portabilidade
    PORTABILITY_AUTHORIZATION = "credit_transfer.portability_authorization"
    ORIGIN_CONTRACT = "social_security_portability_origin_contract_request"  # seed 002 §12


class ProposalStatus(StrEnum):
    """``proposal_status``: pending_response and rejected on the INSS status-machine page,
    pending_acceptance and accepted on the Consignado Privado and taxa-máxima pages; retained, canceled,
    settlement_sent, pending_settlement_confirmation and paid *assumed*."""

    PENDING_RESPONSE = "pending_response"
    REJECTED = "rejected"
    PENDING_ACCEPTANCE = "pending_acceptance"
    ACCEPTED = "accepted"
    RETAINED = "retained"
    CANCELED = "canceled"
    SETTLEMENT_SENT = "settlement_sent"
    PENDING_SETTLEMENT_CONFIRMATION = "pending_settlement_confirmation"
    PAID = "paid"


class CreditOperationLeg(StrEnum):
    """A proposal's two operations, as its body names them and as the collateral path spells them
    (seed 002 §10); ``operation_type`` is how its webhooks name the same leg (seed 002 §11)."""

    PORTABILITY = "portability_credit_operation"
    REFINANCING = "refinancing_credit_operation"

    @property
    def operation_type(self) -> str:
        return "portability" if self is CreditOperationLeg.PORTABILITY else "refinancing"


class CreditOperationStatus(StrEnum):
    """A leg's ``credit_operation_status``: waiting_signature printed in seed 002 §13; the others
    *assumed*."""

    WAITING_SIGNATURE = "waiting_signature"
    SIGNED = "signed"
    DISBURSED = "disbursed"
    CANCELED = "canceled"


class PortabilityAuthorizationStatus(StrEnum):
    """pending_inclusion and awaiting_confirmation: the portability-authorization webhook and fura-fila
    pages; the outcomes' names (confirmed, expired, denied) *assumed*: the page listing them was not
    readable."""

    PENDING_INCLUSION = "pending_inclusion"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    DENIED = "denied"


CONSENT_DEADLINE_DAYS = 5
"""The portability-authorization page: ``expiration_date`` = the registration day + 5 calendar days."""

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
"""Seed 002 §14 "Enumeradores Retention Reason" (the same on the published enumeradores page)."""


def retention_reason(value: str) -> str:
    """A scenario's retention reason, one of the published ones."""
    if value not in RETENTION_REASONS:
        raise ValueError(f"{value!r} is not a published retention reason (seed 002 §14)")
    return value
