"""Defense in depth: a process that sets up telemetry (runtime.telemetry.setup_tracing, as every
process does) prints no CPF in its log lines, tracebacks or exported spans, even when a message
quotes one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devtools.devstack.stack import ROOT
from runtime.telemetry import RedactingSpanProcessor

CPF = "52998224725"
FORMATTED = "529.982.247-25"
NAME = "Maria Aparecida"

PROCESS = textwrap.dedent(
    f"""
    import json, logging
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from runtime.telemetry import setup_tracing

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    exported = InMemorySpanExporter()
    setup_tracing("redaction-test", processor=SimpleSpanProcessor(exported))
    log = logging.getLogger("activity")
    log.info("borrower %s asked", "{CPF}")
    log.info("progress %d%% done", 50)
    try:
        with trace.get_tracer("t").start_as_current_span("RunActivity:issue", attributes={{"doc": "/{CPF}.jpg"}}):
            raise ValueError("bad answer [type=missing, input_value={{'name': '{NAME}'}}, input_type=dict] {FORMATTED}")
    except ValueError:
        log.exception("activity failed")
    print(json.dumps([json.loads(span.to_json()) for span in exported.get_finished_spans()]))
    raise RuntimeError("crashed on {CPF}")
    """
)


def test_logs_tracebacks_and_spans_of_a_process_carry_no_cpf(tmp_path: Path) -> None:
    script = tmp_path / "process.py"
    script.write_text(PROCESS)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    logs, spans = done.stderr, done.stdout
    for text in (logs, spans):
        assert CPF not in text and FORMATTED not in text and NAME not in text
    # What the lines still say: the failure, its type, where it was raised, ordinary formatting.
    assert "INFO activity: borrower <redacted> asked" in logs
    assert "INFO activity: progress 50% done" in logs
    assert "ERROR activity: activity failed" in logs and "ValueError: bad answer" in logs
    raising = 1 + PROCESS.splitlines().index(next(line for line in PROCESS.splitlines() if "raise ValueError" in line))
    assert f'File "{script}", line {raising}, in <module>' in logs  # the traceback's frames are kept
    assert "RuntimeError: crashed on <redacted>" in logs
    (span,) = json.loads(spans)
    assert span["name"] == "RunActivity:issue" and span["attributes"]["doc"] == "/<redacted>.jpg"
    (event,) = span["events"]
    assert event["name"] == "exception"
    assert "input_value=<redacted>" in event["attributes"]["exception.message"]
    assert "ValueError" in event["attributes"]["exception.stacktrace"]
    assert "<redacted>" in span["status"]["description"]


def test_the_span_processor_hands_on_redacted_copies_and_leaves_the_rest_alone() -> None:
    raw, redacted = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(raw))
    provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(redacted)))
    with provider.get_tracer("t").start_as_current_span(f"lookup {CPF}", attributes={"n": 3, "ids": [CPF, "a"]}):
        pass
    (before,), (after,) = raw.get_finished_spans(), redacted.get_finished_spans()
    assert before.name == f"lookup {CPF}"  # the control: this is what an exporter would have sent
    assert after.name == "lookup <redacted>"
    assert dict(after.attributes or {}) == {"n": 3, "ids": ("<redacted>", "a")}
    assert (after.context, after.start_time, after.end_time) == (before.context, before.start_time, before.end_time)
