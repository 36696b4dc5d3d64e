"""Providers' product tables, refreshed on a Temporal Schedule into the store (not fetched per loan)."""
