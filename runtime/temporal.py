"""One way to connect to Temporal, so every process agrees on the data converter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RetryConfig

from .settings import TemporalSettings


def data_converter() -> DataConverter:
    """pydantic v2 models end to end (client, workflows, activities, gateway)."""
    return pydantic_data_converter


async def connect(
    settings: TemporalSettings,
    *,
    interceptors: Sequence[Interceptor] = (),
    lazy: bool = False,
    fail_fast: bool = False,
    identity: str | None = None,
) -> Client:
    """``fail_fast`` for callers that must answer quickly when Temporal is down (the gateway's 503)."""
    retry = (
        RetryConfig(max_retries=1, max_interval_millis=500, max_elapsed_time_millis=3000)
        if fail_fast
        else RetryConfig()
    )
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        data_converter=data_converter(),
        interceptors=interceptors,
        lazy=lazy,
        identity=identity,
        retry_config=retry,
    )


RPC_TIMEOUT = timedelta(seconds=5)
