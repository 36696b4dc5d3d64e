"""``python -m devtools.sandbox_b``: the second provider's sandbox (configured by ``SANDBOX_B_*`` variables)."""

import logging

import uvicorn

from devtools.sandbox_b.app import create_app
from devtools.sandbox_b.settings import SandboxBSettings
from devtools.sandbox_b.telemetry import setup_tracing


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox_b %(levelname)s %(name)s: %(message)s")
    settings = SandboxBSettings()  # refuses its development password outside development, before anything
    setup_tracing("provider-b-sandbox")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
