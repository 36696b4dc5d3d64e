"""``dev.py run``: the whole system on this machine, sample loans started and followed, until Ctrl-C."""

from __future__ import annotations

import asyncio
import time

from .samples import run_samples
from .stack import ROOT, LocalStack, StackConfig, secrets_for, where_to_look


def run_local_stack(workers: int = 1, samples: bool = True) -> int:
    """``dev.py run``: everything up, sample loans started, until Ctrl-C."""
    local_secrets = secrets_for(ROOT / "data")
    config = StackConfig(
        data_dir=ROOT / "data",
        workers=workers,
        # Slower than the tests' sandbox so a person can watch the stages change in the Web UI.
        sandbox_env={
            "SANDBOX_PROCESSING_DELAY_SECONDS": "1.5",
            "SANDBOX_CANCEL_GRACE_SECONDS": "45",
            "SANDBOX_TEIMOSINHA_INTERVAL_SECONDS": "15",
            "SANDBOX_WEBHOOK_RETRY_SECONDS": "5",  # the provider's 5 minutes between retries, compressed
        },
    )
    for name, value in local_secrets.items():
        setattr(config, name, value)
    stack = LocalStack(config)
    print("starting: Temporal dev server, webhook gateway, sandbox provider, worker(s) ...", flush=True)
    try:
        stack.start()
        print(where_to_look(config), flush=True)
        if samples:
            asyncio.run(run_samples(config))
        print("\nrunning; Ctrl-C stops everything.", flush=True)
        while not stack.dead():
            time.sleep(0.5)
        for process in stack.dead():
            print(f"{process.name} exited with {process.popen.returncode}: see {process.log}", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stack.stop()
        print("stopped.", flush=True)
