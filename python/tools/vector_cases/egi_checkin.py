"""EGI Check-in: client credentials with its four client authentication methods, the refresh
grant (client secret, scope openid) and RFC 8693 token exchange with each method."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .common import HMAC_SECRET, NOW, Case, VectorFile, key_ref

SECRET = "m2mauth-test-egi-secret"
EXCHANGE = {"subject_token": "m2mauth-test-egi-subject", "audience": "m2mauth-test-egi-target"}


def _cases(egi: dict[str, Any], methods: list[tuple[str, dict[str, Any], list[str]]]) -> list[Case]:
    cases = [
        Case(
            f"client credentials, {method}",
            {**egi, **given, "auth_method": method,
             "flow": "private_key_jwt" if method == "private_key_jwt" else "client_credentials"},
            ["ClientCredentialsGrant", *flags],
        )
        for method, given, flags in methods
    ]
    return cases + [
        Case(
            f"token exchange, {method}",
            {**egi, **given, **EXCHANGE, "auth_method": method},
            ["TokenExchangeGrant", *flags],
        )
        for method, given, flags in methods
    ]


def files() -> Iterator[VectorFile]:
    egi = {"profile": "egi-checkin", "now": NOW, "client_id": "m2mauth-test-egi-client"}
    cases = _cases(
        egi,
        [
            ("client_secret_basic", {"client_secret": SECRET}, ["ClientSecretBasic"]),
            ("client_secret_post", {"client_secret": SECRET}, ["ClientSecretPost"]),
            (
                "private_key_jwt",
                {"private_key": key_ref("rsa"), "key_id": "m2mauth-test-rsa", "jti": "m2mauth-test-egi-jti-2"},
                ["ClientAssertion", "KeyId"],
            ),
        ],
    )
    cases.append(
        Case(
            "refresh token: the client secret as Basic and the default scope openid",
            {**egi, "client_secret": SECRET, "refresh_token": "m2mauth-test-egi-refresh"},
            ["RefreshTokenGrant", "ClientSecretBasic"],
        )
    )
    yield VectorFile(
        "egi-checkin",
        [
            "EGI Check-in (Keycloak realm egi): client credentials and token exchange with client_secret_basic,",
            "client_secret_post and private_key_jwt (client_secret_jwt: egi-checkin-client-secret-jwt), and the",
            "refresh grant with its required scope openid.",
        ],
        "TokenRequestTest",
        "rsa",
        cases,
    )
    yield VectorFile(
        "egi-checkin-client-secret-jwt",
        [
            "EGI Check-in client credentials and token exchange with client_secret_jwt: HS256 client assertions",
            "signed with the client secret (the group key is that secret, the HMAC test key).",
        ],
        "TokenRequestTest",
        "hmac",
        _cases(
            egi,
            [("client_secret_jwt", {"client_secret": HMAC_SECRET, "jti": "m2mauth-test-egi-jti-1"},
              ["ClientAssertion"])],
        ),
    )
