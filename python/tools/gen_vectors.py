"""Regenerate spec/vectors/*.json from the core; with --check, fail when the committed files differ.

Each case below names a profile, a flow and credentials (keys by file under spec/keys/), a fixed
clock and jti. The core builds the request; the file records every stage (header JSON, claims
JSON, signing input, compact JWS, the token request) so another language can find where it
diverges. spec/vectors/published/ holds RFC vectors and is not generated here.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
sys.path.insert(0, str(ROOT / "python"))

import m2mauth  # noqa: E402
from m2mauth.assertions import make_assertion  # noqa: E402
from m2mauth.errors import ConfigError  # noqa: E402
from m2mauth.keys import Key, load_key, secret_key  # noqa: E402
from m2mauth.vectors import plan_for_vector, resolve_reference  # noqa: E402

NOW = 1767225600  # 2026-01-01T00:00:00Z
SPECIAL_SECRET = "s3:cr%t+é 🔑"
CE_SECRET = "m2mauth-test-ce-secret"

NOTES: dict[str, dict[str, str]] = {
    "JwtBearerGrant": {"description": "An RFC 7523 §2.1 JWT authorization grant.", "reference": "RFC 7523 §2.1"},
    "ClientAssertion": {
        "description": "Client authentication with a JWT (client_secret_jwt or private_key_jwt).",
        "reference": "RFC 7523 §2.2, OIDC Core §9",
    },
    "ClientSecretBasic": {"description": "HTTP Basic client authentication.", "reference": "RFC 6749 §2.3.1"},
    "BasicRfcEncoding": {
        "description": "Client id and secret form-encoded before base64, as RFC 6749 §2.3.1 says.",
        "reference": "RFC 6749 §2.3.1, Appendix B",
    },
    "BasicRawEncoding": {
        "description": "Client id and secret as plain UTF-8 before base64 (Authlib, requests, "
        "httpx); a profile may choose it.",
        "reference": "RFC 7617",
    },
    "SpecialCharacters": {
        "description": "The secret holds ':', '%', '+', a space and non-ASCII characters.",
        "reference": "RFC 6749 Appendix B",
    },
    "ClientSecretPost": {"description": "Client credentials in the form body.", "reference": "RFC 6749 §2.3.1"},
    "KeyId": {"description": "The JWS header names the key with kid.", "reference": "RFC 7515 §4.1.4"},
    "VerifyOnly": {
        "description": "Probabilistic signature (PS*, ES*): verify it, do not compare bytes.",
        "reference": "RFC 7518 §3.4, §3.5",
    },
    "GetRefreshEndpoint": {
        "description": "OpenAIRE's personal-token refresh: GET with the refresh token in the query string.",
        "reference": "OpenAIRE Graph API authentication guide",
    },
    "RefreshTokenGrant": {"description": "Refreshing an access token.", "reference": "RFC 6749 §6"},
    "PasswordGrant": {"description": "Resource owner password credentials.", "reference": "RFC 6749 §4.3"},
    "ClientCredentialsGrant": {"description": "Client credentials grant.", "reference": "RFC 6749 §4.4"},
    "DeviceCodeGrant": {"description": "Polling the token endpoint in the device flow.", "reference": "RFC 8628 §3.4"},
    "KeyAlgorithmMismatch": {
        "description": "The requested algorithm does not fit the key (an RSA key asked for "
        "HS256: the httr2 jwt_encode_hmac pitfall).",
        "reference": "RFC 7518 §3.1",
    },
    "LifetimeCap": {"description": "exp - iat is over the provider's cap.", "reference": "provider documentation"},
    "MissingCredential": {"description": "A credential the flow needs is missing.", "reference": "RFC 6749 §4"},
    "AudienceMismatch": {"description": "aud is not the token endpoint URL.", "reference": "RFC 7523 §3 item 3"},
    "MissingClaim": {"description": "A claim the provider requires is missing.", "reference": "RFC 7523 §3"},
}

KEY_FILES = {
    "rsa": "keys/test-rsa-2048.pkcs8.pem",
    "ec": "keys/test-ec-p256.pkcs8.pem",
    "hmac": "keys/test-hmac.secret",
    "service_key": "keys/test-clms-service-key.json",
    "rsa_jwk": "keys/test-rsa-2048.jwk.json",
}


def key_ref(name: str) -> dict[str, str]:
    return {"file": KEY_FILES[name]}


def resolve(value: Any) -> Any:
    """Turn {"file": ...} references into what the core takes (paths; secrets as text)."""
    return resolve_reference(value, lambda name: SPEC / name)


@dataclass
class Case:
    comment: str
    input: dict[str, Any]
    flags: list[str]
    key: str | None = None  # which KEY_FILES entry signs the JWS in this case
    expect_error: str | None = None
    inspect_error: str | None = None  # for JWS cases judged by inspect()
    claims_override: dict[str, Any] = field(default_factory=dict)


@dataclass
class VectorFile:
    name: str
    header: list[str]
    group_type: str
    key: str | None
    cases: list[Case]
    profile: str | None = None


def group_key(name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    if name == "hmac":
        return {"kty": "oct", "file": KEY_FILES["hmac"]}
    if name == "ce_secret":
        k = m2mauth.jws.b64url_encode(CE_SECRET.encode())  # type: ignore[attr-defined]
        return {"kty": "oct", "jwk": {"kty": "oct", "k": k}}
    if name == "ec":
        key = load_key(SPEC / KEY_FILES["ec"])
        return {"kty": "EC", "file": KEY_FILES["ec"], "publicJwk": key.public_jwk()}
    path = KEY_FILES["rsa"]
    key = load_key(SPEC / path)
    return {"kty": "RSA", "file": path, "publicJwk": key.public_jwk()}


def run_case(case: Case, tc_id: int) -> dict[str, Any]:
    inp = case.input
    test: dict[str, Any] = {"tcId": tc_id, "comment": case.comment, "flags": case.flags, "input": inp}
    try:
        plan = plan_for_vector(inp, resolve)
    except ConfigError as err:
        if case.expect_error is None:
            raise
        if err.code != case.expect_error:
            raise SystemExit(f"case {case.comment!r}: expected {case.expect_error}, got {err.code}") from None
        intermediate: dict[str, Any] = {}
        if err.code == "lifetime_exceeded":
            # The times the refused grant would have carried, so a checker can see exp - iat itself.
            intermediate["claims"] = m2mauth.jws.json_segment(  # type: ignore[attr-defined]
                {"iat": inp["now"], "exp": inp["now"] + inp["lifetime"]}
            )
        test.update(intermediate=intermediate, expected={"reproducible": True}, result="invalid", error_code=err.code)
        return test
    if case.expect_error is not None:
        raise SystemExit(f"case {case.comment!r}: expected {case.expect_error}, but the core built a request")
    stages: Any = plan.assertion
    if stages is None:
        client_assertion = plan.request.field("client_assertion")
        if client_assertion:
            stages = _stages_of(client_assertion)
    intermediate: dict[str, Any] = {}
    expected: dict[str, Any] = {"reproducible": True}
    if stages is not None:
        intermediate = {
            "header": stages.header_json,
            "claims": stages.claims_json,
            "signingInput": stages.signing_input,
        }
        alg = json.loads(stages.header_json)["alg"]
        expected["reproducible"] = alg[:2] in ("RS", "HS")
        expected["jws"] = stages.jwt
    expected["tokenRequest"] = plan.request.to_dict()
    test.update(intermediate=intermediate, expected=expected, result="valid", error_code=None)
    return test


@dataclass
class _Stages:
    header_json: str
    claims_json: str
    signing_input: str
    jwt: str


def _stages_of(jwt: str) -> _Stages:
    head, body, _ = jwt.split(".")
    return _Stages(
        m2mauth.jws.b64url_decode(head).decode(),  # type: ignore[attr-defined]
        m2mauth.jws.b64url_decode(body).decode(),
        f"{head}.{body}",
        jwt,
    )  # type: ignore[attr-defined]


def run_jws_case(case: Case, tc_id: int, key: Key) -> dict[str, Any]:
    """A grant judged by inspect(): built with make_assertion, then checked against the profile."""
    inp = case.input
    assertion = make_assertion(
        key,
        issuer=inp["iss"],
        subject=inp.get("sub"),
        audience=inp["aud"],
        alg=inp["alg"],
        lifetime=inp["lifetime"],
        now=inp["now"],
        extra_claims=case.claims_override or None,
    )
    claims = dict(assertion.claims)
    for name in inp.get("drop_claims", []):
        claims.pop(name)
    if inp.get("drop_claims"):
        assertion = m2mauth.assertions.Assertion(  # type: ignore[attr-defined]
            assertion.header,
            claims,
            assertion.header_json,
            m2mauth.jws.json_segment(claims),  # type: ignore[attr-defined]
            "",
            "",
        )
        signing_input = m2mauth.jws.signing_input(assertion.header_json, assertion.claims_json)  # type: ignore[attr-defined]
        jwt = m2mauth.jws.sign(signing_input, key, inp["alg"])  # type: ignore[attr-defined]
        assertion = m2mauth.assertions.Assertion(
            assertion.header,
            claims,
            assertion.header_json,  # type: ignore[attr-defined]
            assertion.claims_json,
            signing_input,
            jwt,
        )
    diagnosis = m2mauth.inspect(assertion.jwt, inp["profile"], now=inp["now"], token_url=inp.get("token_url"))
    codes = [f.code for f in diagnosis.findings if f.severity == "error"]
    if case.inspect_error not in codes:
        raise SystemExit(f"case {case.comment!r}: inspect gave {codes}, expected {case.inspect_error}")
    return {
        "tcId": tc_id,
        "comment": case.comment,
        "flags": case.flags,
        "input": inp,
        "intermediate": {
            "header": assertion.header_json,
            "claims": assertion.claims_json,
            "signingInput": assertion.signing_input,
        },
        "expected": {"reproducible": True, "jws": assertion.jwt},
        "result": "invalid",
        "error_code": case.inspect_error,
    }


def files() -> Iterator[VectorFile]:
    clms_url = "https://land.copernicus.eu/@@oauth2-token"
    dt_url = "https://identity.disruptive-technologies.com/oauth2/token"
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
    oa = {"profile": "openaire", **base, "client_id": "m2mauth-test-service-id", "jti": "m2mauth-test-jti-0001"}
    yield VectorFile(
        "openaire-private-key-jwt",
        [
            "OpenAIRE registered service, Advanced security: client_credentials with an RS256 client assertion "
            "(kid, jti) signed by the key registered as a JWK."
        ],
        "TokenRequestTest",
        "rsa",
        [
            Case(
                "keystore JWK as generated by OpenAIRE",
                {**oa, "private_key": key_ref("rsa_jwk")},
                ["ClientCredentialsGrant", "ClientAssertion", "KeyId"],
            ),
            Case(
                "PEM key with key_id",
                {**oa, "private_key": key_ref("rsa"), "key_id": "m2mauth-test-rsa-1"},
                ["ClientCredentialsGrant", "ClientAssertion", "KeyId"],
            ),
        ],
    )
    yield VectorFile(
        "openaire-client-secret-basic",
        ["OpenAIRE registered service, Basic security: client_credentials with HTTP Basic."],
        "TokenRequestTest",
        None,
        [
            Case(
                "plain secret",
                {
                    "profile": "openaire",
                    **base,
                    "client_id": "m2mauth-test-service-id",
                    "client_secret": "m2mauth-test-secret",
                },
                ["ClientCredentialsGrant", "ClientSecretBasic"],
            ),
            Case(
                "special characters, RFC encoding",
                {
                    "profile": "openaire",
                    **base,
                    "client_id": "m2m test:id",
                    "client_secret": SPECIAL_SECRET,
                    "basic_encoding": "rfc",
                },
                ["ClientCredentialsGrant", "ClientSecretBasic", "BasicRfcEncoding", "SpecialCharacters"],
            ),
            Case(
                "special characters, raw encoding",
                {
                    "profile": "openaire",
                    **base,
                    "client_id": "m2m test:id",
                    "client_secret": SPECIAL_SECRET,
                    "basic_encoding": "raw",
                },
                ["ClientCredentialsGrant", "ClientSecretBasic", "BasicRawEncoding", "SpecialCharacters"],
            ),
        ],
    )
    yield VectorFile(
        "openaire-refresh",
        ["OpenAIRE personal token: GET getAccessToken?refreshToken=..."],
        "TokenRequestTest",
        None,
        [
            Case(
                "refresh token",
                {"profile": "openaire", **base, "refresh_token": "m2mauth-test-refresh-token"},
                ["GetRefreshEndpoint"],
            ),
            Case(
                "refresh token with reserved characters",
                {"profile": "openaire", **base, "refresh_token": "m2mauth test/refresh+token=="},
                ["GetRefreshEndpoint", "SpecialCharacters"],
            ),
        ],
    )
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


def build(vf: VectorFile) -> dict[str, Any]:
    key = None
    if vf.key == "hmac":
        key = secret_key((SPEC / KEY_FILES["hmac"]).read_text(encoding="utf-8"))
    elif vf.key in KEY_FILES:
        key = load_key(SPEC / KEY_FILES[vf.key])
    tests = []
    for index, case in enumerate(vf.cases, start=1):
        if vf.group_type == "JwsTest":
            assert key is not None
            tests.append(run_jws_case(case, index, key))
        else:
            tests.append(run_case(case, index))
    used = sorted({flag for case in vf.cases for flag in case.flags})
    group: dict[str, Any] = {"type": vf.group_type, "source": "m2mauth core (python/tools/gen_vectors.py)"}
    if vf.key:
        group["key"] = group_key(vf.key)
    group["tests"] = tests
    return {
        "schema": "vectors.schema.json",
        "numberOfTests": len(tests),
        "header": [
            *vf.header,
            "Generated by python/tools/gen_vectors.py from the m2mauth core; do not edit by hand.",
            "Keys are TEST keys from spec/keys/; byte rules in spec/README.md.",
        ],
        "notes": {flag: NOTES[flag] for flag in used},
        "testGroups": [group],
    }


def keep_probabilistic(data: dict[str, Any], old_text: str) -> dict[str, Any]:
    """PS*/ES* signatures differ on every run: keep the committed one when it signs the same input
    (spec/verify checks that it verifies), so regeneration shows no drift for them."""
    if not old_text:
        return data
    old = json.loads(old_text)
    old_tests = {t["tcId"]: t for g in old.get("testGroups", []) for t in g.get("tests", [])}
    text = json.dumps(data, ensure_ascii=False)
    for group in data["testGroups"]:
        for test in group["tests"]:
            jws = test.get("expected", {}).get("jws")
            previous = old_tests.get(test["tcId"], {}).get("expected", {}).get("jws")
            if (
                test["expected"].get("reproducible") is False
                and jws
                and previous
                and previous != jws
                and previous.rsplit(".", 1)[0] == jws.rsplit(".", 1)[0]
            ):
                text = text.replace(jws, previous)
    result: dict[str, Any] = json.loads(text)
    return result


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a committed vector file differs")
    args = parser.parse_args()
    out = SPEC / "vectors"
    out.mkdir(exist_ok=True)
    drift = 0
    written = set()
    for vf in files():
        if not vf.cases:
            continue
        path = out / f"{vf.name}.json"
        written.add(path.name)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        text = render(keep_probabilistic(build(vf), old))
        if old == text:
            continue
        if args.check:
            drift += 1
            print(f"DRIFT {path.relative_to(ROOT)}")
            sys.stdout.writelines(
                list(difflib.unified_diff(old.splitlines(True), text.splitlines(True), "committed", "generated", n=1))[
                    :40
                ]
            )
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    stale = sorted(p.name for p in out.glob("*.json") if p.name not in written)
    for name in stale:
        drift += 1 if args.check else 0
        print(f"{'STALE' if args.check else 'note: not generated'} spec/vectors/{name}")
    if args.check:
        print(f"vectors: {'no drift' if not drift else f'{drift} file(s) drifted'}")
    return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
