"""An OIDC issuer over real HTTP (discovery document and JWKS) that signs operators' access tokens."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from tests.support.servers import ThreadedServer, free_port

ISSUER_PATH = "/realms/operators"
AUDIENCE = "temporal-web"
READERS = "consignado-pii-readers"
OPERATORS = "consignado-operators"


class FakeIssuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{ISSUER_PATH}"
        self.jwks_requests = 0
        app = FastAPI()
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))

        @app.get(f"{ISSUER_PATH}/.well-known/openid-configuration")
        def discovery() -> dict[str, str]:
            return {"issuer": self.url, "jwks_uri": f"{self.url}/keys"}

        @app.get(f"{ISSUER_PATH}/keys")
        def keys() -> dict[str, Any]:
            self.jwks_requests += 1
            return {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}

        self.server = ThreadedServer(app, self.port)

    def token(self, *, key: Any = None, algorithm: str = "RS256", **claims: Any) -> str:
        """A token for ``operator-42`` (``ana``), a reader; claims given replace those (None removes one)."""
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "operator-42",
            "preferred_username": "ana",
            "groups": [READERS],
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key if key is not None else self.key, algorithm=algorithm, headers={"kid": "k1"})

    def operator(self, username: str, subject: str, *, groups: tuple[str, ...] = (READERS, OPERATORS)) -> str:
        """A signed-in operator's access token, in the groups given (both by default)."""
        return self.token(sub=subject, preferred_username=username, groups=list(groups), exp=int(time.time()) + 3600)
