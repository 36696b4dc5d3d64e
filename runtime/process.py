"""What every long-running process (the worker, the relay) does around its work: it stops when asked
(SIGTERM from the orchestrator, SIGINT at a terminal) and, once its work has returned, ends at once."""

from __future__ import annotations

import asyncio
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


def serve(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """A process's entry point: ``run`` until it returns, then end without interpreter finalization
    (:func:`runtime.telemetry.exit_now`)."""
    asyncio.run(run())
    exit_now(0)
