"""Sampling profiles of the stack's Python processes while a batch runs (``python -m devtools.bench --profile DIR``).

py-spy (a development tool, not a dependency of the project: ``pip install py-spy``) attaches to
each running process by pid and samples the stack of the thread holding the GIL (``--gil``): a
thread waiting in the event loop, on a socket or on a queue has released it, so samples ÷ rate ≈
the CPU the process spent running Python (py-spy's own idle detection, tried first, counted
aiosqlite's and the thread pool's blocked threads as busy). The Rust
core of the Temporal SDK and the Go server are not Python: the server's CPU is in the table, never
profiled. Each process's stacks are written as ``DIR/<process>.txt`` in the collapsed format
(``frame;frame;... count``: flamegraph.pl and speedscope read it), and ``DIR/summary.txt`` holds
the summary printed after the table: per process, the frames that cost most per loan (self time:
the sample's innermost Python frame) and where the samples fall by library.

Profiling pauses a process at each sample, so a profiled batch runs apart from the measured ones:
the table's figures never come from it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RATE = 100  # samples per second per process

# Which library a sample's cost is charged to: the innermost frame that is not the standard library
# (so typing's or copy's work under pydantic is pydantic's, importlib's under the sandbox is the
# sandbox's); first match wins, paths as py-spy prints them once the interpreter's prefix is cut.
LIBRARIES = (
    ("OpenTelemetry", ("opentelemetry/", "Instrumentor")),
    ("temporal workflow sandbox", ("temporalio/worker/workflow_sandbox/",)),
    ("temporal data converter", ("temporalio/converter", "temporalio/contrib/pydantic")),
    ("temporal SDK, other", ("temporalio/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("protobuf", ("google/protobuf/",)),
    ("simplejson", ("simplejson/",)),
    ("cryptography", ("cryptography/", "jwt/")),
    ("http (httpx, httpcore, h11, starlette, uvicorn)", ("httpx/", "httpcore/", "h11/", "starlette/", "uvicorn/")),
    ("store (sqlalchemy, aiosqlite)", ("sqlalchemy/", "aiosqlite/")),
)
# Samples with this frame anywhere in their stack (``function (path)``): the machinery they run
# under; overlapping (the sandbox's lines are nested: creation and activations are inside its exec).
UNDER = (
    ("in the workflow sandbox (everything it execs)", "_Instance._run_code (temporalio/worker/workflow_sandbox"),
    ("  creating a workflow's sandbox (its modules re-imported)", "_Instance._create_instance (temporalio"),
    ("  activations (workflow code, signal and update handlers)", "_Instance.activate (temporalio"),
    ("  serialization context asked of the sandbox", "_Instance.get_serialization_context (temporalio"),
    ("in an activity", "(temporalio/worker/_activity.py)"),
)
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
ROOT = Path(__file__).resolve().parents[2]
OURS = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {"worker.py"}


@dataclass(frozen=True)
class Frame:
    function: str
    path: str  # as py-spy cuts it: from the module's package on
    origin: str  # "ours", "site" (an installed package) or "stdlib"

    def __str__(self) -> str:
        return f"{self.function} ({self.path})"


def py_spy() -> str | None:
    """The py-spy executable: next to this Python (a venv's bin), or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    name: str
    output: Path
    process: subprocess.Popen[bytes]


class Profiler:
    """py-spy recording each named process until ``stop``."""

    def __init__(self, folder: Path, executable: str, rate: int = RATE) -> None:
        self.folder, self.executable, self.rate = folder, executable, rate
        self.recordings: list[Recording] = []

    def start(self, pids: dict[str, int]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            output = self.folder / f"{name}.txt"
            command = [self.executable, "record", "--pid", str(pid), "--rate", str(self.rate), "--gil"]
            command += ["--format", "raw", "--output", str(output)]
            with (self.folder / f"{name}.py-spy.log").open("wb") as log:  # the child keeps its own copy
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            self.recordings.append(Recording(name, output, process))
        time.sleep(1.0)  # attached and sampling before the batch starts

    def stop(self) -> list[Recording]:
        """SIGINT: py-spy stops sampling and writes what it has."""
        for recording in self.recordings:
            recording.process.send_signal(signal.SIGINT)
        for recording in self.recordings:
            try:
                recording.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recording.process.kill()
                recording.process.wait()
        done, self.recordings = self.recordings, []
        return done


async def sampled(profiler: Profiler, pids: dict[str, int], work: Awaitable[Any]) -> list[Profile]:
    """Each of ``pids`` (process name → pid) sampled while ``work`` runs; their profiles."""
    profiler.start(pids)
    await work
    return [read(r.name, r.output) for r in profiler.stop()]


def pids_of(processes: Iterable[Any], names: Iterable[str]) -> dict[str, int]:
    """The pids of the stack's processes (``LocalStack.processes``) with these names."""
    wanted = set(names)
    return {p.name: p.popen.pid for p in processes if p.name in wanted}


LOAN_PROCESSES = ("worker-0", "gateway", "relay-0")  # a loan's Python processes, profiled


def _frame(text: str) -> Frame:
    """One frame as py-spy prints it: ``function (path:line)``, the path already cut to its module
    (``workflows/loan/core.py``, ``pydantic/main.py``, ``asyncio/events.py``)."""
    match = _FRAME.match(text)
    function, path = (match["function"], match["path"]) if match else (text, "")
    path = path.removeprefix(f"{ROOT}/")
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in OURS or f"{top}.py" in OURS:
        return Frame(function, path, "ours")
    if path.startswith("<") or top in sys.stdlib_module_names:
        return Frame(function, path, "stdlib")
    return Frame(function, path, "site")


def _charged_to(frames: list[Frame]) -> str:
    for frame in reversed(frames):
        if frame.origin == "ours":
            return "our code"
        if frame.origin == "site":
            where = f"{frame.function} {frame.path}"
            return next((name for name, marks in LIBRARIES if any(m in where for m in marks)), "other packages")
    return "standard library only (event loop, threads)"


@dataclass
class Profile:
    name: str
    samples: int
    self_frames: Counter[str] = field(default_factory=Counter)  # "function (path)" → samples
    ours_total: Counter[str] = field(default_factory=Counter)  # our functions, inclusive
    libraries: Counter[str] = field(default_factory=Counter)
    under: Counter[str] = field(default_factory=Counter)


def read(name: str, collapsed: Path) -> Profile:
    """A process's collapsed stacks (``frame;frame;... count``, outermost first) as a Profile."""
    profile = Profile(name, 0)
    if not collapsed.exists():
        return profile
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        profile.samples += count
        profile.self_frames[str(frames[-1])] += count
        profile.libraries[_charged_to(frames)] += count
        # Once per sample, recursion or not; the process's entry point (our frames the stack starts
        # with, after runpy's and before the event loop's: in every sample) left out.
        entry = next((i for i, f in enumerate(frames) if f.origin != "ours" and "runpy" not in f.path), len(frames))
        for ours in {str(f) for f in frames[entry:] if f.origin == "ours"}:
            profile.ours_total[ours] += count
        where = ";".join(str(f) for f in frames)
        for label, mark in UNDER:
            if mark in where:
                profile.under[label] += count
    return profile


def summary(profiles: list[Profile], units: int, unit: str, rate: int = RATE, top: int = 10) -> str:
    """Per process: ms of Python CPU per ``unit`` (samples ÷ rate ÷ units); its top frames by self
    time; our functions by total time; the cost by library; the machinery it runs under."""
    lines: list[str] = []
    for p in profiles:
        if not p.samples:
            lines.append(f"{p.name}: no samples (py-spy could not attach, or the process was idle)")
            continue

        def row(count: int, what: str, samples: int = p.samples) -> str:
            return f"    {count * 1000 / rate / units:6.1f} ms  {100 * count / samples:5.1f}%  {what}"

        total = p.samples * 1000 / rate / units
        lines.append(f"{p.name}: {p.samples} samples at {rate} Hz = {total:.1f} ms of Python CPU per {unit}")
        lines.append(f"  top {top} frames by self time (ms per {unit}, share of the process's samples):")
        lines += [row(count, frame) for frame, count in p.self_frames.most_common(top)]
        lines.append(f"  our functions by total time (inclusive: what they call counts), top {top}:")
        lines += [row(count, frame) for frame, count in p.ours_total.most_common(top)]
        lines.append("  charged to (the innermost frame outside the standard library):")
        lines += [row(count, library) for library, count in p.libraries.most_common()]
        if p.under:  # a process with no workflows and no activities (the gateway, the relay) has none
            lines.append("  running under (anywhere in the stack):")
            lines += [row(p.under[label], label) for label, _ in UNDER]
    return "\n".join(lines)
