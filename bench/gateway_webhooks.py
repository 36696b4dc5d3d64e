"""Signed webhooks at a fixed rate against the gateway, with a dev server and a worker running.

Prints throughput and the p50/p99 latency from receipt to the signal accepted by Temporal (the
gateway's own measurement, returned in a Server-Timing header), plus the client's round trip.
Target on a 2-core machine: p99 <= 50 ms at 200 webhooks/s. Traffic stays on 127.0.0.1; the load
is bounded by count and by time. Run: python -m bench.gateway_webhooks [--rate 200] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from devstack.stack import LocalStack, StackConfig
from provider.webhook_signature import signed_headers

TARGET_P99_MS = 50.0


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Connection:
    """A bare keep-alive HTTP/1.1 connection: the load generator must cost far less CPU than the
    gateway it measures (httpx costs about as much per request as the gateway itself)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, request: bytes) -> tuple[int, dict[str, str]]:
        self.writer.write(request)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers


def _request(path: str, host: str, body: bytes, secret: bytes) -> bytes:
    headers = signed_headers(body, secret)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


async def drive(
    url: str, secret: bytes, *, rate: float, seconds: float, keys: int, pool: list[str] | None = None
) -> dict[str, float]:
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    total = int(rate * seconds)
    pool = pool or [str(uuid.uuid4()) for _ in range(keys)]
    requests = []
    for index in range(total):  # built (and signed) before the clock starts
        body = json.dumps(
            {
                "key": pool[index % keys],
                "data": {"collateral_type": "social_security", "collateral_constituted": False},
                "event_time": f"2026-11-22 10:00:{index % 60:02d}.{index:06d}",
                "webhook_type": "credit_operation.collateral",
            }
        ).encode()
        requests.append(_request(parsed.path, f"{host}:{port}", body, secret))
    connections: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(32):
        connections.put_nowait(await _Connection.open(host, port))
    server_ms: list[float] = []
    client_ms: list[float] = []
    failures = 0

    async def one(request: bytes) -> None:
        nonlocal failures
        connection = await connections.get()
        started = time.perf_counter()
        try:
            status, headers = await connection.post(request)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            failures += 1
            connection = await _Connection.open(host, port)
        else:
            client_ms.append((time.perf_counter() - started) * 1000)
            timing = headers.get("server-timing", "")
            if status == 200 and "dur=" in timing:
                server_ms.append(float(timing.split("dur=")[1]))
            else:
                failures += 1
        connections.put_nowait(connection)

    tasks = []
    began = time.perf_counter()
    for index, request in enumerate(requests):
        # Open loop: send on schedule whatever the answers take (a closed loop hides queueing).
        delay = began + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.perf_counter() - began > seconds * 2:
            break
        tasks.append(asyncio.create_task(one(request)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    while not connections.empty():
        connections.get_nowait().writer.close()
    return {
        "sent": float(len(tasks)),
        "accepted": float(len(server_ms)),
        "failures": float(failures),
        "throughput": len(server_ms) / elapsed,
        "server_p50": _quantile(server_ms, 0.50),
        "server_p99": _quantile(server_ms, 0.99),
        "client_p50": _quantile(client_ms, 0.50),
        "client_p99": _quantile(client_ms, 0.99),
        "server_mean": statistics.fmean(server_ms) if server_ms else float("nan"),
    }


def measure(
    rate: float = 200.0, seconds: float = 15.0, keys: int = 500, stack: LocalStack | None = None
) -> dict[str, float]:
    """On ``stack`` (server, gateway and a worker running), or on a stack of its own."""
    if stack is not None:
        return _measure_on(stack, rate, seconds, keys)
    with tempfile.TemporaryDirectory() as folder:
        own = LocalStack(StackConfig.ephemeral(Path(folder)))
        try:
            own.start_temporal()
            own.start_gateway()
            own.start_worker()
            return _measure_on(own, rate, seconds, keys)
        finally:
            own.stop()


def _measure_on(stack: LocalStack, rate: float, seconds: float, keys: int) -> dict[str, float]:
    url = f"{stack.config.gateway_url}/webhooks/sandbox"
    secret = stack.config.webhook_secret.encode()
    # Steady state, as in production: each key's mailbox already exists (the loan's claim creates
    # it when the key is born), so the measured webhooks signal running workflows.
    pool = [str(uuid.uuid4()) for _ in range(keys)]
    asyncio.run(drive(url, secret, rate=100, seconds=keys / 100, keys=keys, pool=pool))
    return asyncio.run(drive(url, secret, rate=rate, seconds=seconds, keys=keys, pool=pool))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--keys", type=int, default=500)
    args = parser.parse_args()
    figures = measure(args.rate, args.seconds, args.keys)
    print(f"gateway: {args.rate:.0f} webhooks/s for {args.seconds:.0f} s over loopback ({os.cpu_count()} cores)")
    print(f"  accepted {figures['accepted']:.0f}/{figures['sent']:.0f}, failures {figures['failures']:.0f}")
    print(f"  throughput {figures['throughput']:.1f} webhooks/s")
    print(
        f"  receipt -> signal accepted: p50 {figures['server_p50']:.1f} ms, p99 {figures['server_p99']:.1f} ms"
        f"  (target p99 <= {TARGET_P99_MS:.0f} ms)"
    )
    print(f"  client round trip:          p50 {figures['client_p50']:.1f} ms, p99 {figures['client_p99']:.1f} ms")


if __name__ == "__main__":
    main()
