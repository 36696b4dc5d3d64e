"""The provider port: what a loan needs from a provider, in the loan's own words, and what each
provider can do. The workflow speaks only to this; each adapter translates its provider's vocabulary
(enumerators, statuses, error shapes) at its edge.

Two kinds of provider follow a loan differently:

* **webhook providers** (``qitech``): the consultation, simulation, issuance, documents, signature and
  averbação activities of ``activities.qitech.adapter``; the provider's news arrive as webhooks (the inbox);
* **polled providers** (``provider_b``, seed 003): after the lender's consultation, the loan is
  *created* in one call (``IN100`` set: the provider checks Dataprev again), the borrower formalizes
  it at the provider's ``link_form``, and the loan *follows* the operation by asking on durable timers.
  Their adapters implement the three activities named here (``SIMULATE``, ``CREATE_OPERATION``,
  ``FOLLOW_OPERATION``), registered as ``<provider>.<operation>``.

Adding a third provider: write its wire (a package like ``provider_b``), an adapter implementing the
activities of its kind, register them in ``worker.py``, and add its capabilities here and its id to
``domain.loan.ProviderId``; routing (``workflows.loan.routing``) can then send loans to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from domain.benefit import BenefitFacts
from domain.loan import LoanRequest, Product, ProviderId
from workflows.loan.activity_models import (
    Admitted,
    Issued,
    LookedUp,
    OriginQueried,
    PortabilityPriced,
    PortabilityReduced,
    Proposed,
    ProviderKey,
    Recalculated,
    Simulated,
    TermUploaded,
)
from workflows.loan.rules import LoanRules
from workflows.loan.state import PricedOption

R = TypeVar("R")

BUSINESS_ERROR = "ProviderBusinessError"
"""A failure type: the provider refused (its answer names why); retrying cannot change it."""
INVALID_DOCUMENT = "InvalidDocument"
"""A failure type: a document the loan was given cannot be sent (its reason names the file's problem)."""


@dataclass(frozen=True)
class Call(Generic[R]):
    """One thing a loan asks of a webhook provider: the activity's registered name (the adapter
    registers it under this name) and the type of its answer."""

    name: str
    result: type[R] | None = None

    @property
    def result_type(self) -> Any:
        return self.result


# The webhook provider's activities (``activities.qitech.adapter``), by the names they always had.
PIN_CURRENT_RULES = Call("pin_current_rules", LoanRules)
ADMIT_LOAN = Call("admit_loan", Admitted)
REQUEST_BENEFITS = Call("request_benefits", ProviderKey)
REQUEST_BALANCE = Call("request_balance", ProviderKey)
UPLOAD_AUTHORIZATION_TERM = Call("upload_authorization_term", TermUploaded)
SIMULATE_DEBT = Call("simulate", Simulated)
ISSUE_DEBT = Call("issue_debt", Issued)
ATTACH_DOCUMENTS: Call[None] = Call("attach_documents")
SIGN: Call[None] = Call("sign")
SIGN_ANSWERED = Call("sign", LookedUp)
"""The same activity, its answer read: what the provider said to the signature, as news (loans that
signed before it was read take ``SIGN``)."""
CORRECT_COLLATERAL: Call[None] = Call("correct_collateral")
RECALCULATE = Call("recalculate", Recalculated)
CONFIRM_BALANCE_REQUEST: Call[None] = Call("confirm_balance_request")
CANCEL_PERMANENTLY: Call[None] = Call("cancel_permanently")
CHANGE_DISBURSEMENT_DATE: Call[None] = Call("change_disbursement_date")
RELEASE_PROVIDER_KEYS: Call[None] = Call("release_provider_keys")
LOOK_UP_PROVIDER_STATE = Call("look_up_provider_state", LookedUp)
# Portability (Port+Refin)
PRICE_PORTABILITY = Call("price_portability", PortabilityPriced)
CREATE_PROPOSAL = Call("create_proposal", Proposed)
SIGN_LEGS: Call[None] = Call("sign_legs")
CANCEL_PROPOSAL: Call[None] = Call("cancel_proposal")
QUERY_ORIGIN_CONTRACT = Call("query_origin_contract", OriginQueried)
REDUCE_PORTABILITY_INSTALLMENT = Call("reduce_portability_installment", PortabilityReduced)
LOOK_UP_PROPOSAL = Call("look_up_proposal", LookedUp)

PORTABILITY_SIGNING_LINK = "portability_credit_operation"
"""Where the portability leg's CCB address travels in ``Proposed.signing_links`` (the adapter's key)."""

SIMULATE = "simulate"
CREATE_OPERATION = "create_operation"
FOLLOW_OPERATION = "follow_operation"
REFRESH_PRODUCTS = "refresh_products"  # product-table providers: the table into the store (catalog)
REFRESH_CTC_PARTICIPANTS = "refresh_ctc_participants"  # portability providers: seed 002 §9's list (catalog)


def activity_name(provider: ProviderId, operation: str) -> str:
    return f"{provider.value}.{operation}"


@dataclass(frozen=True)
class Capabilities:
    webhooks: bool
    """News arrive as webhooks; otherwise the loan follows the operation by polling."""
    consultation: bool
    """The lender's IN100 consultation goes through it; otherwise through ``CONSULTING_PROVIDER`` (the
    loan still needs the benefit's facts: its assistance type, the account it is paid into)."""
    cancel: bool
    """A debt can be canceled at the provider by API (otherwise an operator cancels it there)."""
    products: frozenset[Product]
    legal_representative: bool
    split_accounts: bool


CONSULTING_PROVIDER = ProviderId.QITECH

CAPABILITIES: dict[ProviderId, Capabilities] = {
    ProviderId.QITECH: Capabilities(
        webhooks=True,
        consultation=True,
        cancel=True,
        products=frozenset(Product),
        legal_representative=True,
        split_accounts=True,
    ),
    # Seed 003 prints operation creation only: no consultation, no cancel, no webhook.
    ProviderId.PROVIDER_B: Capabilities(
        webhooks=False,
        consultation=False,
        cancel=False,
        products=frozenset({Product.NEW_CREDIT}),
        legal_representative=False,
        split_accounts=False,
    ),
}


class OperationPhase(StrEnum):
    """Where a polled provider's operation is, in the loan's words."""

    AWAITING_SIGNATURE = "awaiting_signature"  # the borrower formalizes at link_form
    SIGNATURE_VALIDATION = "signature_validation"
    AVERBACAO = "averbacao"
    DISBURSEMENT = "disbursement"
    DISBURSED = "disbursed"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # a status no table knows: shown as it came, never taken as final


FINAL_PHASES = frozenset({OperationPhase.DISBURSED, OperationPhase.CANCELED, OperationPhase.REJECTED})


class CreateOperationInput(BaseModel):
    loan_id: str
    request: LoanRequest
    benefit: BenefitFacts | None = None
    """What the lender's own consultation found, when it made one (the account the benefit is paid into)."""
    not_before: date | None = None
    """Operations this loan may have created at the provider were created on or after this day."""
    in100: bool = True
    """False: no IN100 consultation was made (the "Sem IN100" flow): ``benefit`` is None, the request
    gives the assistance type and the account."""
    priced: PricedOption | None = None
    """The provider's simulation the loan chose: the operation is created with its amounts (None in
    loans that simulated before it was carried: the adapter asks the provider's simulation again)."""


class OperationFacts(BaseModel):
    """A polled provider's operation as the loan reads it."""

    debt_key: str
    phase: OperationPhase
    provider_status: str | None = None
    """The provider's own words (``dsc_situacao_emprestimo``), for operators."""
    contract_number: str | None = None
    formalization_link: str | None = None
    issue_amount: Decimal | None = None
    installment_value: Decimal | None = None
    notes: list[str] = Field(default_factory=list)


class FollowInput(BaseModel):
    debt_key: str
