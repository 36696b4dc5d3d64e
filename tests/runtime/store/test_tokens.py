"""One provider token per environment, shared by every worker process (seed 000): several processes,
each making calls at once, against a sandbox that enforces "one token at a time" — on the embedded
SQLite store and on a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.store.db import DatabaseSettings
from runtime.store.migrate import upgrade
from tests.conftest import SandboxUnderTest
from tests.support.postgres import running_postgres
from tests.support.servers import ROOT

pytestmark = pytest.mark.integration

PROCESSES, CALLS = 3, 5


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'runtime.store.db'}"
        upgrade(DatabaseSettings(url=url))
        yield url
        return
    with running_postgres() as url:
        upgrade(DatabaseSettings(url=url))
        yield url


def counts(sandbox: SandboxUnderTest) -> dict[str, int]:
    with sandbox.admin() as admin:
        found: dict[str, int] = admin.get("/_sandbox/tokens").json()
    return found


def workers(sandbox: SandboxUnderTest, database_url: str) -> list[str]:
    """PROCESSES processes at once, CALLS calls each at once; their outputs (bounded wait)."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.token_client", sandbox.url, database_url, str(CALLS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = []
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out.strip())
    return outputs


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after}


def test_every_process_shares_one_token_and_renews_it_once(sandbox: SandboxUnderTest, database_url: str) -> None:
    with sandbox.admin() as admin:  # the environment's current token belongs to someone else's tests
        admin.post("/_sandbox/tokens/revoke").raise_for_status()
    before = counts(sandbox)
    assert workers(sandbox, database_url) == [f"ok {CALLS}"] * PROCESSES
    # 15 calls from 3 processes: one token issued, none refused, none revoked by us.
    assert delta(before, counts(sandbox)) == {"issued": 1, "refused": 0, "revoked": 0}

    # The provider revokes it (or it expires): every process finds out at its next call; exactly one
    # renews, the others wait for it and use the new one.
    with sandbox.admin() as admin:
        admin.post("/_sandbox/tokens/revoke").raise_for_status()
    before = counts(sandbox)
    assert workers(sandbox, database_url) == [f"ok {CALLS}"] * PROCESSES
    assert delta(before, counts(sandbox)) == {"issued": 1, "refused": 0, "revoked": 0}


def test_a_token_the_store_does_not_hold_is_revoked_and_renewed(sandbox: SandboxUnderTest, database_url: str) -> None:
    # The provider has a valid token for the environment that our store never saw (issued by a
    # process that died before storing it): the next request is refused, so we revoke and renew.
    with sandbox.admin() as admin:
        admin.post("/_sandbox/tokens/revoke").raise_for_status()
    issued = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "lender-test", "client_secret": "test-client-secret"},
    )
    assert issued.status_code == 200
    before = counts(sandbox)
    assert workers(sandbox, database_url) == [f"ok {CALLS}"] * PROCESSES
    assert delta(before, counts(sandbox)) == {"issued": 1, "refused": 1, "revoked": 1}
