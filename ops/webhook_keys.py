"""``python -m ops.webhook_keys``: new keys for the webhook path, as environment lines.

    LENDER_WEBHOOK_SIGNING_KEY   our ES512 (P-521) private key: the gateway signs its acknowledgements
    LENDER_WEBHOOK_PUBLIC_KEY    its public half: registered with the provider (and given to the sandbox)
    INBOX_PRIVATE_KEYS           the relay's X25519 key: opens the sealed webhook bodies
    INBOX_PUBLIC_KEY             its public half: the gateway seals with it (and cannot open)
    SANDBOX_WEBHOOK_SIGNING_KEY  staging only: the sandbox's key, standing in for the provider's
    PROVIDER_WEBHOOK_PUBLIC_KEY  staging only: its public half (production: the key the provider publishes)

PEM keys are printed on one line with ``\\n`` escapes (the settings read either form). Keep the
private ones in your secret store; rotate by listing the new key first, the old one after a comma
(INBOX_PRIVATE_KEYS) or concatenated (GATEWAY_PROVIDER_PUBLIC_KEYS).
"""

from __future__ import annotations

import sys
import time

from activities.qitech import webhook_v2
from webhooks.inbox.sealing import new_keypair


def one_line(pem: str) -> str:
    return pem.strip().replace("\n", "\\n")


def generate() -> dict[str, str]:
    lender, provider = webhook_v2.new_private_key(), webhook_v2.new_private_key()
    inbox_private, inbox_public = new_keypair(f"inbox{time.strftime('%Y%m%d')}")
    return {
        "LENDER_WEBHOOK_SIGNING_KEY": one_line(lender),
        "LENDER_WEBHOOK_PUBLIC_KEY": one_line(webhook_v2.public_key_of(lender)),
        "INBOX_PRIVATE_KEYS": inbox_private,
        "INBOX_PUBLIC_KEY": inbox_public,
        "SANDBOX_WEBHOOK_SIGNING_KEY": one_line(provider),
        "PROVIDER_WEBHOOK_PUBLIC_KEY": one_line(webhook_v2.public_key_of(provider)),
    }


def main() -> int:
    for name, value in generate().items():
        sys.stdout.write(f"{name}={value}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
