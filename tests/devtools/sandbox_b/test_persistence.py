"""With ``SANDBOX_B_STATE_PATH`` the second sandbox keeps its operations, tokens and scenarios in SQLite,
written ahead of every answer: killed with SIGKILL and started again on the same port and file, an
operation goes on where it was (its statuses follow wall-clock time) and the lender's token still works;
killed right after each answer (a token issued, an operation created, a formalization, a scenario set),
it has forgotten none of them and created nothing twice. Every persisted sandbox here also checks that
no change escaped the journal (``SANDBOX_B_STATE_VERIFY``). Without a state path, a restart forgets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
            **({"SANDBOX_B_STATE_PATH": str(state), "SANDBOX_B_STATE_VERIFY": "1"} if state else {}),
        }
        RestartableProcess.__init__(self, "devtools.sandbox_b", env, f"{self.url}/_sandbox/healthz", tmp_path)

    def operations(self, cpf: str) -> list[dict[str, Any]]:
        with self.admin() as admin:
            return list(admin.get("/_sandbox/operations", params={"document_number": cpf}).json())

    def assert_nothing_escaped_the_journal(self) -> None:
        with self.admin() as admin:
            assert admin.get("/_sandbox/healthz").json()["state_untracked"] == 0


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


async def test_killed_right_after_each_answer_it_forgets_none_and_creates_nothing_twice(tmp_path: Path) -> None:
    cpf = make_cpf(1)
    with _sandbox_b(tmp_path, persist=True) as sandbox:
        scenario(sandbox, cpf, outcome="formalization")
        sandbox.kill_and_restart()  # right after the scenario was set
        async with sandbox.client() as client:
            request = await loan_operation(client, cpf)  # logs in: a token issued
            sandbox.kill_and_restart()
            created = await client.create_operation(request)
            sandbox.kill_and_restart()
            waiting = await client.operation(created.debt_key)  # the same token, the same operation
            assert waiting.dsc_situacao_emprestimo == SANDBOX_PATH[0]  # the scenario's, kept
            with sandbox.admin() as admin:
                admin.post(f"/formalizacao/{created.debt_key}").raise_for_status()
            sandbox.kill_and_restart()
            [operation] = sandbox.operations(cpf)
            assert operation["debt_key"] == created.debt_key and operation["formalized"]
            seen = await follow(client, created.debt_key)
            assert seen[-1].meaning().outcome == "completed"
            assert {s.num_contrato for s in seen} == {created.num_contrato}
        with sandbox.admin() as admin:
            assert admin.get("/_sandbox/tokens").json()["issued"] == 1  # no second login was needed
        assert len(sandbox.operations(cpf)) == 1
        sandbox.assert_nothing_escaped_the_journal()
