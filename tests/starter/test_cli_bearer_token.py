"""An operator's machine holds no master key: ``python -m starter`` with only the operator's SSO access
token (``CODEC_REMOTE_URL``, ``CODEC_REMOTE_TOKEN``; no ``CODEC_KEYS``, no ``PII_HASH_KEY``) starts,
reads, finds by CPF and acts on a loan through the codec server, which checks the token's groups and
seals the operator's name into what they send."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.devstack.samples import SAMPLES, sample_cpf, sample_request
from devtools.devstack.stack import ROOT, LocalStack
from runtime.settings import ENV_VARIABLE
from tests.support.oidc import AUDIENCE, OPERATORS, READERS, FakeIssuer
from tests.support.servers import free_port, python_module, running_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issuer() -> Iterator[FakeIssuer]:
    fake = FakeIssuer()
    with fake.server:
        yield fake


@pytest.fixture(scope="module")
def codec_server(stack: LocalStack, issuer: FakeIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The lender's codec server: it alone holds the codec keys and the PII hash key."""
    port = free_port()
    env = {
        ENV_VARIABLE: "development",
        "CODEC_KEYS": stack.config.codec_keys,
        "PII_HASH_KEY": stack.config.pii_hash_key,
        "CODEC_SERVER_TOKEN": "the-codec-servers-own-token",
        "CODEC_SERVER_PORT": str(port),
        "CODEC_SERVER_OIDC_ISSUER": issuer.url,
        "CODEC_SERVER_OIDC_AUDIENCE": AUDIENCE,
        "CODEC_SERVER_DECODE_GROUP": READERS,
        "CODEC_SERVER_ENCODE_GROUP": OPERATORS,
        "OTEL_TRACES_EXPORTER": "none",
    }
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("codec") / "codec.log"
    with running_process(python_module("runtime.codec"), env=env, ready_url=f"{url}/healthz", log=log):
        yield url


def operator_cli(
    stack: LocalStack, codec_url: str, token: str, *args: str, home: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CODEC_", "PII_"))},
        **stack.config.common_env(),
        # Nothing that decrypts a pensioner's data or reverses a CPF hash: only the operator's token.
        "CODEC_KEYS": "",
        "PII_HASH_KEY": "",
        "CODEC_REMOTE_URL": codec_url,
        "CODEC_REMOTE_TOKEN": token,
        "HOME": str(home),
    }
    return subprocess.run(
        [sys.executable, "-m", "starter", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_works_for_an_operator_holding_only_a_bearer_token(
    stack: LocalStack, codec_server: str, issuer: FakeIssuer, tmp_path: Path
) -> None:
    cpf = sample_cpf(1, random.Random())
    request = sample_request(SAMPLES[0], cpf=cpf, stamp=str(random.randrange(10**9)), documents_dir=tmp_path)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request.model_dump(mode="json")))
    key = request.request_key
    ana = issuer.operator("ana", "sub-ana")

    started = operator_cli(stack, codec_server, ana, "start", str(path), "--wait", "awaiting_signature", home=tmp_path)
    assert started.returncode == 0, started.stderr
    status = operator_cli(stack, codec_server, ana, "status", key, "--json", home=tmp_path)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["stage"] == "awaiting_signature"
    # Found by CPF: the codec server hashes it with the key the operator does not hold.
    by_cpf = operator_cli(stack, codec_server, ana, "list", "--cpf", cpf, "--json", home=tmp_path)
    assert by_cpf.returncode == 0, by_cpf.stderr
    assert key in [loan["request_key"] for loan in json.loads(by_cpf.stdout)]

    # A reader may look but not act: the codec server refuses to encode for them.
    reader = issuer.operator("rui", "sub-rui", groups=(READERS,))
    refused = operator_cli(stack, codec_server, reader, "cancel", key, "--reason", "not mine", home=tmp_path)
    assert refused.returncode == 3 and "refused to encode" in refused.stderr, refused.stderr
    # Without a valid token nothing is read.
    stranger = operator_cli(stack, codec_server, "not-a-token", "status", key, home=tmp_path)
    assert stranger.returncode == 3 and "no valid token" in stranger.stderr, stranger.stderr

    # ana claims to be someone else on the command line; the loan records her verified name.
    canceled = operator_cli(
        stack, codec_server, ana, "cancel", key, "--reason", "borrower withdrew", "--operator", "mallory", home=tmp_path
    )
    assert canceled.returncode == 0, canceled.stderr
    assert "canceled by ana: borrower withdrew" in canceled.stdout
    assert "last operator action: cancel by ana (sub-ana)" in canceled.stdout
