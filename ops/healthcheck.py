"""``python -m ops.healthcheck <component>``: the containers' HEALTHCHECK.

It reads the component's own settings (GATEWAY_*, RELAY_*, CODEC_*, SANDBOX_*, WORKER_*), so a port moved by
an environment variable moves its health check too. Exit 0 when the component answers 200, 1 otherwise.
The worker has no HTTP port of its own: its Prometheus endpoint (WORKER_METRICS_BIND) is served by
the SDK's core, so it answering means the process and its Temporal runtime are up.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Callable


def local_host(host: str) -> str:
    # A server bound to every interface is probed on loopback, from inside its own container.
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - compared, not bound


def gateway_url() -> str:
    from webhooks.gateway.settings import GatewaySettings  # noqa: PLC0415 - import only what is probed

    settings = GatewaySettings()
    return f"http://{local_host(settings.host)}:{settings.port}/healthz"


def codec_url() -> str:
    from runtime.codec.settings import CodecSettings  # noqa: PLC0415

    settings = CodecSettings()
    return f"http://{local_host(settings.server_host)}:{settings.server_port}/healthz"


def metrics_url(bind: str | None, *, setting: str, process: str) -> str:
    """A process's metrics endpoint (``host:port`` as its ``*_METRICS_BIND`` says), probed locally."""
    if not bind:
        raise LookupError(f"{setting} is not set: the {process} has no endpoint to probe")
    host, _, port = bind.rpartition(":")
    return f"http://{local_host(host)}:{port}/metrics"


def worker_url() -> str:
    from runtime.settings import WorkerSettings  # noqa: PLC0415

    return metrics_url(WorkerSettings().metrics_bind, setting="WORKER_METRICS_BIND", process="worker")


def relay_url() -> str:
    from webhooks.relay.settings import RelaySettings  # noqa: PLC0415

    return metrics_url(RelaySettings().metrics_bind, setting="RELAY_METRICS_BIND", process="relay")


COMPONENTS: dict[str, Callable[[], str]] = {
    "gateway": gateway_url,
    "relay": relay_url,
    "codec": codec_url,
    "worker": worker_url,
}


def check(component: str, timeout: float = 3.0) -> tuple[bool, str]:
    try:
        url = COMPONENTS[component]()
    except LookupError as error:
        return False, str(error)
    return probe(url, timeout)


def probe(url: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, what it answered): 200 from ``url`` within ``timeout``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) URLs we built
            return response.status == 200, f"{url}: {response.status}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url}: {error}"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMPONENTS:
        print(f"usage: python -m ops.healthcheck {{{','.join(COMPONENTS)}}}", file=sys.stderr)
        return 2
    healthy, detail = check(argv[0])
    print(detail, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
