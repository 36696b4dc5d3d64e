"""``python -m devtools.sandbox.healthcheck``: the staging sandbox image's HEALTHCHECK (its own settings,
the operations probe). The sandbox never ships in the wheel, so the shipped health check does not know it."""

from __future__ import annotations

import sys

from devtools.sandbox.settings import SandboxSettings
from ops.healthcheck import local_host, probe


def main() -> int:
    settings = SandboxSettings()
    healthy, detail = probe(f"http://{local_host(settings.host)}:{settings.port}/_sandbox/healthz")
    print(detail, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
