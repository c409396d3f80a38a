"""USGS M2M: login-token with a JSON body of named credential fields (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, SPECIAL_SECRET, Case, VectorFile


def files() -> Iterator[VectorFile]:
    base = {"profile": "usgs-m2m", "now": NOW}
    yield VectorFile(
        "usgs-m2m-login-token",
        [
            "USGS M2M login-token: POST a JSON object {username, token} (the application token), "
            "Content-Type application/json, no OAuth grant; the API key comes back in the envelope's data."
        ],
        "TokenRequestTest",
        None,
        [
            Case(
                "username and application token",
                {**base, "username": "m2mauth-test-user", "application_token": "m2mauth-test-application-token"},
                ["JsonLogin"],
            ),
            Case(
                "special characters are JSON-escaped, the body stays ASCII",
                {**base, "username": "m2m test:user", "application_token": SPECIAL_SECRET + '"\\'},
                ["JsonLogin", "SpecialCharacters"],
            ),
            Case(
                "password is refused: the password login was retired",
                {**base, "username": "m2mauth-test-user", "password": "m2mauth-test-password"},
                ["JsonLogin", "RetiredCredential"],
                expect_error="password_login_retired",
            ),
        ],
    )
