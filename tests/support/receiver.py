"""A webhook receiver for tests: verifies the sandbox's signature, records what arrived, can refuse."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from provider.models.webhooks import load_json, unwrap
from provider.webhook_signature import HmacVerifier, SignatureRejected


@dataclass
class Received:
    body: bytes
    payload: Any
    at: float
    authentic: bool

    @property
    def inner(self) -> Any:
        return unwrap(self.payload)


@dataclass
class WebhookReceiver:
    secret: bytes
    received: list[Received] = field(default_factory=list)
    refuse_next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()
        verifier = HmacVerifier([self.secret])

        @app.post("/webhooks/sandbox")
        async def receive(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                if self.refuse_next > 0:
                    self.refuse_next -= 1
                    return Response(status_code=503)
            try:
                verifier.verify(body, request.headers)
                authentic = True
            except SignatureRejected:
                authentic = False
            with self._lock:
                self.received.append(Received(body, load_json(body), time.time(), authentic))
            return Response(status_code=200)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        return app

    def for_key(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.inner.get("key") == key]

    def wait_for(self, key: str, predicate: Any = None, *, count: int = 1, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            matching = [r for r in self.for_key(key) if predicate is None or predicate(r.inner)]
            if len(matching) >= count:
                return matching
            if time.monotonic() > deadline:
                seen = [(r.inner.get("webhook_type"), r.inner.get("status")) for r in self.for_key(key)]
                raise TimeoutError(f"waited {timeout} s for {count} webhook(s) on {key}; got {seen}")
            time.sleep(0.02)
