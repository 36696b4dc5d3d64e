"""What the service refuses before the provider sees it, each refusal naming its rule: identity
documents (JPEG, at least 250 x 250, at most 2 MB — seed 001 §5 and the provider's published
formalization page) and the IN100 authorization term (a PDF/A of at most 2 MB — seed 000); and
documents are fetched only from the stores the deployment configures."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx
import pytest
from PIL import Image
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentSettings, DocumentUnavailable, DocumentUnusable, check_jpeg, check_pdfa, fetch
from activities.qitech.adapter import LoanActivities
from activities.qitech.client import ProviderClient
from activities.qitech.mapping import LenderTerms
from devtools.devstack.samples import pdfa
from domain.loan import DocumentRef, Documents
from domain.pricing.product import INSS_DEFAULT_PRODUCT
from tests.conftest import lender_credentials
from tests.support.data import jpeg, png
from workflows.loan.activity_models import DocumentsInput
from workflows.loan.port import INVALID_DOCUMENT


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


# ---------------------------------------------------------------- where documents may come from

CPF_IN_PATH = "52998224725"


@pytest.fixture
def production_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DOCUMENTS_* in the environment: what a deployment gets when it configures nothing."""
    for name in ("DOCUMENTS_ALLOWED_SCHEMES", "DOCUMENTS_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


class Store:
    """An HTTP document store that records every request it receives."""

    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or httpx.Response(200, content=jpeg())

    def client(self) -> httpx.AsyncClient:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return self.answer

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def _ref(uri: str) -> DocumentRef:
    return DocumentRef(uri=uri)


async def test_by_default_a_local_file_is_not_read(production_defaults: None, tmp_path: Path) -> None:
    secret = tmp_path / CPF_IN_PATH / "selfie.jpg"
    secret.parent.mkdir()
    secret.write_bytes(jpeg())
    with pytest.raises(DocumentUnusable) as refused:
        await fetch(_ref(secret.as_uri()), Store().client(), field="selfie")
    message = str(refused.value)
    assert message.startswith("selfie: ") and "file://" in message
    assert CPF_IN_PATH not in message and str(tmp_path) not in message


async def test_by_default_no_host_is_a_document_store(production_defaults: None) -> None:
    store = Store()
    uri = f"https://docs.lender.example/{CPF_IN_PATH}/maria-da-silva.jpg?name=Maria"
    with pytest.raises(DocumentUnusable) as refused:
        await fetch(_ref(uri), store.client(), field="identity_front")
    assert store.requests == []
    message = str(refused.value)
    assert message.startswith("identity_front: ") and "DOCUMENTS_ALLOWED_HOSTS" in message
    assert CPF_IN_PATH not in message and "maria" not in message.lower() and "docs.lender" not in message


async def test_a_configured_host_is_fetched_and_only_on_its_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCUMENTS_ALLOWED_SCHEMES", raising=False)
    monkeypatch.setenv("DOCUMENTS_ALLOWED_HOSTS", "docs.lender.example, store.internal:8443")
    store = Store()
    content = await fetch(_ref("https://Docs.Lender.Example/a/selfie.jpg"), store.client(), field="selfie")
    assert content == jpeg()
    assert await fetch(_ref("https://store.internal:8443/b.jpg"), store.client()) == jpeg()
    assert [str(r.url) for r in store.requests] == [
        "https://docs.lender.example/a/selfie.jpg",
        "https://store.internal:8443/b.jpg",
    ]
    refused = [
        "https://docs.lender.example:8080/admin",  # another port of an allowed host
        "https://store.internal/b.jpg",  # the allowed host's default port was not allowed
        "http://docs.lender.example/a.jpg",  # http is not an allowed scheme
        "https://docs.lender.example.attacker.example/a.jpg",
        "https://docs.lender.example@169.254.169.254/latest/meta-data",  # userinfo, not the host
    ]
    for uri in refused:
        with pytest.raises(DocumentUnusable):
            await fetch(_ref(uri), store.client())
    assert len(store.requests) == 2


async def test_a_redirect_from_an_allowed_store_is_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCUMENTS_ALLOWED_HOSTS", "docs.lender.example")
    store = Store(httpx.Response(302, headers={"location": "http://127.0.0.1:8092/decode"}))
    client = store.client()
    client.follow_redirects = True  # even a client that would follow them
    with pytest.raises(DocumentUnavailable, match="answered 302"):
        await fetch(_ref("https://docs.lender.example/a.jpg"), client, field="selfie")
    assert [r.url.host for r in store.requests] == ["docs.lender.example"]


async def test_local_files_are_read_only_where_explicitly_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCUMENTS_ALLOWED_SCHEMES", "https,file")
    path = tmp_path / "a b.jpg"
    path.write_bytes(jpeg(260, 260))
    assert await fetch(_ref(path.as_uri()), Store().client()) == jpeg(260, 260)
    with pytest.raises(DocumentUnusable, match="must name no host"):
        await fetch(_ref(f"file://fileserver{path}"), Store().client())
    settings = DocumentSettings(allowed_schemes=frozenset({"https"}))
    with pytest.raises(DocumentUnusable, match="not fetched from file://"):
        await fetch(_ref(path.as_uri()), Store().client(), settings=settings)


async def test_a_refused_document_fails_the_activity_as_an_unusable_document(production_defaults: None) -> None:
    def no_provider_call(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the provider was called: {request.url}")

    provider = ProviderClient(
        "https://provider.example",
        lender_credentials(),
        transport=httpx.MockTransport(no_provider_call),
    )
    store = Store()
    activities = LoanActivities(
        provider,
        claimer=None,  # type: ignore[arg-type]  # attach_documents claims no key
        lender=LenderTerms(purchaser_cnpj="32402502000135"),
        product=INSS_DEFAULT_PRODUCT,
        http=store.client(),
    )
    front = f"https://docs.lender.example/{CPF_IN_PATH}/front.jpg"
    documents = Documents.model_validate(
        {
            "identity_front": {"uri": front},
            "identity_back": {"uri": "https://docs.lender.example/back.jpg"},
            "selfie": {"uri": "https://docs.lender.example/selfie.jpg"},
        }
    )
    attachment = DocumentsInput(request_key="loan-key-0001", debt_key="d", related_party_key="r", documents=documents)
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(activities.attach_documents, attachment)
    assert failed.value.type == INVALID_DOCUMENT and failed.value.non_retryable
    assert "DOCUMENTS_ALLOWED_HOSTS" in failed.value.message and CPF_IN_PATH not in failed.value.message
    assert store.requests == []
