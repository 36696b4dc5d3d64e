"""The gateway's CPU budget line: per webhook by process, largest first, and what the offered rate
needs in cores (ms per webhook × webhooks per second)."""

from __future__ import annotations

from devtools.bench.gateway_webhooks import cpu_budget, store_name


def test_the_budget_sums_the_processes_largest_first_and_says_what_the_rate_needs() -> None:
    figures = {
        "cpu_ms.gateway": 3.0,
        "cpu_ms.temporal": 4.5,
        "cpu_ms.load generator": 0.5,
        "cpu_ms_total": 8.0,
        "cpu_wall_seconds": 25.0,
        "cpu_cores": 2.0,
        "cpu_busy": 0.64,
        "machine_busy": 0.9,
    }
    line = cpu_budget(figures, rate=200)
    assert line.startswith("8.0 ms = temporal 4.5 + gateway 3.0 + load generator 0.5;")
    assert "at 200/s that is 1.6 cores of 2" in line  # 8 ms × 200/s = 1.6 CPU seconds a second
    assert "64 % busy over the 25.0 s" in line and "/proc/stat: 90 %" in line


def test_the_store_is_named_from_its_url() -> None:
    assert store_name(None) == "SQLite"
    assert store_name("sqlite+aiosqlite:///x.db") == "SQLite"
    assert store_name("postgresql+asyncpg://u@h/db") == "PostgreSQL"
