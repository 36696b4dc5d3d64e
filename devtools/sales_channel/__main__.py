"""``python -m devtools.sales_channel``: run the sales channel's development receiver
(``SALES_CHANNEL_RECEIVER_*``)."""

import logging
import sys

import uvicorn

from devtools.sales_channel.app import Received, create_app
from devtools.sales_channel.settings import ReceiverSettings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sales-channel %(levelname)s %(name)s: %(message)s")
    settings = ReceiverSettings()
    if not settings.secret.get_secret_value():
        print("SALES_CHANNEL_RECEIVER_SECRET is not set (every signature is verified)", file=sys.stderr)
        return 2
    app = create_app(settings.secret.get_secret_value(), Received(state_path=settings.state_path))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
