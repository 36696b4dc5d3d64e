"""What every long-running process (the worker, the relay) does around its work: it stops when asked
(SIGTERM from the orchestrator, SIGINT at a terminal) and, once its work has returned, ends at once."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from runtime.telemetry import exit_now


def stop_on_signals() -> asyncio.Event:
    """An event set when the process is asked to stop (call it inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def freeze_startup_heap() -> None:
    """Leave what the process built to start (modules, pydantic's validators, the SDK's worker) out of
    the garbage collector's future passes: it lives as long as the process, and every full
    collection would walk it again (in the worker, about a tenth of a second each, several per
    hundred loans). Call once, when the process is ready for work (the CPython documentation's
    advice for gc.freeze: https://docs.python.org/3/library/gc.html#gc.freeze)."""
    gc.collect()
    gc.freeze()


def serve(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """A process's entry point: ``run`` until it returns, then end without interpreter finalization
    (:func:`runtime.telemetry.exit_now`)."""
    asyncio.run(run())
    exit_now(0)
