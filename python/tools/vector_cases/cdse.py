"""CDSE data access: the password grant of the public client cdse-public (with and without a
two-factor code), its refresh, and Sentinel Hub dashboard clients (secret in the body or Basic)."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, Case, VectorFile

USER = {"username": "m2mauth-test@example.org", "password": "m2mauth test password"}
DASHBOARD = {"client_id": "sh-m2mauth-test-client", "client_secret": "m2mauth-test-sh-secret"}


def files() -> Iterator[VectorFile]:
    cdse = {"profile": "cdse", "now": NOW}
    yield VectorFile(
        "cdse",
        [
            "Copernicus Data Space Ecosystem (Keycloak realm CDSE): the password grant of the public client "
            "cdse-public, with the current one-time code as the form field totp for two-factor accounts; the "
            "refresh of its refresh token; Sentinel Hub dashboard clients by client_secret_post (the default, "
            "as the documentation's cURL example) and client_secret_basic."
        ],
        "TokenRequestTest",
        None,
        [
            Case("password grant of cdse-public", {**cdse, **USER}, ["PasswordGrant", "PublicClient"]),
            Case(
                "password grant with a one-time code (two-factor account)",
                {**cdse, **USER, "totp": "123456"},
                ["PasswordGrant", "PublicClient", "OneTimeCode"],
            ),
            Case(
                "refresh of the password grant's refresh token",
                {**cdse, "refresh_token": "m2mauth-test-cdse-refresh"},
                ["RefreshTokenGrant", "PublicClient"],
            ),
            Case(
                "dashboard client, secret in the body",
                {**cdse, **DASHBOARD},
                ["ClientCredentialsGrant", "ClientSecretPost"],
            ),
            Case(
                "dashboard client, HTTP Basic",
                {**cdse, **DASHBOARD, "auth_method": "client_secret_basic"},
                ["ClientCredentialsGrant", "ClientSecretBasic"],
            ),
            Case(
                "a username without a password",
                {**cdse, "username": USER["username"], "missing": "password"},
                ["PasswordGrant", "MissingCredential"],
                expect_error="missing_credential",
            ),
        ],
    )
