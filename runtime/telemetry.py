"""OpenTelemetry set-up shared by every process: one trace per loan across every hop.

Exporter from the standard variables: OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``..._TRACES_ENDPOINT``) is set, the console with ``OTEL_TRACES_EXPORTER=console``, otherwise
none (spans are still created, so trace ids propagate). httpx calls are instrumented here; FastAPI
apps with :func:`instrument_app`; Temporal clients and workers carry the TracingInterceptor
(runtime.temporal).

PII defense in depth: failure messages are built without the borrower's data where they are made
(loan.errors, provider.errors, loan.documents); in case something slips through, every log record
and every exported span of a process that sets up tracing here has its CPF-shaped numbers and
pydantic's quoted input values redacted (domain.redaction.redact).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import activity

from domain.redaction import redact
from runtime.codec.environment import is_development

_configured = False


# ---------------------------------------------------------------- logs


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record's message, traceback and stack, formatted now and redacted (handlers then print the
    redacted text: exc_text and stack_info take precedence over formatting the exception again)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed call: leave it to the handler's error path
        return record
    redacted = redact(message)
    if redacted != message:
        # Only then: some formatters read the arguments themselves (uvicorn's access log).
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_redacting_factory_installed = False


def install_log_redaction() -> None:
    """Every log record this process makes is redacted when it is made, whichever handler prints it
    (our basicConfig, uvicorn's, the Temporal SDK's loggers); and so is an uncaught exception's
    traceback. Idempotent."""
    global _redacting_factory_installed  # noqa: PLW0603 - one record factory per process, by logging's design
    if _redacting_factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    hook = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            hook(kind, value, tb)
            return
        sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))

    sys.excepthook = excepthook
    _redacting_factory_installed = True


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class LogSettings(BaseSettings):
    """``LOG_FORMAT``: ``json`` (one object a line, for a log pipeline) or ``text`` (a person at a
    terminal). Unset: JSON in production, text in development."""

    model_config = SettingsConfigDict(env_prefix="LOG_")

    format: LogFormat | None = None

    def chosen(self) -> LogFormat:
        return self.format or (LogFormat.TEXT if is_development() else LogFormat.JSON)


def _correlation(record: logging.LogRecord) -> dict[str, str]:
    """The ids that tie a line to its loan and its trace: the workflow (from the SDK's workflow and
    activity loggers, an ``extra``, or the activity running this line) and the current span."""
    found: dict[str, str] = {}
    for extra in ("temporal_workflow", "temporal_activity"):
        details = getattr(record, extra, None)
        if isinstance(details, Mapping):
            for key in ("workflow_id", "run_id", "workflow_type", "activity_type"):
                if details.get(key):
                    found.setdefault(key, str(details[key]))
    explicit = getattr(record, "workflow_id", None)
    if explicit and "workflow_id" not in found:
        found["workflow_id"] = str(explicit)
    if "workflow_id" not in found and activity.in_activity():
        info = activity.info()
        ids = {"workflow_id": info.workflow_id, "run_id": info.workflow_run_id, "activity_type": info.activity_type}
        found.update({key: value for key, value in ids.items() if value})
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        found["trace_id"], found["span_id"] = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    return found


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, process, logger, message (already redacted by the
    record factory), the exception if any, and the correlation ids (``trace_id``, ``workflow_id``)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "process": self.process,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": None,
            "workflow_id": None,
        }
        entry.update(_correlation(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(process: str, level: int | str = logging.INFO) -> LogFormat:
    """The process's root logging: JSON lines or text (``LogSettings``), redacted either way."""
    install_log_redaction()
    chosen = LogSettings().chosen()
    handler = logging.StreamHandler()
    if chosen is LogFormat.JSON:
        handler.setFormatter(JsonLogFormatter(process))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {process} %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    return chosen


# ---------------------------------------------------------------- spans


def _redacted_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return tuple(redact(v) if isinstance(v, str) else v for v in value)
    return value


def _redacted_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: _redacted_value(value) for key, value in (attributes or {}).items()}


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of a finished span with its name, attributes, events (a recorded exception's message
    and stack trace among them) and status description redacted."""
    status = span.status
    if status.description:
        status = Status(status.status_code, redact(status.description))
    return ReadableSpan(
        name=redact(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_redacted_attributes(span.attributes),
        events=[Event(e.name, _redacted_attributes(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanProcessor(SpanProcessor):
    """Hands its processor (an exporter's) redacted copies of finished spans."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(redacted_span(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


# ---------------------------------------------------------------- set-up


def setup_tracing(service_name: str, *, processor: SpanProcessor | None = None) -> TracerProvider:
    """Install the process's tracer provider (once), instrument httpx, and redact logs and spans
    (every processor given or made here sees redacted spans)."""
    global _configured  # noqa: PLW0603 - one provider per process, by OpenTelemetry's design
    install_log_redaction()
    current = trace.get_tracer_provider()
    if _configured and isinstance(current, TracerProvider):
        if processor is not None:
            current.add_span_processor(RedactingSpanProcessor(processor))
        return current
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if processor is not None:
        provider.add_span_processor(RedactingSpanProcessor(processor))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        provider.add_span_processor(RedactingSpanProcessor(BatchSpanProcessor(OTLPSpanExporter())))
    elif os.environ.get("OTEL_TRACES_EXPORTER") == "console":
        provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(ConsoleSpanExporter())))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    _configured = True
    return provider


def instrument_app(app: FastAPI, *, spanned_apart: Sequence[str] = ()) -> None:
    """``spanned_apart``: URL patterns (regular expressions searched in the URL) of routes that make
    their own server span (:class:`ServerSpan`), left out here so a request has exactly one."""
    # One server span a request: the ASGI middleware's own "http send" / "http receive" child spans (two
    # to four a webhook) tell nothing the server span does not, and were a fifth of the gateway's CPU.
    excluded = ",".join(("healthz", "readyz", "metrics", "_sandbox", *spanned_apart))
    FastAPIInstrumentor.instrument_app(app, excluded_urls=excluded, exclude_spans=["receive", "send"])


class ServerSpan:
    """ASGI middleware for one hot route: the request's SERVER span, continuing the caller's trace
    (the propagators' headers, W3C ``traceparent`` by default) and current while the route runs, as
    FastAPIInstrumentor's is — without its per-request work that no one reads (the URL rebuilt and
    parsed, a dozen attributes set twice, header lists decoded for each lookup, duration histograms
    for a meter provider we do not install): that was most of the instrumentation's cost, a tenth of
    the webhook gateway's CPU. Attributes: method, route, scheme, path (no query), status; no header
    values and no body, so nothing personal. An exception ends the span recorded and in error; so
    does a 5xx answer."""

    def __init__(self, app: ASGIApp, route: str) -> None:
        self.app = app
        self.route = route
        self.tracer = trace.get_tracer(__name__)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        method = scope["method"]
        span = self.tracer.start_span(
            f"{method} {self.route}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.method": method,
                "http.route": self.route,
                "http.scheme": scope.get("scheme", "http"),
                "http.target": scope["path"],
                "http.flavor": scope.get("http_version", ""),
            },
        )

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                span.set_attribute("http.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        with trace.use_span(span, end_on_exit=True):
            await self.app(scope, receive, send_status)


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
