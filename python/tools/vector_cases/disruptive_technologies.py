"""Disruptive Technologies: HS256 JWT grants with a kid, and their checks."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, Case, VectorFile, key_ref


def files() -> Iterator[VectorFile]:
    dt_url = "https://identity.disruptive-technologies.com/oauth2/token"
    base = {"now": NOW}
    dt = {
        "profile": "disruptive-technologies",
        **base,
        "key_id": "m2mauth-test-dt-key",
        "secret": key_ref("hmac"),
        "email": "m2mauth-test@example.serviceaccount.d21s.com",
    }
    yield VectorFile(
        "disruptive-technologies-jwt-bearer",
        ["Disruptive Technologies: an HS256 grant with the key id in the header, POSTed form-encoded."],
        "TokenRequestTest",
        "hmac",
        [
            Case("service account key", dict(dt), ["JwtBearerGrant", "KeyId"]),
            Case("a 30-minute grant", {**dt, "lifetime": 1800}, ["JwtBearerGrant", "KeyId"]),
            Case(
                "RS256 asked of the HMAC secret",
                {**dt, "alg": "RS256"},
                ["KeyAlgorithmMismatch"],
                expect_error="key_algorithm_mismatch",
            ),
            Case(
                "exp more than 3600 s after iat",
                {**dt, "lifetime": 3700, "max_lifetime": 3600},
                ["LifetimeCap"],
                expect_error="lifetime_exceeded",
            ),
            Case(
                "no email",
                {**{k: v for k, v in dt.items() if k != "email"}, "flow": "service_account", "missing": ["email"]},
                ["MissingCredential"],
                expect_error="missing_credential",
            ),
        ],
    )
    yield VectorFile(
        "disruptive-technologies-grant-checks",
        ["Disruptive Technologies grants that inspect() must flag."],
        "JwsTest",
        "hmac",
        [
            Case(
                "aud is the API, not the token endpoint",
                {
                    "profile": "disruptive-technologies",
                    **base,
                    "alg": "HS256",
                    "lifetime": 3600,
                    "iss": "m2mauth-test@example.serviceaccount.d21s.com",
                    "aud": "https://api.disruptive-technologies.com/v2",
                    "token_url": dt_url,
                },
                ["AudienceMismatch"],
                inspect_error="audience_mismatch",
            ),
        ],
    )
