"""``python -m ops.temporal_setup`` against a bare Temporal server: what the deploy job does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from devtools.devstack.stack import ROOT, binary, free_port
from ops.temporal_setup import ALL_KEYS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dev server with no custom search attributes: like a fresh production cluster."""
    port = free_port()
    log = tmp_path_factory.mktemp("bare") / "temporal.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def setup_job(address: str, namespace: str, *, wait_seconds: int = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}
    return subprocess.run(
        [sys.executable, "-m", "ops.temporal_setup", "--retention-days", "45", "--wait-seconds", str(wait_seconds)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=wait_seconds + 60,
        check=False,
    )


async def test_creates_the_namespace_and_every_loan_search_attribute_then_changes_nothing(bare_server: str) -> None:
    first = setup_job(bare_server, "consignado")
    assert first.returncode == 0, first.stderr
    assert "namespace consignado created" in first.stderr

    client = await Client.connect(bare_server, namespace="consignado")
    described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="consignado"))
    assert described.config.workflow_execution_retention_ttl.ToTimedelta().days == 45
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="consignado"))
    for key in ALL_KEYS:
        assert listed.custom_attributes[key.name] == int(key.indexed_value_type), key.name

    again = setup_job(bare_server, "consignado")
    assert again.returncode == 0, again.stderr
    assert "already there" in again.stderr and "none (all registered)" in again.stderr


async def test_an_attribute_registered_with_another_type_fails_the_job(bare_server: str) -> None:
    client = await Client.connect(bare_server)
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default", search_attributes={"LoanStage": IndexedValueType.INDEXED_VALUE_TYPE_TEXT}
        )
    )
    failed = setup_job(bare_server, "default")
    assert failed.returncode == 1
    assert "LoanStage" in failed.stderr and "another type" in failed.stderr


def test_an_unreachable_cluster_fails_within_the_wait() -> None:
    started = time.monotonic()
    failed = setup_job(f"127.0.0.1:{free_port()}", "default", wait_seconds=3)
    assert failed.returncode == 1
    assert "setup failed" in failed.stderr
    assert time.monotonic() - started < 45
