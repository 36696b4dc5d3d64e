"""With ``SANDBOX_B_STATE_PATH`` the second sandbox keeps its operations, tokens and scenarios in SQLite:
killed with SIGKILL and started again on the same port and file, an operation goes on where it was (its
statuses follow wall-clock time) and the lender's token still works. Without it, a restart forgets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.provider_b.errors import OperationNotFound
from activities.provider_b.status import SANDBOX_PATH
from tests.devtools.sandbox_b.conftest import PASSWORD, STEP_SECONDS, USERNAME, SandboxBUnderTest
from tests.devtools.sandbox_b.test_sandbox_b import follow, loan_operation, scenario
from tests.support.data import make_cpf
from tests.support.servers import RestartableProcess, free_port

pytestmark = pytest.mark.integration


class RestartableSandboxB(RestartableProcess, SandboxBUnderTest):
    def __init__(self, tmp_path: Path, state: Path | None) -> None:
        port = free_port()
        SandboxBUnderTest.__init__(self, url=f"http://127.0.0.1:{port}", log=tmp_path / "sandbox_b.log")
        env = {
            "SANDBOX_B_PORT": str(port),
            "SANDBOX_B_USERNAME": USERNAME,
            "SANDBOX_B_PASSWORD": PASSWORD,
            "SANDBOX_B_STEP_SECONDS": str(STEP_SECONDS),
            **({"SANDBOX_B_STATE_PATH": str(state)} if state else {}),
        }
        RestartableProcess.__init__(self, "devtools.sandbox_b", env, f"{self.url}/_sandbox/healthz", tmp_path)


@contextlib.contextmanager
def _sandbox_b(tmp_path: Path, *, persist: bool) -> Iterator[RestartableSandboxB]:
    sandbox = RestartableSandboxB(tmp_path, tmp_path / "data" / "sandbox_b.db" if persist else None)
    with sandbox:
        yield sandbox


async def test_an_operation_waiting_for_formalization_survives_a_kill_and_completes(tmp_path: Path) -> None:
    with _sandbox_b(tmp_path, persist=True) as sandbox:
        cpf = make_cpf(1)
        scenario(sandbox, cpf, outcome="formalization")
        async with sandbox.client() as client:
            created = await client.create_operation(await loan_operation(client, cpf))
            sandbox.kill_and_restart()
            # The same client, the same token: the restarted sandbox still knows both.
            waiting = await client.operation(created.debt_key)
            assert waiting.dsc_situacao_emprestimo == SANDBOX_PATH[0]
            with sandbox.admin() as admin:
                admin.post(f"/formalizacao/{created.debt_key}").raise_for_status()
            seen = await follow(client, created.debt_key)
            assert seen[-1].meaning().outcome == "completed"
            with sandbox.admin() as admin:
                assert admin.get("/_sandbox/tokens").json()["issued"] == 1  # no second login was needed


async def test_an_operation_in_progress_goes_on_after_a_kill(tmp_path: Path) -> None:
    with _sandbox_b(tmp_path, persist=True) as sandbox:
        async with sandbox.client() as client:
            created = await client.create_operation(await loan_operation(client, make_cpf(1)))
            sandbox.kill_and_restart()
            seen = await follow(client, created.debt_key)
            assert seen[-1].dsc_situacao_emprestimo == SANDBOX_PATH[-1]
            assert seen[-1].num_contrato == created.num_contrato


async def test_without_a_state_file_a_restart_forgets(tmp_path: Path) -> None:
    with _sandbox_b(tmp_path, persist=False) as sandbox:
        async with sandbox.client() as client:
            created = await client.create_operation(await loan_operation(client, make_cpf(1)))
        sandbox.kill_and_restart()
        async with sandbox.client() as client:
            with pytest.raises(OperationNotFound):
                await client.operation(created.debt_key)
