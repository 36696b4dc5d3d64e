"""``python -m sandbox_b``: run the second provider's sandbox (configuration from ``SANDBOX_B_*`` variables)."""

import logging

import uvicorn

from runtime.telemetry import setup_tracing

from .app import create_app
from .settings import SandboxBSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox_b %(levelname)s %(name)s: %(message)s")
    setup_tracing("provider-b-sandbox")
    settings = SandboxBSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
