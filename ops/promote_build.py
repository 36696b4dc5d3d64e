"""``python -m ops.promote_build [BUILD_ID]``: make a worker build the current version of its Worker
Deployment, once its workers poll — the last step of a rollout (what
``temporal worker deployment set-current-version`` does, over our connection settings).

From then on new loans start on that build and running loans move to it at their next workflow
task (auto-upgrade, see worker.py); loans started pinned stay on theirs. Roll back by promoting the
previous build again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client
from temporalio.service import RPCError

from runtime.settings import TemporalSettings, WorkerSettings
from runtime.telemetry import exit_now

log = logging.getLogger("promote_build")

DEFAULT_DEPLOYMENT = "consignado-worker"


async def promote(client: Client, deployment: str, build_id: str, *, wait_seconds: float = 120.0) -> None:
    """Set ``build_id`` current; the version exists only once one of its workers has polled, so wait
    (bounded) for that. Raises TimeoutError when no worker of that build shows up."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=deployment,
                    build_id=build_id,
                    identity="ops.promote_build",
                )
            )
            return
        except RPCError as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{deployment}/{build_id} could not be made current: {error.message}") from None
            log.info("%s/%s not ready yet (%s); trying again", deployment, build_id, error.message)
        await asyncio.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.promote_build", description=__doc__)
    worker = WorkerSettings()
    parser.add_argument(
        "build_id",
        nargs="?",
        default=worker.build_id,
        help="the build to make current (default: this image's WORKER_BUILD_ID, i.e. its tag)",
    )
    parser.add_argument(
        "--deployment", default=worker.deployment_name or DEFAULT_DEPLOYMENT, help="the Worker Deployment's name"
    )
    parser.add_argument("--wait-seconds", type=float, default=300, help="how long to wait for its workers")
    options = parser.parse_args(argv)
    if not options.build_id:
        parser.error("give the build id (or set WORKER_BUILD_ID)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s promote_build %(levelname)s: %(message)s")
    settings = TemporalSettings()

    async def run() -> None:
        # No payloads travel here: a plain connection (no codec keys needed).
        client = await Client.connect(**settings.connect_config(), identity="ops.promote_build")
        await promote(client, options.deployment, options.build_id, wait_seconds=options.wait_seconds)

    try:
        asyncio.run(run())
    except (RPCError, TimeoutError) as error:
        log.error("promotion failed: %s", error)
        return 1
    log.info("%s/%s is the current build on %s", options.deployment, options.build_id, settings.where())
    return 0


if __name__ == "__main__":
    exit_now(main())
