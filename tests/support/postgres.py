"""A real PostgreSQL for tests: Debian's ``postgresql`` package (``.ci/run`` installs it), a fresh
cluster in a temporary directory on a free port (devtools/bench/postgres.py starts it, as the bench
does, here with fsync off), removed afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from devtools.bench import postgres


@contextlib.contextmanager
def running_postgres(database: str = "consignado") -> Iterator[str]:
    """Yields an asyncpg URL of a new database on a cluster of its own, removed afterwards."""
    if postgres.binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does this)")
    with postgres.running_postgres(database, fsync=False) as server:
        yield server.url
