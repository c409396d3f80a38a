"""RFC 8693 token exchange (generic profile): each client authentication method, the optional
fields, and a JWT subject token whose exp has passed (refused before anything is sent)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from .common import HMAC_SECRET, NOW, SPECIAL_SECRET, Case, VectorFile, key_ref

TOKEN_URL = "https://auth.example.org/oauth/token"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def subject_jwt(exp: int) -> str:
    """A JWT-shaped test subject token; only its exp matters to the client (the signature is a label)."""
    claims = {"iss": "https://idp.example.org", "sub": "m2mauth-test-user", "exp": exp}
    return f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment(claims)}.bTJtYXV0aC10ZXN0LXNpZ25hdHVyZQ"


def files() -> Iterator[VectorFile]:
    base = {
        "profile": "generic",
        "now": NOW,
        "token_url": TOKEN_URL,
        "client_id": "m2mauth-test-exchanger",
        "subject_token": "m2mauth-test-subject-token",
    }
    yield VectorFile(
        "generic-token-exchange",
        [
            "RFC 8693 §2.1 token exchange with client_secret_basic, client_secret_post and private_key_jwt",
            "(client_secret_jwt: generic-token-exchange-client-secret-jwt), the optional resource, audience,",
            "requested_token_type and scope, a public client, and an expired JWT subject token.",
        ],
        "TokenRequestTest",
        "rsa",
        [
            Case(
                "client_secret_basic, audience",
                {**base, "client_secret": SPECIAL_SECRET, "auth_method": "client_secret_basic",
                 "audience": "m2mauth-test-target"},
                ["TokenExchangeGrant", "ClientSecretBasic", "BasicRfcEncoding", "SpecialCharacters"],
            ),
            Case(
                "client_secret_post, every optional field",
                {**base, "client_secret": "m2mauth-test-secret", "auth_method": "client_secret_post",
                 "resource": "https://api.example.org/eo", "audience": "m2mauth-test-target",
                 "requested_token_type": REFRESH_TOKEN_TYPE, "scope": "openid profile"},
                ["TokenExchangeGrant", "ClientSecretPost"],
            ),
            Case(
                "private_key_jwt",
                {**base, "private_key": key_ref("rsa"), "key_id": "m2mauth-test-rsa",
                 "auth_method": "private_key_jwt", "audience": "m2mauth-test-target",
                 "jti": "m2mauth-test-jti-exchange-2"},
                ["TokenExchangeGrant", "ClientAssertion", "KeyId"],
            ),
            Case(
                "public client: no client authentication",
                {"profile": "generic", "now": NOW, "token_url": TOKEN_URL, "subject_token": "m2mauth-test-subject"},
                ["TokenExchangeGrant"],
            ),
            Case(
                "a JWT subject token whose exp has passed",
                {**base, "client_secret": "m2mauth-test-secret", "subject_token": subject_jwt(NOW)},
                ["TokenExchangeGrant", "SubjectTokenExpired"],
                expect_error="subject_token_expired",
            ),
        ],
    )
    yield VectorFile(
        "generic-token-exchange-client-secret-jwt",
        [
            "RFC 8693 §2.1 token exchange with client_secret_jwt: an HS256 client assertion signed with the",
            "client secret (the group key is that secret, the HMAC test key), and a JWT subject token still valid.",
        ],
        "TokenRequestTest",
        "hmac",
        [
            Case(
                "client_secret_jwt, a JWT subject token still valid",
                {**base, "client_secret": HMAC_SECRET, "auth_method": "client_secret_jwt",
                 "subject_token": subject_jwt(NOW + 600), "subject_token_type": JWT_TOKEN_TYPE,
                 "jti": "m2mauth-test-jti-exchange-1"},
                ["TokenExchangeGrant", "ClientAssertion"],
            ),
        ],
    )
