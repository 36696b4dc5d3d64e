"""The receiver: ``POST /events`` (signed Standard Webhooks), ``GET /events`` (what it was told, first
delivery of each id, in arrival order; ``?request_key=`` for one loan), ``POST /_receiver/refuse``
(answer the next N deliveries with an error: a receiver in trouble), ``GET /healthz``."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from standardwebhooks import Webhook, WebhookVerificationError


class Refusal(BaseModel):
    count: int = 1
    status: int = 503


@dataclass
class Received:
    """What arrived: the first delivery of each webhook id, and how many times each came again."""

    state_path: Path | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    refuse: int = 0
    refuse_status: int = 503
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.state_path is not None and self.state_path.exists():
            for line in self.state_path.read_text().splitlines():
                entry = json.loads(line)
                self.events.setdefault(entry["webhook_id"], entry)

    def take(self, webhook_id: str, payload: Any) -> bool:
        """Keep the first delivery of ``webhook_id``; True when it is new."""
        with self.lock:
            if webhook_id in self.events:
                self.repeats[webhook_id] = self.repeats.get(webhook_id, 0) + 1
                return False
            entry = {"webhook_id": webhook_id, "received_at": time.time(), "payload": payload}
            self.events[webhook_id] = entry
            if self.state_path is not None:
                self.state_path.parent.mkdir(parents=True, exist_ok=True)
                with self.state_path.open("a") as out:
                    out.write(json.dumps(entry, sort_keys=True) + "\n")
            return True


def create_app(secret: str, received: Received | None = None) -> FastAPI:
    app = FastAPI(title="sales channel (development receiver)")
    verifier = Webhook(secret)
    store = received or Received()
    app.state.received = store

    @app.post("/events")
    async def receive(request: Request) -> Response:
        body = await request.body()
        with store.lock:
            if store.refuse > 0:
                store.refuse -= 1
                return Response(status_code=store.refuse_status)
        try:
            payload = verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            store.rejected += 1
            return JSONResponse({"error": "signature"}, status_code=401)
        store.take(request.headers["webhook-id"], payload)
        return Response(status_code=204)

    @app.get("/events")
    async def events(request_key: str | None = None) -> dict[str, Any]:
        with store.lock:
            found = [
                entry
                for entry in store.events.values()
                if request_key is None or entry["payload"].get("data", {}).get("request_key") == request_key
            ]
            wanted = {entry["webhook_id"] for entry in found}
            repeats = {key: count for key, count in store.repeats.items() if key in wanted}
        return {"events": found, "repeats": repeats, "rejected": store.rejected}

    @app.post("/_receiver/refuse")
    async def refuse(refusal: Refusal) -> dict[str, int]:
        with store.lock:
            store.refuse, store.refuse_status = refusal.count, refusal.status
        return {"refuse": refusal.count}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
