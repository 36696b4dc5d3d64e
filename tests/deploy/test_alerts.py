"""The alert rules we ship (deploy/prometheus/alerts.yml) are valid and do what their unit tests say:
``promtool check rules`` and ``promtool test rules`` (deploy/prometheus/alerts.test.yml), with the
promtool Debian's ``prometheus`` package installs (.ci/run installs it). Without it the test is
skipped with that instruction on a developer's machine, and fails under CI (``CI`` set)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        missing = "alert tests need promtool: apt-get install prometheus (.ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return subprocess.run([PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False)


def test_the_rules_are_valid() -> None:
    checked = _promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_do_what_their_unit_tests_say() -> None:
    tested = _promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_firing() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    fired = {
        case["alertname"]
        for test in yaml.safe_load((RULES / "alerts.test.yml").read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == fired
    assert {"LoanStuckInStage", "WebhooksParked", "ProviderErrors", "WorkflowTaskFailures"} <= alerts
    assert "TemporalRefusingRelay" in alerts


def test_compose_prometheus_loads_the_rules() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "docker-compose.yml").read_text())
    volumes = compose["services"]["prometheus"]["volumes"]
    assert config["rule_files"] == ["alerts.yml"]  # beside prometheus.yml in the container
    assert "../prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes
