"""What ships, as it ships: the wheel built from this checkout, installed into a clean virtualenv outside
the repository (its runtime dependencies only, pinned by the lock), and every process started from a
working directory outside the repository exactly as its container's command says — the worker, the
webhook gateway, the relay, the codec server, the cluster set-up job, the store migration and build
promotion. Then one loan goes end to end through those installed processes, against the Temporal dev
server and a real PostgreSQL (the sandbox provider, a development tool, runs from the checkout).

A package the wheel leaves out, a package shadowed by a standard-library module of the same name, or a
shipped module importing a development tool fails here, as it would fail in the images.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.devstack.samples import COMPLETES, sample_cpf, sample_request
from devtools.devstack.stack import LocalStack, StackConfig, running
from tests.deploy.test_deploy import dockerfile_stages, k8s_kind, pod_spec
from tests.support.clock import needs_real_clock
from tests.support.postgres import running_postgres
from tests.support.servers import ROOT
from tests.support.shipped import shipped_modules, shipped_packages, shipped_top_level

pytestmark = pytest.mark.integration

LOCK = ROOT / "requirements.lock"


def _run(*args: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(str(a) for a in args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # From a copy of the checkout's files (what a clone holds): setuptools builds through build/ and
    # *.egg-info in the source folder, and a stale copy there would ship what the rule no longer does.
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    listed = _run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=ROOT, timeout=60).stdout
    for name in listed.splitlines():
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    build = (sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, source)
    _run(*build, cwd=dist, timeout=300)
    [built] = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv (the base interpreter, no site-packages of ours) with the wheel and the
    runtime dependencies alone; returns its Python."""
    home = tmp_path_factory.mktemp("installed")
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    python = home / "venv" / "bin" / "python"
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    _run(python, "-m", "pip", "install", "--quiet", "-c", LOCK, *dependencies, wheel, cwd=home, timeout=900)
    return python


def test_the_wheel_holds_what_ships_and_nothing_else(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {p for p in shipped_top_level() if p not in shipped_modules()} | {
        f"{m}.py" for m in shipped_modules()
    }
    assert not any(n.startswith(("devtools/", "tests/")) for n in names)
    assert "runtime/store/migrations/script.py.mako" in names  # Alembic's template, package data
    assert any(n.startswith("runtime/store/migrations/versions/0001") for n in names)


def test_every_shipped_module_imports_from_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    modules = [*shipped_packages(), *shipped_modules()]
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    script += "import workflows, domain\nassert '/site-packages/' in workflows.__file__, workflows.__file__\n"
    _run(installed, "-c", script, *modules, cwd=tmp_path, timeout=120)


def _container_commands() -> dict[str, list[str]]:
    """Each component -> its ``python -m`` command, as the images and the Kubernetes jobs run it."""
    commands = {}
    for stage, instructions in dockerfile_stages().items():
        for instruction, rest in instructions:
            if instruction == "CMD":
                commands[stage] = json.loads(rest)
    for job in k8s_kind("Job"):
        (container,) = pod_spec(job)["containers"]
        commands[job["metadata"]["name"]] = container["command"]
    return commands


def test_the_containers_start_the_modules_the_stack_starts() -> None:
    # The stack below starts each shipped process as its container does: python -m <the same module>.
    commands = _container_commands()
    modules = {name: command[command.index("-m") + 1] for name, command in commands.items()}
    assert modules["worker"] == "worker"
    assert modules["gateway"] == "webhooks.gateway"
    assert modules["relay"] == "webhooks.relay"
    assert modules["codec"] == "runtime.codec"
    assert {modules["temporal-setup"], modules["store-migrate"], modules["promote-build"]} == {
        "ops.temporal_setup",
        "runtime.store.migrate",
        "ops.promote_build",
    }


@pytest.fixture(scope="module")
def installed_stack(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    needs_real_clock("Temporal's dev server")
    outside = tmp_path_factory.mktemp("outside")  # every shipped process runs from here
    with running_postgres("consignado_wheel") as database:
        config = StackConfig.ephemeral(
            tmp_path_factory.mktemp("wheel-stack"),
            installed_python=str(installed),
            installed_cwd=outside,
            database=database,
            workers=0,
        )
        with running(config) as stack:
            yield stack


def test_a_loan_goes_end_to_end_through_the_installed_processes(
    installed_stack: LocalStack, installed: Path, tmp_path: Path
) -> None:
    stack = installed_stack
    # The worker as its image starts it, announcing its build; then the promotion job makes that build
    # current (Worker Versioning), as the rollout's last step does.
    stack.start_worker(WORKER_DEPLOYMENT_NAME="consignado-worker", WORKER_BUILD_ID="wheel-test")
    stack.run_job("promote-build", "ops.promote_build", "wheel-test", "--wait-seconds", "60")

    request = sample_request(
        COMPLETES, cpf=sample_cpf(1, random.Random()), stamp=f"wheel{random.randrange(10**9)}", documents_dir=tmp_path
    )
    request_file = tmp_path / "request.json"
    request_file.write_text(request.model_dump_json())
    starter = [str(installed), "-m", "starter"]
    env = {**stack.config.common_env(), "PATH": "/usr/bin:/bin"}

    def cli(*args: str, timeout: float = 200.0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*starter, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"starter {' '.join(args)}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    cli("start", str(request_file), "--wait", "awaiting_signature", "--timeout", "180")
    cli("sign", request.request_key, "--ip", "203.0.113.9", "--score", "0.97", "--biometry", "serpro")
    cli("wait", request.request_key, "closed", "--timeout", "180", timeout=240)
    state = json.loads(cli("status", request.request_key, "--json").stdout)
    assert (state["status"], state["outcome_reason"]) == ("completed", "disbursed")
    assert not stack.dead(), [p.name for p in stack.dead()]
