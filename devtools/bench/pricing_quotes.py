"""Quotes per second of the pricing engine on one core.

The request: 84 installments, 4 disbursement options (limit_days_to_disburse = 3), installment mode
at 1.66 % a month — the shape of a typical INSS quote. Also prints the two solved modes.
Loops are bounded by count and time. Run: python -m devtools.bench.pricing_quotes
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal

from domain.pricing.engine import QuoteRequest, quote
from domain.pricing.product import INSS_DEFAULT_PRODUCT

TARGET_QUOTES_PER_SECOND = 2000


def _rate(request: QuoteRequest, *, max_quotes: int, max_seconds: float) -> tuple[float, float, int]:
    quote(request, INSS_DEFAULT_PRODUCT)  # warm caches that a long-running process would have warm
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while count < max_quotes and time.perf_counter() - wall0 < max_seconds:
        quote(request, INSS_DEFAULT_PRODUCT)
        count += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return count / cpu, count / wall, count


def measure(max_seconds: float = 5.0) -> dict[str, float]:
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
    cpu, wall, _ = _rate(installment, max_quotes=20000, max_seconds=max_seconds)
    d_cpu, _, _ = _rate(disbursed, max_quotes=200, max_seconds=max_seconds / 2)
    r_cpu, _, _ = _rate(solved_rate, max_quotes=200, max_seconds=max_seconds / 2)
    return {
        "installment_mode_quotes_per_cpu_second": cpu,
        "installment_mode_quotes_per_wall_second": wall,
        "disbursed_mode_quotes_per_cpu_second": d_cpu,
        "rate_mode_quotes_per_cpu_second": r_cpu,
    }


def main() -> None:
    figures = measure()
    print(f"pricing: 84 installments x 4 options, one core (machine has {os.cpu_count()} cores)")
    print(
        f"  installment mode: {figures['installment_mode_quotes_per_cpu_second']:8.0f} quotes/s CPU "
        f"({figures['installment_mode_quotes_per_wall_second']:.0f}/s wall)  target >= {TARGET_QUOTES_PER_SECOND}"
    )
    print(
        f"  disbursed mode:   {figures['disbursed_mode_quotes_per_cpu_second']:8.1f} quotes/s CPU (issue amount solved)"
    )
    print(f"  rate mode:        {figures['rate_mode_quotes_per_cpu_second']:8.1f} quotes/s CPU (rate solved)")


if __name__ == "__main__":
    main()
