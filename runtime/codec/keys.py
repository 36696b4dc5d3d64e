"""``python -m runtime.codec.keys``: print a new key for CODEC_KEYS (``<id>:<base64 of 32 random bytes>``)."""

from datetime import UTC, datetime

from runtime.codec.aes import new_key

if __name__ == "__main__":
    print(f"k{datetime.now(UTC):%Y%m%d}:{new_key()}")
