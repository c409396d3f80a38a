"""Sentinel Hub (commercial): client credentials of a dashboard OAuth client."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, SPECIAL_SECRET, Case, VectorFile


def files() -> Iterator[VectorFile]:
    hub = {"profile": "sentinel-hub", "now": NOW, "client_id": "sh-m2mauth-test-client"}
    yield VectorFile(
        "sentinel-hub",
        [
            "Sentinel Hub (Keycloak realm main): client_credentials with the secret in the form body, as "
            "sentinelhub-py sends it (the default), or by HTTP Basic."
        ],
        "TokenRequestTest",
        None,
        [
            Case(
                "secret in the body",
                {**hub, "client_secret": "m2mauth-test-sh-secret"},
                ["ClientCredentialsGrant", "ClientSecretPost"],
            ),
            Case(
                "HTTP Basic",
                {**hub, "client_secret": "m2mauth-test-sh-secret", "auth_method": "client_secret_basic"},
                ["ClientCredentialsGrant", "ClientSecretBasic", "BasicRfcEncoding"],
            ),
            Case(
                "HTTP Basic with a secret of special characters",
                {**hub, "client_secret": SPECIAL_SECRET, "auth_method": "client_secret_basic"},
                ["ClientCredentialsGrant", "ClientSecretBasic", "BasicRfcEncoding", "SpecialCharacters"],
            ),
        ],
    )
