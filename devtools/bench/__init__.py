"""Benchmarks: each prints figures; none asserts a wall-clock limit (shared, noisy machines)."""
