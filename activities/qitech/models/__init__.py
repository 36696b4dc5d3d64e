"""pydantic v2 models for every request, response and webhook body of the provider (seeds 001-004)."""
