"""NASA Earthdata Login: find_or_create_token with HTTP Basic and no body (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, SPECIAL_SECRET, Case, VectorFile


def files() -> Iterator[VectorFile]:
    base = {"profile": "earthdata", "now": NOW}
    yield VectorFile(
        "earthdata-find-or-create-token",
        [
            "NASA Earthdata Login find_or_create_token: POST with Authorization: Basic base64(username:password) "
            "(RFC 7617, UTF-8, nothing percent-encoded) and no body."
        ],
        "TokenRequestTest",
        None,
        [
            Case(
                "username and password",
                {**base, "username": "m2mauth-test-user", "password": "m2mauth-test-password"},
                ["BasicLogin"],
            ),
            Case(
                "special characters in the password are sent as UTF-8",
                {**base, "username": "m2mauth-test-user", "password": SPECIAL_SECRET},
                ["BasicLogin", "SpecialCharacters"],
            ),
            Case(
                "a username with ':' cannot be sent in HTTP Basic",
                {**base, "username": "m2m:user", "password": "m2mauth-test-password"},
                ["BasicLogin", "MissingCredential"],
                expect_error="invalid_credential",
            ),
        ],
    )
