"""deploy/ checked offline: it parses, Kubernetes accepts it, and it agrees with the code.

No Docker engine or cluster runs here, so these tests hold the manifests to what the code reads:
every environment variable a container gets is a setting its process reads (a renamed setting
breaks a test), ports and probes meet the servers where the settings put them, secrets referenced
exist, and the versions and names shared by compose, Kubernetes and the Helm values agree.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from activities.documents import DocumentSettings
from devtools.devstack.stack import ROOT
from devtools.sandbox.settings import ENVIRONMENT_VARIABLE, SandboxSettings
from ops import healthcheck
from runtime.codec.settings import CodecSettings
from runtime.settings import (
    ENV_VARIABLE,
    ENVCONFIG_NAMES,
    EnvironmentSettings,
    PiiSettings,
    ProviderSettings,
    TemporalSettings,
    WorkerSettings,
    is_development_value,
)
from runtime.store.db import DatabaseSettings
from runtime.telemetry import LogSettings
from tests.support.shipped import shipped_top_level
from tests.test_layers import MODULE_GRAPH, MODULES
from webhooks.gateway.settings import GatewaySettings
from workflows.loan.core import CALL_TIMEOUT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s" / "base"
KUSTOMIZATIONS = sorted(p.parent for p in (DEPLOY / "k8s").glob("*/kustomization.yaml"))
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
HELM_VALUES = DEPLOY / "temporal-helm" / "values.yaml"

# Which settings each process reads is derived from the code (see "which process reads which
# settings" below): the module a container runs, from its command or its image's CMD, and every
# settings class instantiated anywhere in that module's imports.

# Given to a process by the manifests though nothing in it reads it: each entry is a finding to fix in
# deploy/ (then here); the test below fails once the manifests stop giving it, or the process reads it.
GIVEN_BUT_UNREAD: dict[str, set[str]] = {}
# Settings a production deployment must set: their defaults are for a developer's machine.
MUST_SET = {
    "worker": {
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "PROVIDER_BASE_URL",
        "PROVIDER_API_CLIENT_KEY",
        "PROVIDER_SIGNING_KEY",
        "PROVIDER_PUBLIC_KEY",
        "LENDER_PURCHASER_CNPJ",
        "CODEC_KEYS",
        "PII_HASH_KEY",
        "WORKER_METRICS_BIND",
        "WORKER_GRACEFUL_SHUTDOWN_SECONDS",
        "DATABASE_URL",
        "DATABASE_PASSWORD",
        "DOCUMENTS_ALLOWED_HOSTS",
    },
    "gateway": {
        "GATEWAY_HOST",
        "GATEWAY_PROVIDER_PUBLIC_KEYS",
        "GATEWAY_SIGNING_KEY",
        "GATEWAY_API_CLIENT_KEY",
        "GATEWAY_INBOX_PUBLIC_KEY",
        "DATABASE_URL",
        "DATABASE_PASSWORD",
    },
    "relay": {
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "RELAY_INBOX_PRIVATE_KEYS",
        "RELAY_METRICS_BIND",
        "CODEC_KEYS",
        "DATABASE_URL",
        "DATABASE_PASSWORD",
    },
    "codec": {"CODEC_KEYS", "CODEC_SERVER_TOKEN", "CODEC_UI_ORIGINS"},
}
# Read by the OpenTelemetry SDK itself (runtime.telemetry), not by our settings classes.
OTEL_NAMES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_RESOURCE_ATTRIBUTES"}
MIN_KUBERNETES = "1.30.0"  # preStop sleep hooks


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def read_names(component: str) -> set[str]:
    """Every environment variable the component's process reads."""
    reads = component_settings()[component]
    names = set().union(*(env_names(s) for s in reads)) | OTEL_NAMES
    if TemporalSettings in reads:
        names |= ENVCONFIG_NAMES
    return names


def known_names(component: str) -> set[str]:
    return read_names(component) | GIVEN_BUT_UNREAD.get(component, set())


# ---------------------------------------------------------------- which process reads which settings


@functools.cache
def settings_classes() -> dict[str, type[BaseSettings]]:
    """Every settings class the project defines (a subclass of BaseSettings, directly or not), by name."""
    defined: dict[str, str] = {}
    changed = True
    while changed:  # subclasses of our own settings classes too
        changed = False
        for module, path in MODULES.items():
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name not in defined:
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & ({"BaseSettings"} | set(defined)):
                        defined[node.name] = module
                        changed = True
    classes = {name: getattr(importlib.import_module(module), name) for name, module in defined.items()}
    assert all(issubclass(c, BaseSettings) for c in classes.values())
    return classes


def settings_read_by(entry: str) -> frozenset[type[BaseSettings]]:
    """The settings classes instantiated (``XSettings()``, ``settings or XSettings()``) anywhere in the
    modules ``entry`` imports, directly or not, function-local imports included."""
    classes = settings_classes()
    closure, pending = set(), [entry]
    while pending:
        module = pending.pop()
        if module not in closure:
            closure.add(module)
            pending.extend(MODULE_GRAPH[module])
    found = set()
    for module in closure:
        for node in ast.walk(ast.parse(MODULES[module].read_text())):
            if isinstance(node, ast.Call):
                called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if called in classes:
                    found.add(classes[called])
    return frozenset(found)


def python_module(command: list[str]) -> str:
    """The project module ``python -m X`` runs (a package runs its __main__)."""
    module = command[command.index("-m") + 1]
    return f"{module}.__main__" if f"{module}.__main__" in MODULES else module


def image_modules() -> dict[str, str]:
    """Dockerfile target -> the module its CMD runs."""
    return {
        stage: python_module(json.loads(rest))
        for stage, instructions in dockerfile_stages().items()
        for instruction, rest in instructions
        if instruction == "CMD"
    }


def compose_module(service: dict[str, Any]) -> str:
    command = service.get("command") or service.get("entrypoint")
    return python_module(command) if command else image_modules()[compose_target(service) or ""]


def k8s_module(workload: dict[str, Any]) -> str:
    (container,) = pod_spec(workload)["containers"]
    if "command" in container:
        return python_module(container["command"])
    return image_modules()[container["image"].removeprefix("consignado/")]


@functools.cache
def component_modules() -> dict[str, str]:
    """Each component (an image, or a job or tool run from the worker's image) -> the module it runs."""
    modules = dict(image_modules())
    for name, service in compose()["services"].items():
        if compose_target(service) and (service.get("command") or service.get("entrypoint")):
            modules[name] = compose_module(service)
    for workload in k8s_kind("Deployment") + k8s_kind("Job"):
        modules.setdefault(K8S_COMPONENTS[workload["metadata"]["name"]], k8s_module(workload))
    return modules


@functools.cache
def component_settings() -> dict[str, frozenset[type[BaseSettings]]]:
    return {component: settings_read_by(module) for component, module in component_modules().items()}


def test_the_settings_each_process_reads_are_found_in_its_code() -> None:
    reads = component_settings()
    assert component_modules()["worker"] == "worker" and component_modules()["gateway"] == "webhooks.gateway.__main__"
    # Read in the entry module itself, in a module it imports (the codec through runtime.temporal,
    # documents through loan.activities), and in a function-local import.
    assert {TemporalSettings, ProviderSettings, WorkerSettings, DatabaseSettings, CodecSettings} <= reads["worker"]
    assert DocumentSettings in reads["worker"]
    # Every process reads the environment switch (CONSIGNADO_ENV), through the settings that check it.
    assert reads["gateway"] == {GatewaySettings, DatabaseSettings, EnvironmentSettings, LogSettings}
    # The codec server hashes CPFs for operators (/cpf-hash): PII_HASH_KEY.
    assert reads["codec"] == {CodecSettings, PiiSettings, EnvironmentSettings, LogSettings}
    # Every long-running process chooses its log format (LOG_FORMAT: JSON lines in production).
    assert all(LogSettings in reads[process] for process in ("worker", "gateway", "relay", "codec"))
    assert reads["store-migrate"] == {DatabaseSettings, EnvironmentSettings}
    # The sandbox (a double, importing nothing of ours) reads the same switch on its own.
    assert all(EnvironmentSettings in read for component, read in reads.items() if component != "sandbox")
    prefix = EnvironmentSettings.model_config.get("env_prefix", "")
    assert f"{prefix}{next(iter(EnvironmentSettings.model_fields))}".upper() == ENVIRONMENT_VARIABLE
    # The worker hashes the CPF of a loan its caller started without the hash (workflows.loan.admission).
    assert PiiSettings in reads["starter"] and PiiSettings in reads["worker"]
    assert GatewaySettings not in reads["worker"] | reads["relay"]


def test_compose_and_kubernetes_run_the_same_module_for_a_component() -> None:
    modules = component_modules()
    for component, workload in k8s_workloads():
        assert k8s_module(workload) == modules[component], component
    for name, (component, service) in our_compose_services().items():
        assert compose_module(service) == modules[component], name


def test_every_setting_given_but_unread_is_still_given_and_still_unread() -> None:
    given: dict[str, set[str]] = {}
    for component, service in our_compose_services().values():
        given.setdefault(component, set()).update(compose_env(service))
    for component, workload in k8s_workloads():
        given.setdefault(component, set()).update(container_env(workload))
    for component, names in GIVEN_BUT_UNREAD.items():
        assert names <= given[component], f"{component} is no longer given {names - given[component]}: drop them here"
        assert not names & read_names(component), f"{component} now reads {names & read_names(component)}"


def load_all(path: Path) -> list[Any]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def k8s_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for document in load_all(path):
            if document.get("kind") != "Kustomization":
                yield path, document


def k8s_kind(kind: str) -> list[dict[str, Any]]:
    return [document for _, document in k8s_documents() if document["kind"] == kind]


def k8s_named(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in k8s_kind(kind) if d["metadata"]["name"] == name]
    return found


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container_env(workload: dict[str, Any]) -> dict[str, Any]:
    """Name -> literal value (or the valueFrom mapping), including the ConfigMaps it imports."""
    (container,) = pod_spec(workload)["containers"]
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env |= k8s_named("ConfigMap", source["configMapRef"]["name"])["data"]
    for item in container.get("env", []):
        source = item.get("valueFrom", {})
        if "configMapKeyRef" in source:  # a single key of a ConfigMap: its value
            reference = source["configMapKeyRef"]
            env[item["name"]] = k8s_named("ConfigMap", reference["name"])["data"][reference["key"]]
        else:
            env[item["name"]] = item.get("value", source or None)
    return env


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def compose_target(service: dict[str, Any]) -> str | None:
    build = service.get("build")
    return build["target"] if build else None


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in (service.get("environment") or {}).items()}


@contextlib.contextmanager
def _probe_environment(env: dict[str, str]) -> Iterator[None]:
    """A container's variables, to read where its health check probes. Its secrets are not among
    them (Secrets, .env), so the settings are read in development mode: in production they would
    rightly refuse to be built without them, and the probe reads only hosts and ports."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv(ENV_VARIABLE, "development")
        yield


# ---------------------------------------------------------------- everything parses and validates


def test_every_yaml_file_in_deploy_parses() -> None:
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert len(files) >= 10
    for path in files:
        assert load_all(path), f"{path} is empty"


@pytest.mark.parametrize("version", [MIN_KUBERNETES, kubernetes_validate.latest_version()])
def test_kubernetes_manifests_validate_against_the_api_schemas(version: str) -> None:
    checked = 0
    for path, document in k8s_documents():
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = f"{path.name}: {document['kind']}/{document['metadata']['name']}"
            pytest.fail(f"{where}: {str(error).splitlines()[0]}")
        checked += 1
    assert checked >= 12


def test_kustomization_applies_every_manifest_but_the_secret_examples() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secrets.example.yaml"}
    images = {image["name"] for image in kustomization["images"]}
    used = {c["image"] for w in k8s_kind("Deployment") + k8s_kind("Job") for c in pod_spec(w)["containers"]}
    assert used == images


def test_the_schema_script_is_valid_shell() -> None:
    shell = shutil.which("sh")
    assert shell
    script = DEPLOY / "compose" / "temporal" / "temporal-schema.sh"
    assert subprocess.run([shell, "-n", str(script)], check=False).returncode == 0


# ---------------------------------------------------------------- the image definition


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current = ""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction == "FROM":
            current = rest.split(" AS ")[-1].strip()
            stages[current] = [("FROM", rest.split(" AS ")[0].strip())]
        elif current:
            stages[current].append((instruction, rest.strip()))
    return stages


def stage_env(stages: dict[str, list[tuple[str, str]]], target: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in stages[target]:
        if instruction == "ENV":
            env |= dict(pair.split("=", 1) for pair in rest.split())
    return env


def test_the_base_image_is_pinned_to_a_patch_release() -> None:
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert match
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", match.group(1))


def test_every_image_runs_unprivileged_and_probes_itself_on_its_own_port() -> None:
    stages = dockerfile_stages()
    assert any(i == "USER" and re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", r) for i, r in stages["runtime"])
    for component in ("worker", "gateway", "relay", "codec", "sandbox"):
        instructions = dict(stages[component])
        assert instructions["FROM"] == "runtime"
        module = re.findall(r'"-m", "([\w.]+)"', instructions["CMD"])[0]
        assert importlib.util.find_spec(module) is not None, module
        env = stage_env(stages, component)
        assert set(env) <= known_names(component) | {"PYTHONPATH"}
        if component == "sandbox":  # a development tool: its own probe, outside the shipped health check
            assert '"devtools.sandbox.healthcheck"' in instructions["HEALTHCHECK"]
            with _probe_environment(env):
                settings = SandboxSettings()
            assert str(settings.port) == instructions["EXPOSE"]
            continue
        assert f'"ops.healthcheck", "{component}"' in instructions["HEALTHCHECK"]
        with _probe_environment(env):
            probed = urlparse(healthcheck.COMPONENTS[component]())
        assert str(probed.port) == instructions["EXPOSE"], component


def test_the_images_install_the_wheel_and_the_build_context_keeps_what_ships() -> None:
    # No folder list to drift: the build stage copies the context and installs the wheel it builds
    # (what the wheel holds is pyproject.toml's one rule; tests/deploy/test_wheel.py installs it).
    build = dockerfile_stages()["build"]
    assert ("COPY", ". .") in build
    run = " ".join(rest for instruction, rest in build if instruction == "RUN")
    assert "pip wheel --no-deps" in run and "pip install --no-deps /dist/*.whl" in run
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    needed = shipped_top_level() | {"pyproject.toml", "requirements.lock", "README.md", "worker.py"}
    assert not ignored & needed, ignored & needed
    assert {"tests", ".venv", "data"} <= ignored


# ---------------------------------------------------------------- compose agrees with the code


def our_compose_services() -> dict[str, tuple[str, dict[str, Any]]]:
    """Compose service -> (the component it runs, the service)."""
    services = {}
    for name, service in compose()["services"].items():
        target = compose_target(service)
        if target:
            services[name] = (name if name in component_settings() else target, service)
    return services


def test_compose_gives_each_process_only_settings_it_reads() -> None:
    services = our_compose_services()
    assert {"worker", "gateway", "codec-server", "sandbox", "temporal-setup", "starter"} <= set(services)
    for name, (component, service) in services.items():
        unknown = set(compose_env(service)) - known_names(component)
        assert not unknown, f"{name}: {sorted(unknown)} are read by nothing"
        assert MUST_SET.get(component, set()) <= set(compose_env(service)), name


def test_compose_ports_and_health_checks_meet_the_servers() -> None:
    for name, (component, service) in our_compose_services().items():
        if component not in healthcheck.COMPONENTS or service.get("healthcheck", {}).get("disable"):
            continue
        env = stage_env(dockerfile_stages(), component) | compose_env(service)
        with _probe_environment(env):
            port = urlparse(healthcheck.COMPONENTS[component]()).port
        published = [p.split(":")[-1] for p in service.get("ports", [])]
        assert not published or published == [str(port)], f"{name} publishes {published}, listens on {port}"


def _variable(value: str) -> str:
    """The .env variable a compose value reads (``${NAME:?...}``)."""
    match = re.fullmatch(r"\$\{(\w+)(:[?-].*)?\}", value)
    assert match, value
    return match.group(1)


def test_compose_wires_the_components_to_each_other() -> None:
    services = compose()["services"]
    worker, gateway, sandbox, relay = (compose_env(services[n]) for n in ("worker", "gateway", "sandbox", "relay"))
    codec, ui = compose_env(services["codec-server"]), compose_env(services["temporal-ui"])

    provider = urlparse(worker["PROVIDER_BASE_URL"])
    assert provider.hostname == "sandbox" and str(provider.port) == sandbox["SANDBOX_PORT"]
    webhooks = urlparse(sandbox["SANDBOX_WEBHOOK_URL"])
    assert webhooks.hostname == "gateway" and str(webhooks.port) == gateway["GATEWAY_PORT"]
    provider_name = webhooks.path.removeprefix("/webhooks/")
    with _probe_environment({}):  # the default provider names: no keys needed to read them
        assert provider_name in GatewaySettings.model_validate({}).provider_names()
    # The same keys on both ends of each handshake: the sandbox signs what the gateway verifies and
    # checks the acknowledgement the gateway signs; the relay opens what the gateway seals.
    assert sandbox["SANDBOX_API_CLIENT_KEY"] == gateway["GATEWAY_API_CLIENT_KEY"]
    assert _variable(sandbox["SANDBOX_WEBHOOK_SIGNING_KEY"]) == "SANDBOX_WEBHOOK_SIGNING_KEY"
    assert _variable(gateway["GATEWAY_PROVIDER_PUBLIC_KEYS"]) == "PROVIDER_WEBHOOK_PUBLIC_KEY"
    assert _variable(gateway["GATEWAY_SIGNING_KEY"]) == "LENDER_WEBHOOK_SIGNING_KEY"
    assert _variable(sandbox["SANDBOX_LENDER_PUBLIC_KEY"]) == "LENDER_WEBHOOK_PUBLIC_KEY"
    assert (_variable(gateway["GATEWAY_INBOX_PUBLIC_KEY"]), _variable(relay["RELAY_INBOX_PRIVATE_KEYS"])) == (
        "INBOX_PUBLIC_KEY",
        "INBOX_PRIVATE_KEYS",
    )
    # The gateway stores in the same database the workers route keys in and the relay reads.
    assert gateway["DATABASE_URL"] == worker["DATABASE_URL"] == relay["DATABASE_URL"]
    assert "TEMPORAL_ADDRESS" not in gateway and "CODEC_KEYS" not in gateway
    # The requests the worker signs are checked by the sandbox with the lender's public key; the
    # sandbox's signed answers are checked by the worker with the provider's public key.
    assert worker["PROVIDER_API_CLIENT_KEY"] == sandbox["SANDBOX_API_CLIENT_KEY"]
    assert _variable(worker["PROVIDER_SIGNING_KEY"]) == "LENDER_WEBHOOK_SIGNING_KEY"
    assert _variable(worker["PROVIDER_PUBLIC_KEY"]) == "PROVIDER_WEBHOOK_PUBLIC_KEY"
    assert worker["CODEC_KEYS"] == relay["CODEC_KEYS"] == codec["CODEC_KEYS"]
    # The browser reaches the codec server on its published port, from the UI's published origin,
    # with a bearer header: no token in the URL (the production codec server refuses one there).
    endpoint = urlparse(ui["TEMPORAL_CODEC_ENDPOINT"])
    assert f"{endpoint.port}:{endpoint.port}" in services["codec-server"]["ports"]
    assert endpoint.path in {"", "/"} and "TOKEN" not in ui["TEMPORAL_CODEC_ENDPOINT"]
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    ui_port = services["temporal-ui"]["ports"][0].split(":")[0]
    assert f"http://localhost:{ui_port}" in codec["CODEC_UI_ORIGINS"].split(",")
    for service in ("worker", "relay", "temporal-setup", "starter"):
        assert compose_env(services[service])["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_every_required_compose_variable_is_in_the_env_example() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    example = {
        line.split("=")[0] for line in (DEPLOY / "compose" / ".env.example").read_text().splitlines() if "=" in line
    }
    assert required
    assert required <= example


def test_compose_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        if compose_target(service):
            assert image.startswith("consignado/"), name
        else:
            assert re.search(r":v?\d+\.\d+", image) and "latest" not in image, f"{name}: {image}"


def test_workers_scale_and_drain_in_compose() -> None:
    worker = compose()["services"]["worker"]
    assert "container_name" not in worker  # replicas need generated names
    assert worker["deploy"]["replicas"] >= 2
    drain = float(compose_env(worker)["WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert drain > CALL_TIMEOUT.total_seconds()
    assert _seconds(worker["stop_grace_period"]) > drain


def _seconds(duration: str) -> float:
    value, unit = re.fullmatch(r"(\d+)([sm])", duration).groups()  # type: ignore[union-attr]
    return timedelta(**{"seconds" if unit == "s" else "minutes": int(value)}).total_seconds()


# ---------------------------------------------------------------- Kubernetes agrees with the code


K8S_COMPONENTS = {
    "loan-worker": "worker",
    "webhook-gateway": "gateway",
    "webhook-relay": "relay",
    "codec-server": "codec",
    "temporal-setup": "temporal-setup",
    "promote-build": "promote-build",
    "store-migrate": "store-migrate",
}


def k8s_workloads() -> Iterator[tuple[str, dict[str, Any]]]:
    for workload in k8s_kind("Deployment") + k8s_kind("Job"):
        yield K8S_COMPONENTS[workload["metadata"]["name"]], workload


def test_kubernetes_gives_each_process_only_settings_it_reads() -> None:
    seen = set()
    for component, workload in k8s_workloads():
        env = container_env(workload)
        unknown = set(env) - known_names(component)
        assert not unknown, f"{workload['metadata']['name']}: {sorted(unknown)} are read by nothing"
        assert MUST_SET.get(component, set()) <= set(env), component
        seen.add(component)
    assert seen == set(K8S_COMPONENTS.values())


def mounted_secret_files() -> set[tuple[str, str]]:
    """(Secret, key) of every file a process reads from a mounted Secret (the settings name its path)."""
    found = set()
    for _, workload in k8s_workloads():
        (container,) = pod_spec(workload)["containers"]
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}
        for value in container_env(workload).values():
            if isinstance(value, str) and str(Path(value).parent) in mounts:
                secret = mounts[str(Path(value).parent)].get("secret")
                if secret:
                    found.add((secret["secretName"], Path(value).name))
    return found


def test_every_secret_reference_names_a_documented_secret_key() -> None:
    documented = {
        (secret["metadata"]["name"], key)
        for secret in load_all(K8S / "secrets.example.yaml")
        for key in secret["stringData"]
    }
    referenced = {
        (value["secretKeyRef"]["name"], value["secretKeyRef"]["key"])
        for _, workload in k8s_workloads()
        for value in container_env(workload).values()
        if isinstance(value, dict)
    } | mounted_secret_files()
    assert referenced == documented
    # Secrets never sit in the ConfigMap.
    config = k8s_named("ConfigMap", "consignado-config")["data"]
    assert not {"CODEC_KEYS", "PII_HASH_KEY", "PROVIDER_SIGNING_KEY", "GATEWAY_WEBHOOK_SECRETS"} & set(config)


def test_probes_and_services_meet_the_ports_the_settings_open() -> None:
    for component, workload in k8s_workloads():
        (container,) = pod_spec(workload)["containers"]
        if component not in healthcheck.COMPONENTS:
            continue
        env = {k: v for k, v in container_env(workload).items() if isinstance(v, str)}
        with _probe_environment(env):
            listens = urlparse(healthcheck.COMPONENTS[component]()).port
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert list(ports.values()) == [listens], component
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] in ports, (component, probe)
    routes = {r.path for r in _gateway_app().routes}  # type: ignore[attr-defined]
    gateway = pod_spec(k8s_named("Deployment", "webhook-gateway"))["containers"][0]
    assert {gateway["readinessProbe"]["httpGet"]["path"], gateway["livenessProbe"]["httpGet"]["path"]} <= routes
    for service in k8s_kind("Service"):
        (target,) = [p["targetPort"] for p in service["spec"]["ports"]]
        workload = k8s_named("Deployment", service["metadata"]["name"])
        assert service["spec"]["selector"].items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        assert target in {p["name"] for p in pod_spec(workload)["containers"][0]["ports"]}


def _gateway_app() -> object:
    from activities.qitech import webhook_v2
    from webhooks.gateway.app import create_app
    from webhooks.inbox.sealing import new_keypair

    key = webhook_v2.new_private_key()
    settings = GatewaySettings(
        provider_public_keys=webhook_v2.public_key_of(key),
        signing_key=SecretStr(key),
        api_client_key="a-probe-api-client-key",
        inbox_public_key=new_keypair("routes")[1],
    )
    return create_app(settings)


def test_the_ingress_publishes_only_the_webhook_route() -> None:
    ingress = k8s_named("Ingress", "webhook-gateway")
    paths = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert paths == ["/webhooks/"]


def test_a_terminating_worker_has_time_to_finish_its_activities() -> None:
    worker = k8s_named("Deployment", "loan-worker")
    drain = float(container_env(worker)["WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert drain > CALL_TIMEOUT.total_seconds()
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > drain
    hpa = k8s_named("HorizontalPodAutoscaler", "loan-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "loan-worker"
    assert hpa["spec"]["minReplicas"] >= 2


def test_every_pod_runs_unprivileged_and_read_only() -> None:
    for _, workload in k8s_workloads():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


# ---------------------------------------------------------------- compose, Kubernetes and Helm agree


def test_one_temporal_version_everywhere() -> None:
    helm = yaml.safe_load(HELM_VALUES.read_text())
    images = {s["image"].split(":")[0]: s["image"].split(":")[1] for s in compose()["services"].values()}
    assert images["temporalio/server"] == helm["server"]["image"]["tag"]
    assert images["temporalio/admin-tools"] == helm["admintools"]["image"]["tag"]
    assert images["temporalio/ui"] == helm["web"]["image"]["tag"]
    assert images["temporalio/server"] in images["temporalio/admin-tools"]
    # Our workers are versioned (Worker Deployments): the Web UI shows and manages them from 2.38 on.
    assert tuple(int(p) for p in helm["web"]["image"]["tag"].split(".")) >= (2, 38, 0)


def test_the_namespace_and_task_queue_are_the_ones_the_cluster_is_set_up_for() -> None:
    helm = yaml.safe_load(HELM_VALUES.read_text())
    config = k8s_named("ConfigMap", "consignado-config")["data"]
    assert config["TEMPORAL_NAMESPACE"] in [n["name"] for n in helm["server"]["config"]["namespaces"]["namespace"]]
    dynamic = [
        helm["server"]["dynamicConfig"],
        yaml.safe_load((DEPLOY / "compose" / "temporal" / "dynamicconfig" / "production-sql.yaml").read_text()),
    ]
    compose_queue = compose_env(compose()["services"]["worker"])["TEMPORAL_TASK_QUEUE"]
    for queue in (config["TEMPORAL_TASK_QUEUE"], compose_queue):
        for settings in dynamic:
            constrained = {
                c["constraints"].get("taskQueueName")
                for key, values in settings.items()
                if key.startswith("matching.numTaskqueue")
                for c in values
            }
            assert constrained == {queue}


def test_the_web_ui_decodes_through_our_codec_server_and_it_accepts_the_ui() -> None:
    helm = yaml.safe_load(HELM_VALUES.read_text())
    env = {e["name"]: e.get("value") for e in helm["web"]["additionalEnv"]}
    endpoint = urlparse(env["TEMPORAL_CODEC_ENDPOINT"])
    codec_hosts = {rule["host"] for rule in k8s_named("Ingress", "codec-server")["spec"]["rules"]}
    assert endpoint.scheme == "https" and endpoint.hostname in codec_hosts
    codec = container_env(k8s_named("Deployment", "codec-server"))
    origins = codec["CODEC_UI_ORIGINS"].split(",")
    assert {f"https://{host}" for host in helm["web"]["ingress"]["hosts"]} <= set(origins)
    # The UI sends the signed-in operator's SSO access token as a bearer header, never a token in
    # the URL (the UI serves its settings to every browser); the codec server checks that token
    # against the same SSO.
    assert endpoint.path in {"", "/"} and "TOKEN" not in env["TEMPORAL_CODEC_ENDPOINT"]
    assert "CODEC_SERVER_TOKEN" not in env
    assert env["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true" and env["TEMPORAL_AUTH_ENABLED"] == "true"
    assert codec["CODEC_SERVER_OIDC_ISSUER"] == env["TEMPORAL_AUTH_PROVIDER_URL"]
    assert codec["CODEC_SERVER_OIDC_AUDIENCE"]
    assert ENV_VARIABLE not in codec  # production: the token in a URL path is refused


def test_no_deployment_runs_in_development_mode_or_on_a_published_secret() -> None:
    """Production is the default: compose and Kubernetes never set the development switch, and no
    literal value they give is one of the repository's published development secrets."""
    given: list[tuple[str, str, object]] = []
    for name, (_, service) in our_compose_services().items():
        given += [(name, variable, value) for variable, value in compose_env(service).items()]
    for _, workload in k8s_workloads():
        given += [
            (workload["metadata"]["name"], variable, value) for variable, value in container_env(workload).items()
        ]
    for stage in dockerfile_stages():
        given += [(stage, variable, value) for variable, value in stage_env(dockerfile_stages(), stage).items()]
    assert len(given) > 50
    assert not [(where, variable) for where, variable, _ in given if variable == ENV_VARIABLE]
    assert not [(where, v) for where, v, value in given if isinstance(value, str) and is_development_value(value)]


def test_the_readme_deploy_section_names_what_exists() -> None:
    """The README's deploy instructions: every file they name exists, the compose service they scale
    and the Dockerfile targets they list are real, and the Helm chart version is the one we pin."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploy and scale") : readme.index("## Benchmarks")]
    for path in set(re.findall(r"deploy/[\w./-]+[\w]", section)):
        assert (ROOT / path).exists(), path
    scaled = re.search(r"--scale (\w[\w-]*)=", section)
    assert scaled and scaled.group(1) in compose()["services"]
    targets = set(re.findall(r"^FROM .* AS (\S+)", (ROOT / "deploy/docker/Dockerfile").read_text(), re.M))
    for target in re.findall(r"`--target (\w+)`, `(\w+)`, `(\w+)`, `(\w+)`", section)[0]:
        assert target in targets, target
    chart = re.search(r"--version (\S+)", section)
    values = (ROOT / "deploy/temporal-helm/values.yaml").read_text()
    assert chart and f"--version {chart.group(1)}" in values


# ---------------------------------------------------------------- Worker Versioning and the Temporal connection


def test_the_worker_image_announces_its_own_build() -> None:
    stages = dockerfile_stages()
    worker_env = stage_env(stages, "worker")
    assert ("ARG", "BUILD_ID=dev") in stages["worker"]
    assert worker_env["WORKER_BUILD_ID"] == "${BUILD_ID}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKER_DEPLOYMENT_NAME", worker_env["WORKER_DEPLOYMENT_NAME"])
        patch.setenv("WORKER_BUILD_ID", "0.2.0")
        deployment = WorkerSettings().deployment()
    assert deployment is not None and deployment.use_worker_versioning
    assert deployment.version.build_id == "0.2.0"
    # Compose builds the image with its tag as the build id, and promotes the build it runs.
    services = compose()["services"]
    assert services["worker"]["build"]["args"]["BUILD_ID"] == services["worker"]["image"].split(":", 1)[1]
    promote = services["promote-build"]
    assert promote["image"] == services["worker"]["image"]
    assert promote["command"][:3] == ["python", "-m", "ops.promote_build"]


def test_kubernetes_promotes_exactly_the_build_it_deploys() -> None:
    (worker,) = pod_spec(k8s_named("Deployment", "loan-worker"))["containers"]
    (job,) = pod_spec(k8s_named("Job", "promote-build"))["containers"]
    assert job["image"] == worker["image"]  # kustomize sets one tag for both
    assert job["command"][:3] == ["python", "-m", "ops.promote_build"]
    assert "WORKER_BUILD_ID" not in container_env(k8s_named("Deployment", "loan-worker"))  # the image's own


def test_every_process_given_certificate_paths_mounts_them() -> None:
    for _, workload in k8s_workloads():
        env = container_env(workload)
        paths = [v for k, v in env.items() if k.startswith("TEMPORAL_TLS_") and k.endswith("_PATH")]
        (container,) = pod_spec(workload)["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        for path in paths:
            folder = str(Path(path).parent)
            assert folder in mounts, f"{workload['metadata']['name']} reads {path} but mounts nothing there"
            assert volumes[mounts[folder]]["secret"]["secretName"] == "temporal-client-tls"


def test_the_temporal_cloud_overlay_changes_only_the_connection() -> None:
    overlay = K8S.parent / "temporal-cloud"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../base"]  # beside its base, not inside it
    config = yaml.safe_load((overlay / "config.yaml").read_text())["data"]
    assert set(config) <= ENVCONFIG_NAMES
    base = k8s_named("ConfigMap", "consignado-config")["data"]
    removed = [
        op["path"].removeprefix("/data/")
        for patch in kustomization["patches"]
        if patch.get("target", {}).get("kind") == "ConfigMap"
        for op in yaml.safe_load(patch["patch"])
    ]
    assert removed and set(removed) <= set(base)
    assert not any(k.endswith("_PATH") for k in set(base) - set(removed))
    # The API key reaches exactly the processes that connect to Temporal.
    targets = {
        name
        for patch in kustomization["patches"]
        if "name" in patch.get("target", {}) and patch["target"]["kind"] != "ConfigMap"
        for name in patch["target"]["name"].split("|")
    }
    temporal_clients = {n for n, c in K8S_COMPONENTS.items() if TemporalSettings in component_settings()[c]}
    assert targets == temporal_clients
    for patch in kustomization["patches"]:
        if patch.get("path", "").startswith("api-key"):
            (operation,) = yaml.safe_load((overlay / patch["path"]).read_text())
            value = operation["value"]
            names = {item["name"] for item in value} if isinstance(value, list) else {value["name"]}
            assert names == {"TEMPORAL_API_KEY"} <= ENVCONFIG_NAMES


# ---------------------------------------------------------------- the kustomizations, rendered


def rendered(folder: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize <folder>``: what ``kubectl apply -k`` would send, rendered offline."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl renders the kustomizations (.ci/run installs it where it is missing)"
    done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"kubectl kustomize {folder}: {done.stderr}"
    return [d for d in yaml.safe_load_all(done.stdout) if d is not None]


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_each_kustomization_renders_and_validates(folder: Path) -> None:
    documents = rendered(folder)
    kinds = {d["kind"] for d in documents}
    assert {"Deployment", "Job", "ConfigMap", "Namespace"} <= kinds
    for document in documents:
        for version in (MIN_KUBERNETES, kubernetes_validate.latest_version()):
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = f"{folder.name}: {document['kind']}/{document['metadata']['name']} ({version})"
                pytest.fail(f"{where}: {str(error).splitlines()[0]}")
    assert all(d["metadata"].get("namespace") == "consignado" for d in documents if d["kind"] != "Namespace")


def test_on_temporal_cloud_each_workload_that_connects_to_temporal_has_the_api_key() -> None:
    workloads = [d for d in rendered(K8S.parent / "temporal-cloud") if d["kind"] in {"Deployment", "Job"}]
    for workload in workloads:
        name = workload["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        (container,) = pod_spec(workload)["containers"]
        keyed = {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
        connects = TemporalSettings in component_settings()[K8S_COMPONENTS[name]]
        assert ("TEMPORAL_API_KEY" in keyed) == connects, name


def test_build_promotion_runs_again_for_each_new_tag_and_for_a_rollback(tmp_path: Path) -> None:
    # The Job is named after the build it promotes: a new tag is a new Job (a fixed name would be
    # "unchanged" and never run), and a rollback's tag gets its Job again once the first is cleaned up.
    def promotion_job(tag: str) -> dict[str, Any]:
        # As a rollout sets the tag: in the base's kustomization.yaml (README, deploy and scale).
        base = tmp_path / tag
        shutil.copytree(K8S, base)
        kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
        kustomization["images"] = [{**image, "newTag": tag} for image in kustomization["images"]]
        (base / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        (job,) = [d for d in rendered(base) if d["kind"] == "Job" and d["metadata"]["name"].startswith("promote-build")]
        return job

    first, second = promotion_job("1.4.0"), promotion_job("1.5.0")
    assert first["metadata"]["name"] == "promote-build-1.4.0" and second["metadata"]["name"] == "promote-build-1.5.0"
    (container,) = pod_spec(second)["containers"]
    assert container["image"] == "consignado/worker:1.5.0"  # it promotes the build it is named after
    assert first["spec"]["ttlSecondsAfterFinished"] <= 600  # a rollback soon after finds its Job gone
