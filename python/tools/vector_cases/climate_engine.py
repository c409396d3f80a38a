"""Climate Engine: password and client-credential grants, client_secret_jwt."""

from __future__ import annotations

from collections.abc import Iterator

from .common import CE_SECRET, NOW, Case, VectorFile


def files() -> Iterator[VectorFile]:
    base = {"now": NOW}
    ce = {
        "profile": "climate-engine",
        **base,
        "client_id": "m2mauth-test-ce-client",
        "client_secret": CE_SECRET,
        "jti": "m2mauth-test-jti-0002",
    }
    yield VectorFile(
        "climate-engine",
        [
            "Climate Engine: password grant; client_credentials with client_secret_basic, "
            "client_secret_post and client_secret_jwt (HS256 client assertion)."
        ],
        "TokenRequestTest",
        None,
        [
            Case(
                "password grant",
                {
                    "profile": "climate-engine",
                    **base,
                    "username": "m2mauth-test@example.org",
                    "password": "m2mauth test password",
                },
                ["PasswordGrant"],
            ),
            Case(
                "client_secret_basic",
                {**ce, "auth_method": "client_secret_basic"},
                ["ClientCredentialsGrant", "ClientSecretBasic"],
            ),
            Case(
                "client_secret_post",
                {**ce, "auth_method": "client_secret_post"},
                ["ClientCredentialsGrant", "ClientSecretPost"],
            ),
        ],
    )
    yield VectorFile(
        "climate-engine-client-secret-jwt",
        [
            "Climate Engine client_credentials with client_secret_jwt: an HS256 client assertion signed with the "
            "client secret (the group key is that secret as an oct JWK)."
        ],
        "TokenRequestTest",
        "ce_secret",
        [
            Case(
                "client_secret_jwt",
                {**ce, "auth_method": "client_secret_jwt"},
                ["ClientCredentialsGrant", "ClientAssertion"],
            ),
        ],
    )
