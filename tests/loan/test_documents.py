"""What the service refuses before the provider sees it, each refusal naming its rule: identity
documents (JPEG, at least 250 x 250, at most 2 MB — seed 001 §5 and the provider's published
formalization page) and the IN100 authorization term (a PDF/A of at most 2 MB — seed 000)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from devstack.samples import pdfa
from loan.documents import DocumentUnusable, check_jpeg, check_pdfa
from tests.support.data import jpeg, png


def test_a_jpeg_of_the_right_size_passes() -> None:
    check_jpeg(jpeg(300, 300), "selfie")


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (png(300, 300), "only JPEG"),
        (jpeg(200, 400), "at least 250x250"),
        (b"not an image", "not an image"),
    ],
)
def test_identity_documents_break_a_named_rule(content: bytes, rule: str) -> None:
    with pytest.raises(DocumentUnusable, match=rule):
        check_jpeg(content, "selfie")


def test_an_identity_document_over_2_mb_is_refused_before_it_is_read() -> None:
    noise = Image.frombytes("RGB", (1500, 1500), os.urandom(1500 * 1500 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG", quality=100)
    assert len(buffer.getvalue()) > 2 * 1024 * 1024
    with pytest.raises(DocumentUnusable, match="limit is 2 MB"):
        check_jpeg(buffer.getvalue(), "identity_front")


def test_the_term_as_pdfa_passes(tmp_path: Path) -> None:
    pdfa(tmp_path / "term.pdf")
    check_pdfa((tmp_path / "term.pdf").read_bytes(), "authorization_term")


def test_a_plain_pdf_is_not_a_pdfa(tmp_path: Path) -> None:
    pdfa(tmp_path / "term.pdf")
    plain = (tmp_path / "term.pdf").read_bytes().replace(b"pdfaid:part", b"dc:titlexx")
    with pytest.raises(DocumentUnusable, match="not a PDF/A"):
        check_pdfa(plain, "authorization_term")


def test_the_term_must_be_a_pdf_of_at_most_2_mb(tmp_path: Path) -> None:
    with pytest.raises(DocumentUnusable, match="not a PDF"):
        check_pdfa(jpeg(), "authorization_term")
    pdfa(tmp_path / "term.pdf")
    big = (tmp_path / "term.pdf").read_bytes() + b"%" + b"x" * (2 * 1024 * 1024)
    with pytest.raises(DocumentUnusable, match="limit is 2 MB"):
        check_pdfa(big, "authorization_term")
