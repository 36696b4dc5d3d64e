"""A webhook receiver for tests: verifies the sandbox's webhook-v2 signature, answers with the signed
acknowledgement the provider checks, records what arrived, can refuse or hang."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from activities.qitech import webhook_v2
from activities.qitech.models.webhooks import load_json, unwrap
from activities.qitech.webhook_signature import SignatureRejected

HOLD_LIMIT_SECONDS = 60.0  # a held delivery is let go by then even if the test never releases it


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
    provider_public_key: str
    lender_private_key: str
    api_client_key: str
    received: list[Received] = field(default_factory=list)
    refuse_next: int = 0
    # Refuse the next N deliveries whose body contains these bytes (one test's webhooks, not another's).
    refuse_containing: dict[bytes, int] = field(default_factory=dict)
    # Hang on the next N deliveries whose body contains these bytes, the sender's POST in flight, until
    # ``release()`` (or ``HOLD_LIMIT_SECONDS``); then refuse them (503), recording nothing. ``held`` is set
    # once one hangs.
    hold_containing: dict[bytes, int] = field(default_factory=dict)
    held: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()
        verifier = webhook_v2.WebhookV2Verifier([self.provider_public_key], api_client_key=self.api_client_key)

        @app.post("/webhooks/sandbox")
        async def receive(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                if self.refuse_next > 0:
                    self.refuse_next -= 1
                    return Response(status_code=503)
                for marker, left in self.refuse_containing.items():
                    if left > 0 and marker in body:
                        self.refuse_containing[marker] = left - 1
                        return Response(status_code=503)
                hold = False
                for marker, left in self.hold_containing.items():
                    if left > 0 and marker in body:
                        self.hold_containing[marker], hold = left - 1, True
            if hold:
                self.held.set()
                # Released from the test's thread: waited for off this server's event loop.
                await asyncio.to_thread(self._released.wait, HOLD_LIMIT_SECONDS)
                return Response(status_code=503)
            path = request.url.path
            try:
                verifier.verify(body, request.headers, method=request.method, uri=path)
                authentic = True
            except SignatureRejected:
                authentic = False
            with self._lock:
                self.received.append(Received(body, load_json(body), time.time(), authentic))
            answer, headers = webhook_v2.acknowledgement(
                {"status": "stored"}, uri=path, private_key=self.lender_private_key, api_client_key=self.api_client_key
            )
            return Response(content=answer, status_code=200, headers=headers, media_type="application/json")

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        return app

    def release(self) -> None:
        """Let the deliveries being held (and any later one that would be) go: refused."""
        self._released.set()

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
