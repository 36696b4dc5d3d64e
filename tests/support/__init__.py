"""Helpers shared by the test packages: real server processes, a webhook receiver, test data."""
