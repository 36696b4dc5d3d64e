"""The operator's seal, read back: a command's ``verified_operator`` comes from it and from nothing else.

The codec server seals the verified operator's name into the metadata of each payload it encodes for
them, inside the encryption (``runtime.codec.aes``); the worker's codec decrypts it with the payload.
This payload converter then sets the field ``verified_operator`` of every model that has one to what
the seal says, or to None without a seal — whatever the caller wrote in the field itself. So a loan
records who acted as the codec server verified it, never as the caller claimed.

Kept free of our other modules (the workflow sandbox imports the converter class) and of the codec's
cryptography.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import CompositePayloadConverter, DefaultPayloadConverter, JSONPlainPayloadConverter

OPERATOR_SEAL = "consignado-operator"
"""Metadata of the payload inside the encryption: the operator who wrote it, as JSON (name, subject, via, at)."""
FIELD = "verified_operator"


def sealed_operator(payload: Payload) -> dict[str, Any] | None:
    raw = payload.metadata.get(OPERATOR_SEAL)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def with_seal(value: Any, payload: Payload) -> Any:
    """``value`` with its ``verified_operator`` set from ``payload``'s seal (None without one)."""
    if not isinstance(value, BaseModel) or FIELD not in type(value).model_fields:
        return value
    seal = sealed_operator(payload)
    annotation: Any = type(value).model_fields[FIELD].annotation
    operator = None
    if seal is not None and annotation is not None:
        try:
            operator = _adapter(annotation).validate_python(seal)
        except ValidationError:
            operator = None
    if getattr(value, FIELD) == operator:
        return value
    return value.model_copy(update={FIELD: operator})


@functools.lru_cache(maxsize=16)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


# One JSON converter for every instance. The SDK builds a payload converter for each workflow it
# runs (each loan in the sticky cache keeps its own), and pydantic's keeps a private cache of type
# adapters and a serializer: shared, a cached loan holds none of them, and a type's adapter is built
# once per process instead of once per loan. It has no other state (to_json is stateless; the
# cache's lru_cache is thread-safe), so the workflow threads can share it. Bounded: a worker's
# workflows use a few dozen types (the strict sandbox of the replay tests re-imports them per run).
_SHARED_JSON = PydanticJSONPlainPayloadConverter(max_cached_type_adapters=256)


class SealReadingPayloadConverter(PydanticPayloadConverter):
    """pydantic's payload converter, with ``verified_operator`` taken from the seal only."""

    def __init__(self) -> None:
        # PydanticPayloadConverter.__init__ would build a JSON converter of its own: the same
        # encoders in the same order, with the shared one in the plain JSON converter's place.
        CompositePayloadConverter.__init__(
            self,
            *(
                _SHARED_JSON if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            ),
        )

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        values = super().from_payloads(payloads, type_hints)
        return [with_seal(value, payload) for value, payload in zip(values, payloads, strict=False)]
