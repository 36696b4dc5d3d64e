"""Start real server processes for tests and wait until they answer; stop them cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[bytes] | None, timeout: float, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"process for {url} exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def running_process(
    args: list[str], *, env: Mapping[str, str], ready_url: str, log: Path, timeout: float = 60.0
) -> Iterator[subprocess.Popen[bytes]]:
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(ready_url, process, timeout, log)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def python_module(module: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", module, *extra]


class ThreadedServer:
    """An ASGI app served by uvicorn in a background thread (for in-test HTTP peers)."""

    def __init__(self, app: FastAPI, port: int, *, lifespan: bool = False) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on" if lifespan else "off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("in-test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class RestartableProcess:
    """``python -m <module>`` that a test kills with SIGKILL and starts again with the same environment
    (its port, its state file). As a context manager: started on entry, whatever runs stopped on exit."""

    def __init__(self, module: str, env: Mapping[str, str], ready_url: str, logs: Path) -> None:
        self.module, self.env, self.ready_url, self.logs = module, dict(env), ready_url, logs
        self._running = contextlib.ExitStack()  # running_process stops whatever is still running
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def __enter__(self) -> RestartableProcess:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running.close()

    def start(self) -> None:
        self.starts += 1
        log = self.logs / f"{self.module}-{self.starts}.log"
        self.process = self._running.enter_context(
            running_process(python_module(self.module), env=self.env, ready_url=self.ready_url, log=log)
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, only what was already written survives."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill_and_restart(self) -> None:
        self.kill()
        self.start()
