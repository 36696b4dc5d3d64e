"""Structured logs: one JSON object a line in production, carrying the ``trace_id`` of the current
span and the ``workflow_id`` of the loan the line is about — from an activity (the SDK's real
activity context), from the SDK's workflow logger, or given by the caller — redacted as before."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from runtime.settings import ENV_VARIABLE
from runtime.telemetry import JsonLogFormatter, LogFormat, LogSettings, install_log_redaction

TRACER = TracerProvider().get_tracer("test")


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter("worker"))
    logger = logging.getLogger("tests.json-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _read(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_an_activitys_line_names_its_loan_and_its_trace(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = lines

    @activity.defn
    async def issue() -> str:
        with TRACER.start_as_current_span("issue") as span:
            logger.info("issuing for CPF 123.456.789-09")
            return f"{span.get_span_context().trace_id:032x}"

    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, workflow_id="loan-abc", workflow_run_id="run-1")
    trace_id = await environment.run(issue)
    (line,) = _read(stream)
    assert line["workflow_id"] == "loan-abc" and line["run_id"] == "run-1"
    assert line["trace_id"] == trace_id and len(trace_id) == 32 and set(trace_id) != {"0"}
    assert line["level"] == "INFO" and line["process"] == "worker" and line["logger"] == "tests.json-logs"
    assert "123.456.789-09" not in line["message"]  # redacted before it was formatted


def test_the_workflow_loggers_details_and_an_explicit_workflow_id(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = lines
    # What temporalio's workflow.logger puts on its records (workflow_info_on_extra).
    logger.info("stage averbacao", extra={"temporal_workflow": {"workflow_id": "loan-1", "run_id": "r-1"}})
    logger.warning("relay refused", extra={"workflow_id": "loan-2"})
    logger.info("no loan here")
    first, second, third = _read(stream)
    assert (first["workflow_id"], first["run_id"]) == ("loan-1", "r-1")
    assert second["workflow_id"] == "loan-2" and second["level"] == "WARNING"
    assert third["workflow_id"] is None and third["trace_id"] is None  # the keys are always there


def test_an_exception_stays_inside_its_json_line(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = lines
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logger.exception("failed")
    (line,) = _read(stream)  # one line, however many lines the traceback has
    assert "ValueError: bad" in line["exception"]


def test_json_in_production_text_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    monkeypatch.setenv(ENV_VARIABLE, "production")
    assert LogSettings().chosen() is LogFormat.JSON
    monkeypatch.setenv(ENV_VARIABLE, "development")
    assert LogSettings().chosen() is LogFormat.TEXT
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert LogSettings().chosen() is LogFormat.JSON
