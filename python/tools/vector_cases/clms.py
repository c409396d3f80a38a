"""CLMS: service-key RS256 JWT grants and the checks inspect() makes of them."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, Case, VectorFile, key_ref


def files() -> Iterator[VectorFile]:
    clms_url = "https://land.copernicus.eu/@@oauth2-token"
    base = {"now": NOW}
    yield VectorFile(
        "clms-jwt-bearer",
        ["CLMS: a service key signs an RS256 JWT grant (RFC 7523 §2.1), POSTed form-encoded."],
        "TokenRequestTest",
        "rsa",
        [
            Case(
                "service key as downloaded",
                {"profile": "clms", **base, "service_key": key_ref("service_key")},
                ["JwtBearerGrant"],
            ),
            Case(
                "one hour later",
                {"profile": "clms", "now": NOW + 3600, "service_key": key_ref("service_key")},
                ["JwtBearerGrant"],
            ),
            Case(
                "a shorter grant lifetime",
                {"profile": "clms", **base, "lifetime": 600, "service_key": key_ref("service_key")},
                ["JwtBearerGrant"],
            ),
            Case(
                "token_url overrides the service key's token_uri (a mirror or a test server)",
                {
                    "profile": "clms",
                    **base,
                    "token_url": "https://mirror.example.org/@@oauth2-token",
                    "service_key": key_ref("service_key"),
                },
                ["JwtBearerGrant"],
            ),
            Case(
                "HS256 asked of the RSA service key (the httr2 jwt_encode_hmac pitfall)",
                {"profile": "clms", **base, "alg": "HS256", "service_key": key_ref("service_key")},
                ["KeyAlgorithmMismatch"],
                expect_error="key_algorithm_mismatch",
            ),
            Case(
                "a grant lifetime over the one-hour cap",
                {
                    "profile": "clms",
                    **base,
                    "lifetime": 3601,
                    "max_lifetime": 3600,
                    "service_key": key_ref("service_key"),
                },
                ["LifetimeCap"],
                expect_error="lifetime_exceeded",
            ),
            Case(
                "no service key",
                {"profile": "clms", **base, "missing": ["service_key"]},
                ["MissingCredential"],
                expect_error="missing_credential",
            ),
        ],
    )
    yield VectorFile(
        "clms-grant-checks",
        ["CLMS grants that inspect() must flag; each is signed, the fault is in its claims."],
        "JwsTest",
        "rsa",
        [
            Case(
                "aud is not the token endpoint",
                {
                    "profile": "clms",
                    **base,
                    "alg": "RS256",
                    "lifetime": 3600,
                    "iss": "m2mauth-test-client-0f3a",
                    "sub": "m2mauth-test-user",
                    "aud": "https://land.copernicus.eu/",
                    "token_url": clms_url,
                },
                ["AudienceMismatch"],
                inspect_error="audience_mismatch",
            ),
            Case(
                "exp - iat is two hours",
                {
                    "profile": "clms",
                    **base,
                    "alg": "RS256",
                    "lifetime": 7200,
                    "max_lifetime": 3600,
                    "iss": "m2mauth-test-client-0f3a",
                    "sub": "m2mauth-test-user",
                    "aud": clms_url,
                },
                ["LifetimeCap"],
                inspect_error="lifetime_exceeded",
            ),
            Case(
                "no sub claim",
                {
                    "profile": "clms",
                    **base,
                    "alg": "RS256",
                    "lifetime": 3600,
                    "iss": "m2mauth-test-client-0f3a",
                    "aud": clms_url,
                    "required_claims": ["iss", "sub", "aud", "iat", "exp"],
                },
                ["MissingClaim"],
                inspect_error="missing_claim",
            ),
        ],
    )
