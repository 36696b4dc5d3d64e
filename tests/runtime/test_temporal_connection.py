"""Every process connects through Temporal's environment configuration (temporalio.envconfig):
address, namespace, API key, TLS and mTLS from the environment or a profile file — proven against a
TLS frontend (with client certificates) in front of the dev server."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.service import TLSConfig

from devtools.devstack.stack import LocalStack
from runtime.settings import TemporalSettings
from runtime.temporal import connect
from tests.support.tls import make_pki, tls_frontend

ENV = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_NAME",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_without_configuration_it_is_the_local_dev_server() -> None:
    config = TemporalSettings().connect_config()
    assert (config["target_host"], config["namespace"]) == ("127.0.0.1:7233", "default")
    assert "tls" not in config and "api_key" not in config


def test_temporal_cloud_by_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "consignado.a1b2c.tmprl.cloud:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "consignado.a1b2c")
    monkeypatch.setenv("TEMPORAL_API_KEY", "an-api-key")
    config = TemporalSettings().connect_config()
    assert config["target_host"] == "consignado.a1b2c.tmprl.cloud:7233"
    assert config["namespace"] == "consignado.a1b2c"
    assert config["api_key"] == "an-api-key"
    assert config["tls"] is True  # an API key only ever travels over TLS
    assert "an-api-key" not in TemporalSettings().where()


def test_a_profile_file_with_mtls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    profile = tmp_path / "temporal.toml"
    profile.write_text(
        f"""
[profile.production]
address = "temporal-frontend.temporal.svc:7233"
namespace = "consignado"
[profile.production.tls]
server_name = "temporal-frontend"
server_ca_cert_path = "{pki.ca_cert}"
client_cert_path = "{pki.client_cert}"
client_key_path = "{pki.client_key}"
"""
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profile))
    monkeypatch.setenv("TEMPORAL_PROFILE", "production")
    config = TemporalSettings().connect_config()
    assert config["target_host"] == "temporal-frontend.temporal.svc:7233"
    tls = config["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.domain == "temporal-frontend"
    assert tls.server_root_ca_cert == pki.ca_cert.read_bytes()
    assert tls.client_cert == pki.client_cert.read_bytes()
    assert tls.client_private_key == pki.client_key.read_bytes()


def test_our_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "elsewhere:7233")
    config = TemporalSettings(address="127.0.0.1:9999", namespace="tests").connect_config()
    assert (config["target_host"], config["namespace"]) == ("127.0.0.1:9999", "tests")


@pytest.mark.integration
async def test_a_worker_reaches_a_tls_frontend_with_its_client_certificate(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    with tls_frontend(pki, stack.config.temporal_port, require_client_cert=True) as port:
        monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
        monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(pki.ca_cert))
        monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(pki.client_cert))
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(pki.client_key))
        client = await connect(TemporalSettings(), codec=stack.config.codec_settings())
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version

        # Without its certificate the frontend lets nobody in.
        monkeypatch.delenv("TEMPORAL_TLS_CLIENT_CERT_PATH")
        monkeypatch.delenv("TEMPORAL_TLS_CLIENT_KEY_PATH")
        with pytest.raises(RuntimeError):
            await connect(TemporalSettings(), codec=stack.config.codec_settings(), fail_fast=True)
