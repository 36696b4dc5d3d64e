"""``python -m devtools.sandbox_b``: the second provider's sandbox (configured by ``SANDBOX_B_*`` variables)."""

import logging

import uvicorn

from devtools.sandbox_b.app import create_app
from devtools.sandbox_b.settings import SandboxBSettings
from runtime.telemetry import setup_tracing


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox_b %(levelname)s %(name)s: %(message)s")
    setup_tracing("provider-b-sandbox")
    settings = SandboxBSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
