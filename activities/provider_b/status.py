"""What the second provider's ``dsc_situacao_emprestimo`` means, in the loan's words.

ASSUMPTION: seed 003 names the field ("Status da Operação") and prints no value. The table below
is ours: the Portuguese situations Brazilian consignado platforms commonly show, each mapped to
the loan stage it corresponds to (``loan`` stage names: ``awaiting_signature``,
``signature_validation``, ``averbacao``, ``disbursement``) or to an end (``disbursed`` → the loan
completes; ``canceled``). Matching ignores case, accents, underscores and repeated spaces
("AGUARDANDO FORMALIZAÇÃO" = "aguardando_formalizacao"). A value not in the table is kept as it
came, flagged ``known=False`` and read as *still in progress* (never as an end): the loan keeps
following the operation and shows the raw value to operators instead of guessing.

The sandbox (``sandbox_b``) plays its operations through the spellings of :data:`SANDBOX_PATH`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class OperationPhase(StrEnum):
    """Where an operation at the second provider stands, as a loan stage (or end)."""

    AWAITING_SIGNATURE = "awaiting_signature"  # the borrower formalizes at link_form
    SIGNATURE_VALIDATION = "signature_validation"  # the provider checks the formalization
    AVERBACAO = "averbacao"  # the installment is being registered at Dataprev
    DISBURSEMENT = "disbursement"  # averbado: the money is on its way
    DISBURSED = "disbursed"  # paid out: the loan completes
    CANCELED = "canceled"  # canceled or refused by the provider: the loan ends canceled
    UNKNOWN = "unknown"  # a value the table does not have (kept, flagged)


FINAL_PHASES = frozenset({OperationPhase.DISBURSED, OperationPhase.CANCELED})


def normalize(value: str) -> str:
    """Lower case, no accents, single spaces: the key the table is looked up by."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_\-]+", " ", plain).strip().lower()


_TABLE: dict[str, OperationPhase] = {
    # formalization: the borrower has the link and has not finished
    "aguardando formalizacao": OperationPhase.AWAITING_SIGNATURE,
    "pendente de formalizacao": OperationPhase.AWAITING_SIGNATURE,
    "em formalizacao": OperationPhase.AWAITING_SIGNATURE,
    "aguardando assinatura": OperationPhase.AWAITING_SIGNATURE,
    "digitada": OperationPhase.AWAITING_SIGNATURE,
    # the provider checks what was formalized (documents, selfie, signature)
    "formalizada": OperationPhase.SIGNATURE_VALIDATION,
    "em analise": OperationPhase.SIGNATURE_VALIDATION,
    "aguardando analise": OperationPhase.SIGNATURE_VALIDATION,
    # averbação at Dataprev
    "em averbacao": OperationPhase.AVERBACAO,
    "aguardando averbacao": OperationPhase.AVERBACAO,
    # averbado, waiting for the money to go out
    "averbada": OperationPhase.DISBURSEMENT,
    "averbado": OperationPhase.DISBURSEMENT,
    "aguardando pagamento": OperationPhase.DISBURSEMENT,
    "em pagamento": OperationPhase.DISBURSEMENT,
    "aguardando desembolso": OperationPhase.DISBURSEMENT,
    # paid out
    "pago": OperationPhase.DISBURSED,
    "paga": OperationPhase.DISBURSED,
    "pago ao cliente": OperationPhase.DISBURSED,
    "desembolsado": OperationPhase.DISBURSED,
    "liquidado": OperationPhase.DISBURSED,
    "liquidada": OperationPhase.DISBURSED,
    # ended without money
    "cancelado": OperationPhase.CANCELED,
    "cancelada": OperationPhase.CANCELED,
    "reprovado": OperationPhase.CANCELED,
    "reprovada": OperationPhase.CANCELED,
    "recusado": OperationPhase.CANCELED,
    "recusada": OperationPhase.CANCELED,
    "expirado": OperationPhase.CANCELED,
    "expirada": OperationPhase.CANCELED,
}
STATUS_TABLE: MappingProxyType[str, OperationPhase] = MappingProxyType(_TABLE)
"""Normalized ``dsc_situacao_emprestimo`` → phase. An assumption (see the module docstring)."""


@dataclass(frozen=True)
class StatusMeaning:
    """One ``dsc_situacao_emprestimo`` as the loan reads it."""

    raw: str
    phase: OperationPhase
    known: bool

    @property
    def final(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def outcome(self) -> str | None:
        """``completed`` or ``canceled`` once the operation has ended; None while it runs."""
        if self.phase == OperationPhase.DISBURSED:
            return "completed"
        if self.phase == OperationPhase.CANCELED:
            return "canceled"
        return None


def meaning(value: str | None) -> StatusMeaning:
    """What a ``dsc_situacao_emprestimo`` means; unknown (or absent) values are kept and flagged."""
    raw = "" if value is None else str(value)
    phase = STATUS_TABLE.get(normalize(raw))
    if phase is None:
        return StatusMeaning(raw=raw, phase=OperationPhase.UNKNOWN, known=False)
    return StatusMeaning(raw=raw, phase=phase, known=True)


# The spellings the sandbox shows, in order (the happy path), and its two ends without money.
FORMALIZATION = "AGUARDANDO FORMALIZAÇÃO"
ANALYSIS = "EM ANÁLISE"
AVERBACAO = "EM AVERBAÇÃO"
AWAITING_PAYMENT = "AGUARDANDO PAGAMENTO"
PAID = "PAGO"
CANCELED = "CANCELADO"
REFUSED = "REPROVADO"
SANDBOX_PATH = (FORMALIZATION, ANALYSIS, AVERBACAO, AWAITING_PAYMENT, PAID)
