"""``python -m codec``: run the codec server (CODEC_* variables; see codec.settings.CodecSettings)."""

import logging

import uvicorn

from .server import create_app
from .settings import CodecSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s codec %(levelname)s %(name)s: %(message)s")
    settings = CodecSettings()
    app = create_app(
        # It shows payloads as they are, clear ones too: decoding for display trusts nothing.
        settings.codec(require_encrypted=False),
        token=settings.server_token_value(),
        ui_origins=settings.origins(),
    )
    uvicorn.run(app, host=settings.server_host, port=settings.server_port, log_level="warning")


if __name__ == "__main__":
    main()
