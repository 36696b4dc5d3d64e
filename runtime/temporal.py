"""One way to connect to Temporal, so every process agrees on the connection (Temporal's environment
configuration: address, namespace, TLS/mTLS, API key — see TemporalSettings) and on the data
converter: pydantic models, payloads encrypted by the AES-GCM codec, failure messages encrypted
too, tracing interceptor."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.client import Client, HeaderCodecBehavior, Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig

from runtime.codec.operator_seal import SealReadingPayloadConverter
from runtime.codec.settings import CodecSettings
from runtime.settings import TemporalSettings


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """pydantic v2 models end to end; with a codec, every payload is encrypted, and error messages
    (which can quote a CPF) travel encoded instead of as plain failure text."""
    # The operator's seal (runtime.codec.operator_seal) is read whatever the codec: without one, no
    # command carries a verified operator, whatever its caller wrote.
    converter = dataclasses.replace(pydantic_data_converter, payload_converter_class=SealReadingPayloadConverter)
    if codec is None:
        return converter
    return dataclasses.replace(
        converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    settings: TemporalSettings,
    *,
    codec: CodecSettings | None = None,
    interceptors: Sequence[Interceptor] = (),
    lazy: bool = False,
    fail_fast: bool = False,
    identity: str | None = None,
    runtime: Runtime | None = None,
    remote_codec: bool = False,
) -> Client:
    """``fail_fast`` for callers that must answer quickly when Temporal is down (the gateway's 503).
    ``remote_codec``: an operator's process, which may use the codec server instead of the keys
    (``CODEC_REMOTE_URL``); workers and the relay never do."""
    quick = RetryConfig(max_retries=1, max_interval_millis=500, max_elapsed_time_millis=3000)
    retry = quick if fail_fast else RetryConfig()
    payload_codec = (codec or CodecSettings()).codec_or_none(remote=remote_codec)
    return await Client.connect(
        **settings.connect_config(),
        data_converter=data_converter(payload_codec),
        # Headers (the tracing context) go through the codec too: nothing travels in clear but the
        # search attributes and the SDK's own bookkeeping.
        header_codec_behavior=HeaderCodecBehavior.CODEC if payload_codec else HeaderCodecBehavior.NO_CODEC,
        interceptors=[TracingInterceptor(), *interceptors],
        lazy=lazy,
        identity=identity,
        retry_config=retry,
        runtime=runtime,
    )
