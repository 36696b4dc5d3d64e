"""How the sandbox refuses, as the provider does."""

from __future__ import annotations


class ProviderRefusal(Exception):
    """A 4xx answer in the provider's error shape (seed 003: title, description, code)."""

    def __init__(self, status: int, code: str, description: str, title: str = "Request Validator Error") -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.title = title
