"""``python -m webhooks.gateway``: run the webhook gateway (GATEWAY_* and DATABASE_* variables)."""

import uvicorn

from runtime.process import freeze_startup_heap
from runtime.telemetry import setup_logging, setup_tracing
from webhooks.gateway.app import create_app
from webhooks.gateway.settings import GatewaySettings


def main() -> None:
    setup_logging("gateway")
    setup_tracing("webhook-gateway")
    settings = GatewaySettings()
    app = create_app(settings)
    # What the process built to start (modules, the app, pydantic's validators) lives as long as it
    # does: out of the collector's full passes, which walked it again every few thousand webhooks.
    freeze_startup_heap()
    # uvloop and httptools: the gateway's per-request CPU is what keeps its tail latency low.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        log_config=None,  # uvicorn's own lines go through our handler (JSON in production)
        loop="uvloop",
        http="httptools",
        access_log=False,
    )


if __name__ == "__main__":
    main()
