#!/usr/bin/env python3
"""The project's two set-up commands, on a fresh machine with only Python 3.11.

    python3.11 dev.py run     # dev server + Web UI, sandbox provider, gateway, worker, sample loans
    python3.11 dev.py test    # the whole test suite (what .ci/run runs)

Both create or refresh `.venv` first (only when pyproject.toml or requirements.lock changed),
then re-run themselves inside it. This file uses only the standard library until then.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed-from"
LOCK = ROOT / "requirements.lock"
DATA = ROOT / "data"


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def ensure_venv() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"dev.py needs Python 3.11 (this is {sys.version.split()[0]}): run it as python3.11 dev.py")
    wanted = _requirements_digest()
    if VENV_PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not VENV_PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing pinned dependencies into .venv ...", flush=True)
    constraint = ["-c", str(LOCK)] if LOCK.exists() else []
    subprocess.run(
        [str(VENV_PYTHON), "-m", "pip", "install", "--quiet", *constraint, "-e", f"{ROOT}[dev]"],
        check=True,
        cwd=ROOT,
    )
    STAMP.write_text(wanted)


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def reexec_in_venv(argv: list[str]) -> None:
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "dev.py"), *argv])


MOVED_CALENDARS = ("2027-12-31", "2028-02-29")
"""After the suite passes on today's date, ``test`` runs it again on these days (every test that does
not need a Temporal server, whose clock cannot be moved: tests/support/clock.py). A Friday that is 31
December, before New Year's Day; a leap day that is Carnival Tuesday, a bank holiday after a long
weekend. A test whose figures silently follow the calendar fails here the day it is written."""


def run_on_moved_calendars() -> int:
    for day in MOVED_CALENDARS:
        print(f"\n--- the suite again, on a moved calendar: CONSIGNADO_TEST_TODAY={day}", flush=True)
        environment = {**os.environ, "CONSIGNADO_TEST_TODAY": day}
        command = [sys.executable, "-m", "pytest", "-q", "--ignore=tests/test_code_quality.py"]
        code = subprocess.call(command, env=environment)
        if code != 0:
            return code
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start everything locally and a few sample loans; Ctrl-C stops it all")
    run.add_argument("--workers", type=int, default=1, help="worker processes sharing the task queue")
    run.add_argument("--no-samples", action="store_true", help="do not start the sample loans")
    test = sub.add_parser("test", help="run the whole test suite")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra arguments for pytest")
    args, unknown = parser.parse_known_args()
    if args.command == "test":
        args.pytest_args = [*unknown, *args.pytest_args]  # pytest's own options (-q, -x, -k ...) pass through
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")

    if not in_venv():
        ensure_venv()
        reexec_in_venv(sys.argv[1:])

    if args.command == "test":
        os.chdir(ROOT)
        code = subprocess.call([sys.executable, "-m", "pytest", *args.pytest_args])
        if code == 0 and not args.pytest_args:
            code = run_on_moved_calendars()
        sys.exit(code)
    if args.command == "run":
        from devtools.devstack.run import run_local_stack

        sys.exit(run_local_stack(workers=args.workers, samples=not args.no_samples))


if __name__ == "__main__":
    # Ctrl-C in the terminal reaches only this process; children live in their own sessions
    # and are stopped by run_local_stack in order.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
