"""OpenTelemetry set-up shared by every process: one trace per loan across every hop.

Exporter from the standard variables: OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``..._TRACES_ENDPOINT``) is set, the console with ``OTEL_TRACES_EXPORTER=console``, otherwise
none (spans are still created, so trace ids propagate). httpx calls are instrumented here; FastAPI
apps with :func:`instrument_app`; Temporal clients and workers carry the TracingInterceptor
(runtime.temporal).
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

_configured = False


def setup_tracing(service_name: str, *, processor: SpanProcessor | None = None) -> TracerProvider:
    """Install the process's tracer provider (once) and instrument httpx."""
    global _configured  # noqa: PLW0603 - one provider per process, by OpenTelemetry's design
    current = trace.get_tracer_provider()
    if _configured and isinstance(current, TracerProvider):
        if processor is not None:
            current.add_span_processor(processor)
        return current
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if processor is not None:
        provider.add_span_processor(processor)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif os.environ.get("OTEL_TRACES_EXPORTER") == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _configured = True
    return provider


def instrument_app(app: FastAPI) -> None:
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics,_sandbox")


def shutdown_tracing() -> None:
    """Flush pending spans (processes that end with os._exit skip the atexit hooks that would)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def exit_now(code: int) -> None:
    """End the process without interpreter finalization, after flushing spans and streams.

    The Temporal SDK's native runtime threads can race Python's finalization and abort a process
    whose work is already done (exit -6, "PyGILState_Release ... finalizing").
    """
    import logging  # noqa: PLC0415
    import sys  # noqa: PLC0415

    shutdown_tracing()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
