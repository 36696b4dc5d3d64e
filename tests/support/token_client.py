"""A worker-like process for the token tests: one ProviderClient over the shared token store, making
several calls at once. ``python -m tests.support.token_client SANDBOX_URL DATABASE_URL CALLS``."""

from __future__ import annotations

import asyncio
import sys
import uuid

from pydantic import SecretStr

from activities.qitech.client import Credentials, ProviderClient
from activities.qitech.tokens import SqlTokenStore
from runtime.store.db import create_engine
from tests.support.builders import benefits_request
from tests.support.data import make_cpf


async def main(sandbox_url: str, database_url: str, calls: int) -> int:
    engine = create_engine(database_url)
    store = SqlTokenStore(engine, environment=f"{sandbox_url} lender-test")
    credentials = Credentials("lender-test", SecretStr("test-client-secret"))
    async with ProviderClient(sandbox_url, credentials, tokens=store) as client:
        answers = await asyncio.gather(
            *(
                client.request_benefits(benefits_request(make_cpf(1)), idempotency_key=str(uuid.uuid4()))
                for _ in range(calls)
            ),
            return_exceptions=True,
        )
    await engine.dispose()
    failed = [a for a in answers if isinstance(a, BaseException)]
    for failure in failed:
        print(f"failed: {type(failure).__name__}: {failure}", file=sys.stderr)
    print(f"ok {calls - len(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
