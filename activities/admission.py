"""The worker's half of a start it did not see validated (``workflows.loan.admission``): the lender's
routing rules choose the provider, and the CPF is hashed with the worker's key so operators find the
loan by CPF, exactly as the Python starter does. A local activity: its answer is recorded in the
loan's history, so a replay, or a worker with other settings, never routes the loan again."""

from __future__ import annotations

import contextlib

from temporalio import activity

from domain.documents import InvalidDocumentError, keyed_hash, normalize_cpf
from workflows.loan.activity_models import AdmissionInput, Admitted
from workflows.loan.admission import without_consultation
from workflows.loan.port import ADMIT_LOAN
from workflows.loan.routing import NoProvider, ProviderRouting, choose_provider, consults


class Admissions:
    def __init__(self, routing: ProviderRouting, pii_hash_key: bytes | None) -> None:
        self._routing = routing
        self._pii_hash_key = pii_hash_key

    @activity.defn(name=ADMIT_LOAN.name)
    async def admit_loan(self, start: AdmissionInput) -> Admitted:
        admitted = Admitted()
        if start.route:
            try:
                admitted.provider = choose_provider(start.request, self._routing)
            except NoProvider as error:
                admitted.refusal = str(error)
            else:
                admitted.in100 = consults(admitted.provider, self._routing)
                missing = [] if admitted.in100 else without_consultation(start.request)
                if missing:
                    admitted.refusal = "; ".join(str(m) for m in missing)
        if start.hash_cpf and self._pii_hash_key:
            with contextlib.suppress(InvalidDocumentError):  # the request's own validation names the CPF
                admitted.cpf_hash = keyed_hash(normalize_cpf(start.request.borrower.cpf), self._pii_hash_key)
        return admitted
