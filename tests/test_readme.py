"""The README's operator queries and service example work as written, against the running stack."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from devtools.devstack.samples import SAMPLES, sample_cpf, sample_request
from devtools.devstack.stack import ROOT, LocalStack
from starter.api import LoanInputError

pytestmark = pytest.mark.integration

README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def _code_blocks(section: str, language: str = "") -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section, re.S | re.M)


def _ui_queries() -> list[str]:
    block = _code_blocks(_section("Finding a stuck loan (operators)"))[0]
    return [line.split("--")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_lists_web_ui_queries() -> None:
    assert len(_ui_queries()) >= 5


@pytest.mark.parametrize("query", _ui_queries())
async def test_each_web_ui_query_in_the_readme_is_accepted_by_the_server(temporal_client: Client, query: str) -> None:
    query = query.replace("<debt key from the provider>", "no-such-key")
    # Counting runs the query for real: the server refuses an unknown attribute or a malformed query
    # (an RPCError here), whatever the count.
    await temporal_client.count_workflows(query)
    # The control: the same query with its first attribute misspelt is refused, so the call above
    # would have failed on a README query naming an attribute the server does not have.
    attribute = re.match(r"\s*(\w+)", query)
    assert attribute, query
    misspelt = query.replace(attribute.group(1), f"{attribute.group(1)}Typo", 1)
    with pytest.raises(RPCError):
        await temporal_client.count_workflows(misspelt)


def _service_example() -> Callable[[dict[str, Any]], Awaitable[str]]:
    source = _code_blocks(_section("Starting a loan from another service"), "python")[0]
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    open_loan: Callable[[dict[str, Any]], Awaitable[str]] = namespace["open_loan"]
    return open_loan


async def test_the_service_example_starts_a_loan_once_and_names_bad_fields(
    stack: LocalStack, temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stack.config.common_env().items():
        monkeypatch.setenv(name, value)
    open_loan = _service_example()
    request = sample_request(
        SAMPLES[0], cpf=sample_cpf(2, random.Random()), stamp=str(random.randrange(10**9)), documents_dir=tmp_path
    ).model_dump(mode="json")

    workflow_id = await open_loan(request)
    assert workflow_id == f"loan-{request['request_key']}"
    assert await open_loan(request) == workflow_id  # the same key finds the same loan
    description = await temporal_client.get_workflow_handle(workflow_id).describe()
    assert description.workflow_type == "LoanWorkflow"

    request["borrower"]["cpf"] = request["borrower"]["cpf"][:-1] + str((int(request["borrower"]["cpf"][-1]) + 1) % 10)
    request["request_key"] += "-other"
    with pytest.raises(LoanInputError) as refused:
        await open_loan(request)
    assert [e.field for e in refused.value.errors] == ["borrower.cpf"]
    runs = await temporal_client.count_workflows(f"WorkflowId = 'loan-{request['request_key']}'")
    assert runs.count == 0
