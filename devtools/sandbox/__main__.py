"""``python -m devtools.sandbox``: run the sandbox provider (configuration from ``SANDBOX_*`` variables)."""

import logging

import uvicorn

from devtools.sandbox.app import create_app
from devtools.sandbox.settings import SandboxSettings
from runtime.telemetry import setup_tracing


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(name)s: %(message)s")
    setup_tracing("provider-sandbox")
    settings = SandboxSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
