"""``dev.py run`` speaks as development: its own process builds settings (the store it migrates, the
samples' client) without production's warnings."""

from __future__ import annotations

import logging

import pytest

from devtools.devstack import run
from runtime.settings import ENV_VARIABLE
from runtime.store.db import DatabaseSettings


class _StackThatMigratesThenStops:
    def __init__(self, config: object) -> None:
        self.config = config

    def start(self) -> None:
        DatabaseSettings(url="sqlite+aiosqlite:///data/consignado.db")  # what migrate_store builds
        raise KeyboardInterrupt  # Ctrl-C as soon as the store is set up

    def stop(self) -> None:
        pass


def test_the_run_command_prints_no_production_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV_VARIABLE, raising=False)  # a newcomer's shell: nothing set
    monkeypatch.setattr(run, "LocalStack", _StackThatMigratesThenStops)
    monkeypatch.setattr(run, "secrets_for", lambda path: {})
    with caplog.at_level(logging.WARNING):
        assert run.run_local_stack(samples=False) == 0
    said = caplog.text + capsys.readouterr().out
    assert "in production" not in said, said
    assert "stopped." in said


def test_control_outside_the_run_command_production_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    with caplog.at_level(logging.WARNING):
        DatabaseSettings(url="sqlite+aiosqlite:///data/consignado.db")
    assert "DATABASE_URL is SQLite in production" in caplog.text
