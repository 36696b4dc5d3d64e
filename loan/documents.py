"""Fetching a loan's documents and checking them before the provider sees them (seed 001 §5:
JPEG, at least 250 x 250 px; the provider cancels permanently what it rejects after signing)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
from PIL import Image, UnidentifiedImageError

from domain.loan import DocumentRef

MIN_SIDE = 250
MAX_BYTES = 10 * 1024 * 1024


class DocumentUnusable(Exception):
    """A document we must not send: unreachable for good, not a JPEG, or too small."""


class DocumentUnavailable(Exception):
    """A document we could not fetch this time (network): worth retrying."""


async def fetch(ref: DocumentRef, http: httpx.AsyncClient) -> bytes:
    parsed = urlparse(ref.uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError:
            raise DocumentUnusable(f"{ref.uri} cannot be read") from None
    else:
        try:
            response = await http.get(ref.uri)
        except httpx.HTTPError as error:
            raise DocumentUnavailable(f"cannot fetch {ref.uri}: {type(error).__name__}") from None
        if response.status_code in (404, 410):
            raise DocumentUnusable(f"{ref.uri} answered {response.status_code}")
        if response.status_code >= 300:
            raise DocumentUnavailable(f"{ref.uri} answered {response.status_code}")
        content = response.content
    if len(content) > MAX_BYTES:
        raise DocumentUnusable(f"{ref.uri} has {len(content)} bytes, more than {MAX_BYTES}")
    return content


def check_jpeg(content: bytes, role: str) -> None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError):
        raise DocumentUnusable(f"{role} is not an image") from None
    if kind != "JPEG":
        raise DocumentUnusable(f"{role} is {kind}, the provider accepts only JPEG")
    if min(width, height) < MIN_SIDE:
        raise DocumentUnusable(f"{role} is {width}x{height}, the provider needs at least {MIN_SIDE}x{MIN_SIDE}")


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
