"""``python -m runtime.codec``: run the codec server (CODEC_* variables; see codec.settings.CodecSettings)."""

from collections.abc import Callable

import uvicorn

from domain.documents import keyed_hash, normalize_cpf
from runtime.codec.oidc import AccessTokenVerifier
from runtime.codec.server import create_app
from runtime.codec.settings import CodecSettings
from runtime.settings import PiiSettings
from runtime.telemetry import setup_logging


def cpf_hasher(pii: PiiSettings) -> Callable[[str], str] | None:
    """The keyed hash operators find loans by (BorrowerCpfHash), computed here so they need no PII_HASH_KEY."""
    key = pii.hash_key.get_secret_value().encode()
    if not key:
        return None
    return lambda cpf: keyed_hash(normalize_cpf(cpf), key)


def main() -> None:
    setup_logging("codec")
    settings = CodecSettings()
    oidc = None
    if settings.server_oidc_issuer and settings.server_oidc_audience:
        oidc = AccessTokenVerifier(
            settings.server_oidc_issuer, settings.server_oidc_audience, jwks_url=settings.server_oidc_jwks_url
        )
    app = create_app(
        # It shows payloads as they are, clear ones too: decoding for display trusts nothing.
        settings.codec(require_encrypted=False),
        token=settings.server_token_value(),
        ui_origins=settings.origins(),
        allow_path_token=settings.path_token_allowed(),
        oidc=oidc,
        groups=settings.operator_groups(),
        name_claim=settings.server_oidc_name_claim,
        cpf_hash=cpf_hasher(PiiSettings()),
    )
    uvicorn.run(app, host=settings.server_host, port=settings.server_port, log_level="warning", log_config=None)


if __name__ == "__main__":
    main()
