"""The worker: runs LoanWorkflow and its activities on one task queue (and, while a deploy drains
them, the provider-key mailboxes of earlier versions: see webhooks/gateway/DESIGN.md).

Configuration comes from the environment (runtime.settings: TEMPORAL_*, PROVIDER_*, LENDER_*,
WORKER_*; DATABASE_* for the store the workers share the webhook routes, provider tables and the sales
channel's outbox through). SIGTERM or SIGINT stops polling and lets in-flight activities finish
(graceful shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.admission import Admissions
from activities.call_metrics import provider_call_observer
from activities.housekeeping import Housekeeping
from activities.provider_b.adapter import ProviderBActivities
from activities.provider_b.client import Credentials as ProviderBCredentials
from activities.provider_b.client import ProviderBClient
from activities.qitech.adapter import LoanActivities
from activities.qitech.client import Credentials, ProviderClient
from activities.qitech.mapping import LenderTerms
from activities.qitech.news import earlier_news
from activities.qitech.participants import CtcParticipantsCatalog
from activities.qitech.recovery import RecoveryActivities
from activities.sales_channel import SalesChannelActivities
from activities.wire import decode
from domain.pricing.product import INSS_DEFAULT_PRODUCT, PROVIDER_B_PRODUCT, ProductConfig
from ops.loan_census import LoanCensus
from runtime.process import freeze_startup_heap, serve, stop_on_signals
from runtime.settings import (
    LenderSettings,
    PiiSettings,
    ProviderBSettings,
    ProviderSettings,
    TemporalSettings,
    WorkerSettings,
)
from runtime.store.db import DatabaseSettings
from runtime.store.products import ProductTables
from runtime.telemetry import setup_logging, setup_tracing
from runtime.temporal import connect
from starter.routing import RoutingSettings
from webhooks.inbox.routes import SqlKeyRouter
from webhooks.inbox.store import Inbox
from webhooks.outbound.outbox import Outbox
from workflows.catalog.workflow import ProductTableRefresh
from workflows.loan.metrics import BUCKET_OVERRIDES
from workflows.loan.news import read_earlier_news_with
from workflows.loan.workflow import LoanWorkflow
from workflows.mailbox.workflow import ProviderKeyMailbox
from workflows.recovery.workflow import WebhookRecovery
from workflows.runner import workflow_runner

log = logging.getLogger("worker")


def _product(file: Path | None, default: ProductConfig) -> ProductConfig:
    if file is None:
        return default
    return ProductConfig.model_validate(decode(file.read_bytes()))


# Loans recorded before the adapter translated webhooks at its edge hold the first provider's own
# shape in their histories: this worker reads it through that adapter (workflows.loan.news).
read_earlier_news_with(earlier_news)


async def run() -> None:
    temporal, provider, lender, options = TemporalSettings(), ProviderSettings(), LenderSettings(), WorkerSettings()
    second = ProviderBSettings()  # each provider's secrets refused before anything connects
    if not provider.base_url and not second.base_url:
        raise SystemExit("no provider configured: set PROVIDER_BASE_URL and/or PROVIDER_B_BASE_URL")
    setup_logging("worker", options.log_level)  # JSON lines with trace_id and workflow_id in production
    logging.getLogger("httpx").setLevel(logging.WARNING)  # provider.client logs each call without bodies
    setup_tracing("loan-worker")
    runtime = None
    observe = None
    if options.metrics_bind:
        # The SDK's own metrics (task latencies, slots, polls) and the loans' business figures
        # (loan.metrics, emitted by the workflows and the provider client) for Prometheus to scrape.
        prometheus = PrometheusConfig(bind_address=options.metrics_bind, histogram_bucket_overrides=BUCKET_OVERRIDES)
        runtime = Runtime(telemetry=TelemetryConfig(metrics=prometheus))
        observe = provider_call_observer(runtime.metric_meter)
    client = await connect(temporal, identity=f"worker-{os.getpid()}", runtime=runtime)
    stop = stop_on_signals()
    store = DatabaseSettings().engine()
    async with contextlib.AsyncExitStack() as providers:
        lender_terms = LenderTerms(
            purchaser_cnpj=lender.purchaser_cnpj,
            subcorban_cnpj=lender.subcorban_cnpj,
            fine_monthly_rate=lender.fine_monthly_rate,
            fine_contract_rate=lender.fine_contract_rate,
        )
        router = SqlKeyRouter(Inbox(store))
        # A loan started without a provider or CPF hash (a CLI, Go or TypeScript caller) is routed and
        # hashed here as the Python starter would (workflows.loan.admission).
        admissions = Admissions(RoutingSettings().routing(), PiiSettings().hash_key.get_secret_value().encode() or None)
        registered: list[Any] = [
            admissions.admit_loan,
            # The loans' events for the sales channel, into the outbox the relay's notifier delivers.
            SalesChannelActivities(Outbox(store)).record_loan_events,
        ]
        if provider.base_url:
            provider_client = await providers.enter_async_context(
                ProviderClient(
                    provider.base_url,
                    # Each request signed with the lender's key (no token: the provider authenticates requests).
                    Credentials(provider.api_client_key, provider.signing_key, provider.public_key or None),
                    timeout=httpx.Timeout(provider.timeout_seconds),
                    observe=observe,
                )
            )
            activities = LoanActivities(
                provider_client,
                # Each provider key the loan learns is routed to it in the webhook inbox, before the
                # workflow sees the key (the relay delivers that key's webhooks to the loan).
                router,
                lender_terms,
                _product(lender.product_file, INSS_DEFAULT_PRODUCT),
                participants=CtcParticipantsCatalog(provider_client, ProductTables(store)),
            )
            registered += [*activities.all(), RecoveryActivities(provider_client).resend_failed_webhooks]
        else:
            # A second-provider-only lender: none of the first provider's activities or secrets; the
            # loan's own housekeeping (rules, key release) still runs here.
            log.info("PROVIDER_BASE_URL unset: this worker does not speak to the first provider")
            registered += Housekeeping(router).all()
        if second.base_url:
            # The second provider's adapter (loan.port): only on workers configured to speak to it.
            client_b = await providers.enter_async_context(
                ProviderBClient(
                    second.base_url,
                    ProviderBCredentials(second.username, second.password),
                    timeout=httpx.Timeout(second.timeout_seconds),
                )
            )
            registered += ProviderBActivities(
                client_b, ProductTables(store), lender_terms, _product(second.product_file, PROVIDER_B_PRODUCT)
            ).all()
        worker = Worker(
            client,
            task_queue=temporal.task_queue,
            # ProviderKeyMailbox only drains mailboxes an earlier version started (none start now).
            workflows=[]
            if options.role == "activities"
            else [LoanWorkflow, WebhookRecovery, ProductTableRefresh, ProviderKeyMailbox],
            # A workflows-only worker keeps the activities registered: its loans' local activities run here.
            activities=registered,
            no_remote_activities=options.role == "workflows",
            # The project's deterministic modules passed through the sandbox (workflows.runner).
            workflow_runner=workflow_runner(),
            deployment_config=options.deployment(),
            **options.worker_limits(),
        )
        async with worker:
            freeze_startup_heap()
            build = f"{options.deployment_name}/{options.build_id}" if options.build_id else "unversioned"
            log.info("worker polling %s on %s, build %s", temporal.task_queue, temporal.where(), build)
            census = None
            if runtime is not None and options.loan_census_seconds > 0:
                # Loans per stage now, and past their stage's SLA, beside the SDK's metrics.
                every = timedelta(seconds=options.loan_census_seconds)
                census = asyncio.create_task(LoanCensus(client, runtime.metric_meter).run(every))
            await stop.wait()
            if census is not None:
                census.cancel()
            log.info(
                "stopping: no new tasks, waiting up to %.0f s for running activities", options.graceful_shutdown_seconds
            )
    await store.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    serve(run)
