"""A throwaway PostgreSQL for the bench: Debian's ``postgresql`` package (``apt-get install postgresql``),
a fresh cluster in a temporary directory on a free port, removed afterwards. ``fsync`` is on by default:
the bench measures what production pays for a commit (the tests, tests/support/postgres.py, turn it
off). PostgreSQL refuses to run as root, so as root it runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devtools.devstack.stack import free_port


@dataclass(frozen=True)
class Postgres:
    url: str  # postgresql+asyncpg://..., an empty database
    pid: int  # the postmaster: its backends are its children (the bench meters their CPU)


def binaries() -> Path | None:
    """The newest installed server's bin directory, if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


@contextlib.contextmanager
def running_postgres(database: str = "bench", *, fsync: bool = True) -> Iterator[Postgres]:
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("--postgres: PostgreSQL is not installed (apt-get install postgresql)")
    owner = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if owner:
        user = pwd.getpwnam(owner)
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, port = folder / "data", free_port()

    def command(program: str, *args: str) -> list[str]:
        line = [str(bin_dir / program), *args]
        return ["runuser", "-u", owner, "--", *line] if owner else line

    def run(program: str, *args: str) -> None:
        subprocess.run(command(program, *args), check=True, capture_output=True, timeout=120)

    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not fsync:
            options += " -c fsync=off"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "postgres.log"), "-w", "start")
        run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database)
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield Postgres(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}", pid)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                command("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)
