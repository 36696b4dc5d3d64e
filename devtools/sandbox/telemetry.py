"""The sandbox's traces and logs, with OpenTelemetry itself (not the project's telemetry module):

- a tracer provider named ``provider-sandbox``, exporting over OTLP/HTTP when the standard
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set, so its spans join the lender's
  trace (each webhook carries the trace of the call that caused it);
- its FastAPI app instrumented (not its ``/_sandbox`` controls);
- CPF-shaped numbers masked in every log record it writes: a double of the provider must not be the
  process that leaks a borrower into a log.
"""

from __future__ import annotations

import logging
import os
import re

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

CPF_SHAPED = re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)")


def mask(text: str) -> str:
    return CPF_SHAPED.sub("***********", text)


class MaskCpfs(logging.Filter):
    """On the root handler: the message and any traceback, before they are written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if mask(message) != message:
            record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def setup_logging() -> None:
    """One handler, on the root logger, masking: uvicorn's loggers propagate to it (the server is
    started with ``log_config=None``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskCpfs())


def setup_tracing(service_name: str = "provider-sandbox") -> None:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def instrument_app(app: FastAPI) -> None:
    FastAPIInstrumentor.instrument_app(app, excluded_urls="_sandbox")
