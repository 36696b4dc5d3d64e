"""Where a loan is (its stage) and how it stands (its status): the words every part of the loan, its
visibility and the events to the sales channel share (re-exported by ``workflows.loan.state``)."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    CONSULTATION = "consultation"
    SIMULATION = "simulation"
    ELIGIBILITY = "eligibility"
    ISSUANCE = "issuance"
    DOCUMENTS = "documents"
    AWAITING_DOCUMENTS = "awaiting_documents"
    AWAITING_SIGNATURE = "awaiting_signature"
    SIGNATURE_VALIDATION = "signature_validation"
    MARGIN_RELEASE = "margin_release"
    AVERBACAO = "averbacao"
    AWAITING_BENEFICIARY_CONFIRMATION = "awaiting_beneficiary_confirmation"  # anuência, in Meu INSS
    AWAITING_COLLATERAL_CORRECTION = "awaiting_collateral_correction"
    AWAITING_INSTALLMENT_REDUCTION = "awaiting_installment_reduction"
    BALANCE_RECHECK = "balance_recheck"
    DISBURSEMENT = "disbursement"
    AWAITING_REAPRESENTACAO = "awaiting_reapresentacao"
    # A portability (Port+Refin): the proposal, the CTC's answer, the beneficiary's consent, the
    # origin bank's answer, the payoff; then the signature and averbação stages above; the troco.
    PROPOSAL = "proposal"
    CTC_ANSWER = "ctc_answer"
    CONSENT = "consent"
    ORIGIN_BANK = "origin_bank"
    PAYOFF = "payoff"
    TROCO = "troco"
    CLOSED = "closed"


class Status(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    CANCELED_PERMANENTLY = "canceled_permanently"
