"""Fetching a loan's documents and checking them before the provider sees them.

Identity documents and selfie: JPEG, at least 250 x 250 px (seed 001 §5), at most 2 MB (the
provider's published formalization page, docs.qitech.com.br/documentation/guides/INSS/
new-credit-and-refinancing/formalizacao); it cancels permanently what it rejects after signing.
The IN100 authorization term: a PDF/A of at most 2 MB (seed 000: Dataprev's attachment rules).

A document's URI comes from the borrower's request, so the worker fetches only from the stores the
deployment names (``DocumentSettings``): https and no host unless configured; ``file://`` only where
it is explicitly allowed (the local stack and the tests). Otherwise a request could make the worker
read its own files or call internal services. Messages name the field, never the URI (its path or
query may carry a CPF or a name).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from pathlib import Path
from typing import Annotated, Any

import httpx
from PIL import Image, UnidentifiedImageError
from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.loan import DocumentRef

MIN_SIDE = 250
MAX_BYTES = 2 * 1024 * 1024
FETCH_LIMIT = 10 * 1024 * 1024  # read at most this much of a document (then refuse it)


class DocumentUnusable(Exception):
    """A document we must not send: unreachable for good, not a JPEG, or too small."""


class DocumentUnavailable(Exception):
    """A document we could not fetch this time (network): worth retrying."""


class DocumentSettings(BaseSettings):
    """Where documents may be fetched from. Comma-separated in the environment:
    ``DOCUMENTS_ALLOWED_SCHEMES=https`` (``file`` only for a local store: the dev stack, tests),
    ``DOCUMENTS_ALLOWED_HOSTS=docs.lender.example,store.internal:8443`` (a host without a port
    allows only its scheme's default port)."""

    model_config = SettingsConfigDict(env_prefix="DOCUMENTS_")

    allowed_schemes: Annotated[frozenset[str], NoDecode] = frozenset({"https"})
    allowed_hosts: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("allowed_schemes", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    def stores(self) -> frozenset[tuple[str, int | None]]:
        """The allowed hosts as httpx normalises them (lower case, IDNA, default port as None), so
        the host checked is the host the request goes to."""
        found = set()
        for entry in self.allowed_hosts:
            url = httpx.URL(f"https://{entry}")
            found.add((url.host, url.port))
        return frozenset(found)


def source(ref: DocumentRef, field: str, settings: DocumentSettings) -> httpx.URL:
    """The URL to fetch ``ref`` from, if it is in a configured store; DocumentUnusable otherwise."""
    try:
        url = httpx.URL(ref.uri)
    except httpx.InvalidURL:
        raise DocumentUnusable(f"{field}: not a valid URI") from None
    # The scheme is one of file/http/https (DocumentRef's pattern): safe to name, unlike the rest.
    if url.scheme not in settings.allowed_schemes:
        allowed = ", ".join(sorted(settings.allowed_schemes)) or "none"
        raise DocumentUnusable(f"{field}: documents are not fetched from {url.scheme}:// URIs (allowed: {allowed})")
    if url.scheme == "file":
        # A local store only: file://host/... would be a network share.
        if url.host not in ("", "localhost"):
            raise DocumentUnusable(f"{field}: a file:// URI must name no host")
        return url
    if (url.host, url.port) not in settings.stores():
        raise DocumentUnusable(f"{field}: its host is not a configured document store (DOCUMENTS_ALLOWED_HOSTS)")
    return url


async def fetch(
    ref: DocumentRef, http: httpx.AsyncClient, *, field: str = "document", settings: DocumentSettings | None = None
) -> bytes:
    """The document's bytes, from a configured store only (``field`` names it in every refusal)."""
    url = source(ref, field, settings or DocumentSettings())
    if url.scheme == "file":
        try:
            content = await asyncio.to_thread(Path(url.path).read_bytes)
        except OSError:
            raise DocumentUnusable(f"{field}: cannot be read from the document store") from None
    else:
        try:
            # Never a redirect: it could lead off the allowed hosts.
            response = await http.get(url, follow_redirects=False)
        except httpx.HTTPError as error:
            raise DocumentUnavailable(f"{field}: cannot fetch it: {type(error).__name__}") from None
        if response.status_code in (404, 410):
            raise DocumentUnusable(f"{field}: the document store answered {response.status_code}")
        if response.status_code >= 300:
            raise DocumentUnavailable(f"{field}: the document store answered {response.status_code}")
        content = response.content
    if len(content) > FETCH_LIMIT:
        raise DocumentUnusable(f"{field}: has {len(content)} bytes, more than {FETCH_LIMIT}")
    return content


def check_size(content: bytes, role: str) -> None:
    if len(content) > MAX_BYTES:
        raise DocumentUnusable(f"{role} has {len(content)} bytes: the limit is 2 MB ({MAX_BYTES} bytes)")


_PDFA_PART = re.compile(rb"pdfaid:part\s*(?:=\s*[\"']|>)\s*([1-4])")


def check_pdfa(content: bytes, role: str) -> None:
    """A PDF declaring PDF/A conformance in its XMP metadata (pdfaid:part 1-4), within 2 MB.

    The declaration is what Dataprev's intake reads; a full PDF/A validation (fonts embedded,
    no encryption, ...) is the producer's job (the term is generated by the lender's signing tool).
    """
    check_size(content, role)
    if not content.startswith(b"%PDF-"):
        raise DocumentUnusable(f"{role} is not a PDF (Dataprev takes the term as PDF/A)")
    if not _PDFA_PART.search(content):
        raise DocumentUnusable(f"{role} is a PDF but not a PDF/A: no pdfaid:part in its XMP metadata")


def check_jpeg(content: bytes, role: str) -> None:
    check_size(content, role)
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
