"""The generic profile: JWT grants for every algorithm and every client authentication."""

from __future__ import annotations

from collections.abc import Iterator

from .common import NOW, SPECIAL_SECRET, Case, VectorFile, key_ref


def files() -> Iterator[VectorFile]:
    base = {"now": NOW}
    generic = {
        "profile": "generic",
        **base,
        "token_url": "https://auth.example.org/oauth/token",
        "client_id": "m2mauth-test-generic",
        "flow": "jwt_bearer",
    }
    algs = [("RS256", "rsa"), ("RS384", "rsa"), ("RS512", "rsa"), ("PS256", "rsa")]
    yield VectorFile(
        "generic-jwt-bearer-rsa",
        ["RFC 7523 §2.1 grants signed by the RSA test key with each RSA algorithm."],
        "TokenRequestTest",
        "rsa",
        [
            Case(
                f"{alg} grant",
                {**generic, "alg": alg, "private_key": key_ref(key)},
                ["JwtBearerGrant"] + (["VerifyOnly"] if alg.startswith("PS") else []),
            )
            for alg, key in algs
        ],
    )
    yield VectorFile(
        "generic-jwt-bearer-ec",
        ["RFC 7523 §2.1 grant signed ES256 by the EC P-256 test key (verify only)."],
        "TokenRequestTest",
        "ec",
        [
            Case(
                "ES256 grant",
                {**generic, "alg": "ES256", "private_key": key_ref("ec")},
                ["JwtBearerGrant", "VerifyOnly"],
            ),
            Case(
                "HS256 asked of the EC key",
                {**generic, "alg": "HS256", "private_key": key_ref("ec")},
                ["KeyAlgorithmMismatch"],
                expect_error="key_algorithm_mismatch",
            ),
        ],
    )
    yield VectorFile(
        "generic-jwt-bearer-hmac",
        ["RFC 7523 §2.1 grants signed by the HMAC test secret."],
        "TokenRequestTest",
        "hmac",
        [
            Case(f"{alg} grant", {**generic, "alg": alg, "secret": key_ref("hmac")}, ["JwtBearerGrant"])
            for alg in ("HS256", "HS384", "HS512")
        ],
    )
    yield VectorFile(
        "generic-client-auth",
        ["RFC 6749 client_credentials with every secret-based client authentication method."],
        "TokenRequestTest",
        None,
        [
            Case(
                "client_secret_basic, RFC encoding",
                {
                    "profile": "generic",
                    **base,
                    "token_url": "https://auth.example.org/oauth/token",
                    "client_id": "m2mauth-test-generic",
                    "client_secret": SPECIAL_SECRET,
                    "auth_method": "client_secret_basic",
                    "basic_encoding": "rfc",
                },
                ["ClientCredentialsGrant", "ClientSecretBasic", "BasicRfcEncoding", "SpecialCharacters"],
            ),
            Case(
                "client_secret_basic, raw encoding",
                {
                    "profile": "generic",
                    **base,
                    "token_url": "https://auth.example.org/oauth/token",
                    "client_id": "m2mauth-test-generic",
                    "client_secret": SPECIAL_SECRET,
                    "auth_method": "client_secret_basic",
                    "basic_encoding": "raw",
                },
                ["ClientCredentialsGrant", "ClientSecretBasic", "BasicRawEncoding", "SpecialCharacters"],
            ),
            Case(
                "client_secret_post with special characters",
                {
                    "profile": "generic",
                    **base,
                    "token_url": "https://auth.example.org/oauth/token",
                    "client_id": "m2mauth-test-generic",
                    "client_secret": SPECIAL_SECRET,
                    "auth_method": "client_secret_post",
                },
                ["ClientCredentialsGrant", "ClientSecretPost", "SpecialCharacters"],
            ),
            Case(
                "password grant with a public client",
                {
                    "profile": "generic",
                    **base,
                    "token_url": "https://auth.example.org/oauth/token",
                    "username": "m2mauth-test-user",
                    "password": SPECIAL_SECRET,
                },
                ["PasswordGrant", "SpecialCharacters"],
            ),
            Case(
                "refresh token grant with client_secret_post",
                {
                    "profile": "generic",
                    **base,
                    "token_url": "https://auth.example.org/oauth/token",
                    "client_id": "m2mauth-test-generic",
                    "client_secret": "m2mauth-test-secret",
                    "refresh_token": "m2mauth-test-refresh",
                    "auth_method": "client_secret_post",
                },
                ["RefreshTokenGrant", "ClientSecretPost"],
            ),
        ],
    )
