"""Who may do what, as deploy/ configures it (README, "Who can do what"): the Temporal frontend authorizes
every call by the SSO token's permissions; the Web UI signs operators in, forwards their token, and keeps
off the raw write actions that go around the loan's rules; the codec server reads and writes for separate
groups; on the self-hosted cluster each process that talks to Temporal presents a token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pydantic import SecretStr

from runtime.codec.settings import CodecSettings
from runtime.settings import ENV_VARIABLE, TemporalSettings
from tests.deploy.test_deploy import (
    HELM_VALUES,
    K8S,
    K8S_COMPONENTS,
    component_settings,
    container_env,
    k8s_named,
    pod_spec,
    rendered,
)

ROOT = K8S.parent.parent.parent


def helm() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(HELM_VALUES.read_text())
    return values


def web_env() -> dict[str, str]:
    return {item["name"]: item.get("value") for item in helm()["web"]["additionalEnv"]}


def codec_env() -> dict[str, Any]:
    return container_env(k8s_named("Deployment", "codec-server"))


def test_the_frontend_authorizes_every_call_by_the_sso_tokens_permissions() -> None:
    server = helm()["server"]
    authorization = server["config"]["authorization"]
    assert (authorization["authorizer"], authorization["claimMapper"]) == ("default", "default")
    assert authorization["permissionsClaimName"] == "permissions"
    [keys] = authorization["jwtKeyProvider"]["keySourceURIs"]
    # The same SSO the Web UI signs operators in with and the codec server checks tokens against.
    sso = urlparse(web_env()["TEMPORAL_AUTH_PROVIDER_URL"]).netloc
    assert urlparse(keys).scheme == "https" and urlparse(keys).netloc == sso
    assert urlparse(codec_env()["CODEC_SERVER_OIDC_ISSUER"]).netloc == sso
    # The server's own system workers carry no SSO token: they go through the internal frontend.
    assert server["internalFrontend"]["enabled"] is True


def test_the_web_ui_signs_operators_in_and_keeps_the_raw_write_actions_off() -> None:
    env = web_env()
    assert env["TEMPORAL_AUTH_ENABLED"] == "true" and env["TEMPORAL_AUTH_TYPE"] == "oidc"
    assert env["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    off = {
        "TEMPORAL_WORKFLOW_TERMINATE_DISABLED",
        "TEMPORAL_WORKFLOW_RESET_DISABLED",
        "TEMPORAL_WORKFLOW_SIGNAL_DISABLED",
        "TEMPORAL_WORKFLOW_CANCEL_DISABLED",
        "TEMPORAL_BATCH_ACTIONS_DISABLED",
        "TEMPORAL_START_WORKFLOW_DISABLED",
    }
    assert {name: env.get(name) for name in off} == dict.fromkeys(off, "true")
    # The access token carries what the codec server and the frontend read.
    scopes = set(env["TEMPORAL_AUTH_SCOPES"].split(","))
    assert {"openid", "groups", "permissions"} <= scopes


def test_the_codec_server_reads_and_writes_for_separate_groups_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    env = codec_env()
    decode, encode = env["CODEC_SERVER_DECODE_GROUP"], env["CODEC_SERVER_ENCODE_GROUP"]
    assert decode and encode and decode != encode
    monkeypatch.setenv(ENV_VARIABLE, "production")
    settings = CodecSettings(
        keys=SecretStr("k1:" + "A" * 43 + "="),
        server_oidc_issuer=env["CODEC_SERVER_OIDC_ISSUER"],
        server_oidc_audience=env["CODEC_SERVER_OIDC_AUDIENCE"],
        server_oidc_groups_claim=env["CODEC_SERVER_OIDC_GROUPS_CLAIM"],
        server_decode_group=decode,
        server_encode_group=encode,
    )
    groups = settings.operator_groups()
    assert groups.allows({"groups": [encode]}, "encode") and not groups.allows({"groups": [encode]}, "decode")
    # The README says who is in which group.
    readme = (ROOT / "README.md").read_text()
    assert decode in readme and encode in readme


def test_on_the_self_hosted_cluster_each_process_that_talks_to_temporal_presents_a_token() -> None:
    workloads = [d for d in rendered(K8S.parent / "self-hosted") if d["kind"] in {"Deployment", "Job"}]
    assert workloads
    for workload in workloads:
        name = workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        (container,) = pod_spec(workload)["containers"]
        tokens = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container.get("env", [])
            if e["name"] == "TEMPORAL_API_KEY" and "secretKeyRef" in e.get("valueFrom", {})
        }
        connects = TemporalSettings in component_settings()[K8S_COMPONENTS[name]]
        if not connects:
            assert not tokens, name
        elif workload["kind"] == "Job":
            assert tokens == {"temporal-admin-token"}, name  # they change the namespace
        else:
            assert tokens == {"temporal-service-token"}, name
        # The client certificate stays: the frontend still wants mTLS.
        if connects:
            volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
            assert any(v.get("secret", {}).get("secretName") == "temporal-client-tls" for v in volumes.values()), name
