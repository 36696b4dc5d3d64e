"""Quotes per second of the pricing engine on one core, in each of its three modes.

The request: 84 installments, 4 disbursement options (limit_days_to_disburse = 3), the shape of a
typical INSS quote — installment mode at 1.66 % a month (installment 300.00), disbursed-amount mode
(12,000.00 released at 1.66 %: the issue amount is solved) and rate mode (installment 300.00 and
12,000.00 released: the rate is solved). Each mode runs three times; the figure is the median, in
quotes per CPU second, printed with the spread of the three so that a regression is not mistaken
for noise, and with its target. Loops are bounded by count and time.
Run: python -m devtools.bench.pricing_quotes
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from domain.pricing.engine import QuoteRequest, quote
from domain.pricing.product import INSS_DEFAULT_PRODUCT

TARGET_QUOTES_PER_SECOND = 2000  # installment mode
TARGET_SOLVED_QUOTES_PER_SECOND = 1000  # each solved mode
RUNS = 3


@dataclass(frozen=True)
class Mode:
    key: str  # the figures' prefix in --json
    label: str
    request: QuoteRequest
    target: int
    max_quotes: int


def modes() -> tuple[Mode, ...]:
    installment = QuoteRequest(
        first_due_date=date(2026, 1, 7),
        disbursement_date=date(2025, 12, 1),
        limit_days_to_disburse=3,
        number_of_installments=84,
        installment_face_value=Decimal("300.00"),
        disbursed_amount=None,
        monthly_interest_rate=Decimal("0.0166"),
    )
    disbursed = replace(installment, installment_face_value=None, disbursed_amount=Decimal("12000.00"))
    solved_rate = replace(installment, disbursed_amount=Decimal("12000.00"), monthly_interest_rate=None)
    return (
        Mode("installment_mode", "installment mode", installment, TARGET_QUOTES_PER_SECOND, 20000),
        Mode(
            "disbursed_mode",
            "disbursed-amount mode (issue amount solved)",
            disbursed,
            TARGET_SOLVED_QUOTES_PER_SECOND,
            10000,
        ),
        Mode("rate_mode", "rate mode (rate solved)", solved_rate, TARGET_SOLVED_QUOTES_PER_SECOND, 10000),
    )


def _run(request: QuoteRequest, *, max_quotes: int, max_seconds: float) -> tuple[float, float]:
    """Quotes per CPU second and per wall second, over at most ``max_quotes`` or ``max_seconds``."""
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while count < max_quotes and time.perf_counter() - wall0 < max_seconds:
        quote(request, INSS_DEFAULT_PRODUCT)
        count += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return count / max(cpu, 1e-9), count / wall


def measure(max_seconds: float = 6.0) -> dict[str, float]:
    """Each mode's median, lowest and highest of three runs (``max_seconds`` in all), and its target."""
    figures: dict[str, float] = {}
    chosen = modes()
    per_run = max_seconds / (len(chosen) * RUNS)
    for mode in chosen:
        quote(mode.request, INSS_DEFAULT_PRODUCT)  # warm the caches a long-running process has warm
        runs = [_run(mode.request, max_quotes=mode.max_quotes, max_seconds=per_run) for _ in range(RUNS)]
        cpu = [r[0] for r in runs]
        figures[f"{mode.key}_quotes_per_cpu_second"] = statistics.median(cpu)
        figures[f"{mode.key}_quotes_per_cpu_second_min"] = min(cpu)
        figures[f"{mode.key}_quotes_per_cpu_second_max"] = max(cpu)
        figures[f"{mode.key}_quotes_per_wall_second"] = statistics.median(r[1] for r in runs)
        figures[f"{mode.key}_target"] = mode.target
    return figures


def lines(figures: dict[str, float]) -> list[tuple[str, str, str, bool]]:
    """(label, figure with its spread, target, met) for each mode."""
    out = []
    for mode in modes():
        value = figures[f"{mode.key}_quotes_per_cpu_second"]
        low = figures[f"{mode.key}_quotes_per_cpu_second_min"]
        high = figures[f"{mode.key}_quotes_per_cpu_second_max"]
        out.append(
            (
                mode.label,
                f"{value:,.0f} quotes/s (runs {low:,.0f}–{high:,.0f})",
                f">= {mode.target:,}",
                value >= mode.target,
            )
        )
    return out


def main() -> None:
    figures = measure()
    print(
        f"pricing: 84 installments x 4 options, one core (machine has {os.cpu_count()} cores); "
        f"CPU time, median of {RUNS} runs"
    )
    rows = lines(figures)
    label_width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    for label, value, target, met in rows:
        print(f"  {label:<{label_width}}  {value:<{value_width}}  target {target} — {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
