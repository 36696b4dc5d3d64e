"""``python -m devtools.sandbox``: run the sandbox provider (configuration from ``SANDBOX_*`` variables)."""

import uvicorn

from devtools.sandbox.app import create_app
from devtools.sandbox.settings import SandboxSettings
from devtools.sandbox.telemetry import setup_logging, setup_tracing


def main() -> None:
    setup_logging()
    setup_tracing()
    settings = SandboxSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning", log_config=None)


if __name__ == "__main__":
    main()
