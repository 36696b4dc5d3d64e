"""The CTC participants (seed 002 §9) cached in the store and read by the proposal, against the real
sandbox and the embedded store: a proposal from a bank outside the list is refused before it reaches the
provider, and the list the proposal reads is the cached one (what the Schedule last fetched)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.mapping import LenderTerms
from activities.qitech.models.portability import CtcParticipant, CtcParticipants
from activities.qitech.participants import TABLE, CtcParticipantsCatalog
from devtools.devstack.samples import Sample, portability_with_troco, sample_cpf, sample_request
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from runtime.store.db import DatabaseSettings
from runtime.store.migrate import upgrade
from runtime.store.products import ProductTables
from tests.workflows.loan.test_activities_once import NoRoutes
from workflows.loan.activity_models import ProposalInput

pytestmark = pytest.mark.integration

ITAU = "60701190"  # a bank the sandbox lists (public ISPB)
LENDER = LenderTerms(purchaser_cnpj="32402502000135")


@pytest.fixture
def store(tmp_path: Path) -> DatabaseSettings:
    settings = DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'runtime.store.db'}")
    upgrade(settings)  # runs its own event loop: outside the tests' one
    return settings


@pytest.fixture
async def tables(store: DatabaseSettings) -> AsyncIterator[ProductTables]:
    engine = store.engine()
    yield ProductTables(engine)
    await engine.dispose()


def _proposal(tmp_path: Path, origin_ispb: str) -> ProposalInput:
    sample = Sample("portability", 1, "", request=portability_with_troco)
    request = sample_request(sample, cpf=sample_cpf(1, random.Random()), stamp="participants", documents_dir=tmp_path)
    assert request.portability is not None
    terms = request.portability.model_copy(update={"origin_bank_ispb": origin_ispb})
    return ProposalInput(loan_id="loan-participants", request=request.model_copy(update={"portability": terms}))


async def test_the_refresh_keeps_the_providers_list_in_the_store(
    provider: ProviderClient, tables: ProductTables
) -> None:
    catalog = CtcParticipantsCatalog(provider, tables)
    assert await catalog.cached() is None
    activities = LoanActivities(
        provider, NoRoutes(), LenderTerms(purchaser_cnpj="32402502000135"), INSS_DEFAULT_PRODUCT
    )
    with pytest.raises(ApplicationError, match="no CTC participants catalog"):
        await ActivityEnvironment().run(activities.refresh_ctc_participants)
    with_catalog = LoanActivities(
        provider,
        NoRoutes(),
        LENDER,
        INSS_DEFAULT_PRODUCT,
        participants=catalog,
    )
    count = await ActivityEnvironment().run(with_catalog.refresh_ctc_participants)
    cached = await catalog.cached()
    assert cached is not None
    assert count == len(cached[0].root) == len((await provider.ctc_participants()).root) > 0
    assert (bank := await catalog.participant(ITAU)) is not None and bank.bank_code == "341"
    assert await catalog.participant("12345678") is None


async def test_an_origin_bank_outside_the_cached_list_is_refused_before_the_provider(
    provider: ProviderClient, tables: ProductTables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proposal carries the borrower's documents (uploaded first): the sample's are local files.
    monkeypatch.setenv("DOCUMENTS_ALLOWED_SCHEMES", "https,file")
    # The cached list (as a refresh left it) lacks Itaú, which the sandbox itself would accept.
    await tables.save(
        TABLE,
        CtcParticipants([CtcParticipant(name="BCO PAN S.A.", bank_code="623", ispb="59285411")]).model_dump_json(),
    )
    activities = LoanActivities(
        provider,
        NoRoutes(),
        LENDER,
        INSS_DEFAULT_PRODUCT,
        participants=CtcParticipantsCatalog(provider, tables),
    )
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(activities.create_proposal, _proposal(tmp_path, ITAU))
    assert refused.value.non_retryable and refused.value.type == "ProviderBusinessError"
    assert f"origin_bank_ispb {ITAU} is not a CTC participant" in str(refused.value)
    assert refused.value.details == ({"field": "portability.origin_bank_ispb"},)
    # A bank on the cached list goes on to the provider, which creates the proposal.
    proposed = await ActivityEnvironment().run(activities.create_proposal, _proposal(tmp_path, "59285411"))
    assert proposed.proposal_key and proposed.portability_leg_key
