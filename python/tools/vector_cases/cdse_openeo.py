"""CDSE openEO: the refresh and device grants of the public client."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, Case, VectorFile


def files() -> Iterator[VectorFile]:
    base = {"now": NOW}
    cd = {"profile": "cdse-openeo", **base, "client_id": "m2mauth-test-cdse-client"}
    yield VectorFile(
        "cdse-openeo",
        ["CDSE openEO (Keycloak): client credentials, and refresh of a stored refresh token."],
        "TokenRequestTest",
        None,
        [
            Case(
                "client credentials",
                {**cd, "client_secret": "m2mauth-test-cdse-secret"},
                ["ClientCredentialsGrant", "ClientSecretBasic"],
            ),
            Case(
                "client credentials in the body",
                {**cd, "client_secret": "m2mauth-test-cdse-secret", "auth_method": "client_secret_post"},
                ["ClientCredentialsGrant", "ClientSecretPost"],
            ),
            Case(
                "refresh token of a public client",
                {**cd, "refresh_token": "m2mauth-test-cdse-refresh"},
                ["RefreshTokenGrant"],
            ),
        ],
    )
