"""How the sandbox refuses, as the provider does."""

from __future__ import annotations

import simplejson
from fastapi.responses import Response
from pydantic import ValidationError

from devtools.sandbox.wire import json_response

SUSPENDED = {"code": "AM 303001", "description": "AM 303001 Runtime Error [State: SUSPENDED]"}
"""Seed 000's FAQ: the message Dataprev's e-Consignado answers while its service is suspended (the
lender waits 30 seconds and tries again); the sandbox answers it with an HTTP 500."""


class ProviderRefusal(Exception):
    """A 4xx answer in the provider's error shape (seed 003: title, description, code)."""

    def __init__(self, status: int, code: str, description: str, title: str = "Request Validator Error") -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.title = title

    def response(self) -> Response:
        detail = {
            "title": self.title,
            "description": self.description,
            "translation": "Payload Invalido" if self.status == 400 else self.title,
            "extra_fields": {},
            "code": self.code,
        }
        return json_response({"data": simplejson.dumps(detail, ensure_ascii=False), **detail}, self.status)


def validation_refusal(error: ValidationError) -> ProviderRefusal:
    """A body that does not read: ``LEG000041``, naming the first field at fault."""
    first = error.errors()[0]
    location = ".".join(str(p) for p in first["loc"])
    return ProviderRefusal(400, "LEG000041", f"{first['msg']} in {location}")
