"""``python -m ops.temporal_setup``: make a Temporal cluster ready for loans, idempotently.

Creates the namespace (TEMPORAL_NAMESPACE) when it does not exist, registers the custom search
attributes the loans and mailboxes use (``ALL_KEYS``, the one list of them) and creates (or updates)
the webhook recovery job's Schedule (``ops.schedules``). The run command calls
it on the dev server; the compose stack and the Kubernetes Job run it against the real cluster
before any worker starts. Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from ops.schedules import ensure_recovery_schedule, ensure_refresh_schedules
from runtime.settings import TemporalSettings
from runtime.telemetry import exit_now
from workflows.loan.visibility import LOAN_KEYS
from workflows.mailbox.contract import MAILBOX_STATE
from workflows.recovery.contract import WEBHOOKS_UNRECOVERED

log = logging.getLogger("temporal_setup")

ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (*LOAN_KEYS, MAILBOX_STATE, WEBHOOKS_UNRECOVERED)
"""Every custom search attribute a cluster needs for loans and the recovery job (registered by this job)."""

_CLI_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
    SearchAttributeIndexedValueType.INT: "Int",
}


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` for ``temporal server start-dev``."""
    return [f"{key.name}={_CLI_TYPES[key.indexed_value_type]}" for key in ALL_KEYS]


@dataclass
class SetupReport:
    namespace_created: bool = False
    search_attributes_added: list[str] = field(default_factory=list)
    recovery_schedule_created: bool = False


async def ensure_namespace(client: Client, namespace: str, retention: timedelta) -> bool:
    """True when it had to create the namespace."""
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        return False
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    ttl = Duration()
    ttl.FromTimedelta(retention)
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=ttl)
        )
    except RPCError as race:
        if race.status != RPCStatusCode.ALREADY_EXISTS:  # another setup run won the race
            raise
        return False
    return True


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Registers the loan search attributes the namespace lacks; returns their names."""
    existing = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {
        key.name: int(key.indexed_value_type)
        for key in ALL_KEYS
        if key.name not in existing.custom_attributes and key.name not in existing.system_attributes
    }
    wrong = [
        key.name
        for key in ALL_KEYS
        if existing.custom_attributes.get(key.name, key.indexed_value_type) != key.indexed_value_type
    ]
    if wrong:
        raise RuntimeError(f"search attributes registered with another type: {', '.join(sorted(wrong))}")
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)  # type: ignore[arg-type]
        )
    return sorted(missing)


async def setup(settings: TemporalSettings, *, retention: timedelta, wait: timedelta) -> SetupReport:
    """Waits up to ``wait`` for the cluster (it may still be starting), then makes it ready."""
    deadline = time.monotonic() + wait.total_seconds()
    report = SetupReport()
    while True:
        try:
            config = settings.connect_config()
            namespace = config["namespace"]
            # The schedule's input holds no PII: plain pydantic payloads, no codec key in the set-up job.
            client = await Client.connect(**config, data_converter=pydantic_data_converter)
            report.namespace_created |= await ensure_namespace(client, namespace, retention)
            report.search_attributes_added += await ensure_search_attributes(client, namespace)
            report.recovery_schedule_created = await ensure_recovery_schedule(client, settings.task_queue)
            await ensure_refresh_schedules(client, settings.task_queue)
            return report
        except (RPCError, RuntimeError) as error:
            # A new namespace takes a moment to reach every frontend's cache; a cluster, to start.
            # A wrong-type attribute will not heal: fail at once.
            if "another type" in str(error) or time.monotonic() > deadline:
                raise
            log.info("Temporal at %s not ready yet (%s); trying again", settings.where(), error)
            await asyncio.sleep(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.temporal_setup", description=__doc__)
    parser.add_argument(
        "--retention-days", type=int, default=30, help="closed loans' history retention (new namespace)"
    )
    parser.add_argument("--wait-seconds", type=float, default=180, help="how long to wait for the cluster")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s temporal_setup %(levelname)s: %(message)s")
    settings = TemporalSettings()
    try:
        report = asyncio.run(
            setup(
                settings,
                retention=timedelta(days=options.retention_days),
                wait=timedelta(seconds=options.wait_seconds),
            )
        )
    except (RPCError, RuntimeError) as error:
        log.error("setup failed: %s", error)
        return 1
    log.info(
        "namespace %s %s; search attributes added: %s; webhook recovery schedule %s",
        settings.connect_config()["namespace"],
        "created" if report.namespace_created else "already there",
        ", ".join(report.search_attributes_added) or "none (all registered)",
        "created" if report.recovery_schedule_created else "updated",
    )
    return 0


if __name__ == "__main__":
    exit_now(main())
