"""``python -m devtools.sandbox.healthcheck``: the staging sandbox image's HEALTHCHECK — its own settings
and a probe of its own (the sandbox never ships in the wheel, and uses none of what does)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from devtools.sandbox.settings import SandboxSettings


def probe(url: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, what it answered): HTTP 200 from ``url`` within ``timeout``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the URL built below
            return response.status == 200, f"{url}: {response.status}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url}: {error}"


def main() -> int:
    settings = SandboxSettings()
    # Bound to every interface (in its container): probed on loopback.
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104 - compared, not bound
    healthy, detail = probe(f"http://{host}:{settings.port}/_sandbox/healthz")
    print(detail, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
