"""Property tests: whatever comes in, the parsers give a result or an M2MAuthError, never another exception.

The strategies include the inputs that once escaped as other exceptions: huge integers and floats
in expiry members and time claims, NUL bytes, lone surrogates and '~user' in paths, and
arbitrary values given to explain().
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mauth import (
    ConfigError,
    Diagnosis,
    Explanation,
    Key,
    M2MAuthError,
    Profile,
    ServiceKey,
    Token,
    TokenEndpointError,
    explain,
    inspect,
    list_profiles,
    load_key,
    load_profile,
    load_service_key,
    parse_token_response,
    secret_key,
)
from m2mauth.jws import b64url_decode, b64url_encode
from m2mauth.tokens import error_from_response

BUDGET = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = Path(__file__).resolve().parents[2] / "spec" / "keys"

# --- strategies ----------------------------------------------------------------------------------

safe_text = st.text(max_size=40) | st.sampled_from(["~m2mauth-no-such-user/key.pem", "key\x00.pem", "\ud800"])
numbers = (
    st.integers()
    | st.integers(min_value=10**11, max_value=10**400)
    | st.floats(allow_nan=False)
    | st.sampled_from([math.nan, math.inf, -math.inf])
)
scalars = st.none() | st.booleans() | numbers | safe_text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(safe_text, children, max_size=4),
    max_leaves=20,
)
b64ish = st.binary(max_size=48).map(b64url_encode) | safe_text

JWK_MEMBERS = ["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi", "crv", "x", "y", "k", "kid", "alg"]
jwks = st.fixed_dictionaries(
    {"kty": st.sampled_from(["RSA", "EC", "oct", "OKP", ""]) | json_values},
    optional={m: b64ish | json_values for m in JWK_MEMBERS[1:]} | {"crv": st.sampled_from(["P-256", "P-384", "X"])},
)
REAL_JWK = json.loads((KEYS / "test-rsa-2048.jwk.json").read_text(encoding="utf-8"))
REAL_EC_JWK = json.loads((KEYS / "test-ec-p256.jwk.json").read_text(encoding="utf-8"))


def mutated(jwk: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A real JWK with some members dropped or replaced (so the success path is reached too)."""
    return st.builds(
        lambda drop, replace: {
            **{k: v for k, v in jwk.items() if k not in drop},
            **replace,
        },
        st.sets(st.sampled_from(sorted(jwk)), max_size=3),
        st.dictionaries(st.sampled_from(sorted(jwk)), b64ish | json_values, max_size=2),
    )


key_inputs = (
    mutated(REAL_JWK)
    | mutated(REAL_EC_JWK)
    | st.builds(lambda ks: {"keys": ks}, st.lists(mutated(REAL_JWK) | mutated(REAL_EC_JWK), max_size=3))
    | st.binary(max_size=200)
    | safe_text
    | st.builds(lambda body: "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n", safe_text)
    | st.builds(lambda body: "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n", b64ish)
    | jwks
    | st.builds(lambda ks: {"keys": ks}, st.lists(jwks, max_size=3))
    | st.dictionaries(safe_text, json_values, max_size=4)
    | jwks.map(json.dumps)
)

TOKEN_MEMBERS = {
    "token_type": safe_text | json_values,
    "expires_in": numbers | safe_text | json_values,
    "expires_at": numbers | safe_text,
    "refresh_token": safe_text | json_values,
    "refresh_expires_in": numbers | safe_text,
    "scope": safe_text | json_values,
    "id_token": safe_text,
}
#: Answers that hold an access token, so the success path is fuzzed too.
granted = st.fixed_dictionaries(
    {"access_token": safe_text.filter(bool) | b64ish.filter(bool).map(lambda s: f"{s}.{s}.{s}")},
    optional=TOKEN_MEMBERS,
)
token_bodies = st.fixed_dictionaries(
    {},
    optional={
        "access_token": safe_text | json_values,
        "token_type": safe_text | json_values,
        "expires_in": numbers | safe_text | json_values,
        "expires_at": numbers | safe_text,
        "refresh_token": safe_text | json_values,
        "refresh_expires_in": numbers | safe_text,
        "scope": safe_text | json_values,
        "id_token": safe_text,
        "error": st.sampled_from(["invalid_grant", "invalid_request", "slow_down", "x"]) | json_values,
        "error_description": safe_text | json_values,
    },
)
bodies = (
    st.binary(max_size=300)
    | st.text(max_size=300)
    | json_values.map(json.dumps)
    | token_bodies.map(json.dumps)
    | token_bodies.map(lambda d: json.dumps(d).encode("utf-8"))
    | granted.map(json.dumps)
    | st.builds(lambda t: f"<html><head><style>{t}</style></head><body><h1>{t}</h1></body></html>", safe_text)
)
statuses = st.integers(min_value=0, max_value=999) | st.sampled_from([200, 201, 400, 401, 429, 502])
content_types = st.none() | st.sampled_from(["application/json", "text/html", "text/plain", "", "TEXT/HTML; x=1"])
profiles = st.none() | st.sampled_from(list_profiles())


def segment(value: Any) -> str:
    return b64url_encode(json.dumps(value).encode("utf-8"))


claim_sets = st.fixed_dictionaries(
    {},
    optional={
        "iss": json_values,
        "sub": json_values,
        "aud": json_values | st.sampled_from(["https://land.copernicus.eu/@@oauth2-token"]),
        "iat": numbers | json_values,
        "exp": numbers | json_values,
        "nbf": numbers,
        "jti": json_values,
    },
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "HS256", "ES256", "PS512", "none", "HS512", "XX"]) | json_values,
        "typ": json_values,
        "kid": json_values,
        "alg.1": json_values,
        "crit": json_values,
    },
)
jwt_like = (
    st.text(max_size=200)
    | st.builds(lambda a, b, c: f"{a}.{b}.{c}", b64ish, b64ish, b64ish)
    | st.builds(
        lambda h, c, s: f"{segment(h)}.{segment(c)}.{b64url_encode(s)}",
        headers | json_values,
        claim_sets | json_values,
        st.binary(max_size=300),
    )
)


@pytest.fixture(scope="module")
def verify_keys() -> list[Key]:
    return [
        load_key(KEYS / "test-rsa-2048.pkcs8.pem"),
        load_key(KEYS / "test-ec-p256.jwk.json"),
        secret_key("fuzz-secret"),
        load_key(KEYS / "test-rsa-2048.public.jwk.json"),
    ]


# --- properties ----------------------------------------------------------------------------------


@BUDGET
@given(key_inputs, st.none() | st.text(max_size=10), st.none() | safe_text)
def test_load_key_never_raises_anything_else(value: Any, password: str | None, kid: str | None) -> None:
    try:
        key = load_key(value, password=password, kid=kid)
    except M2MAuthError:
        return
    assert isinstance(key, Key)
    assert key.kind in ("RSA", "EC", "oct")
    assert "PRIVATE" not in repr(key)


@BUDGET
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "client_id": json_values,
            "user_id": json_values,
            "token_uri": json_values,
            "key_id": json_values,
            "title": json_values,
            "private_key": safe_text
            | json_values
            | st.sampled_from([(KEYS / "test-rsa-2048.pkcs1.pem").read_text(encoding="ascii")]),
        },
    )
    | json_values
)
def test_load_service_key_mapping_or_json(value: Any) -> None:
    for given_value in (value, json.dumps(value)):
        if isinstance(given_value, str) and not given_value.lstrip().startswith("{"):
            continue  # other JSON texts would be read as a path
        if not isinstance(given_value, (dict, str)):
            continue
        try:
            service = load_service_key(given_value)
        except M2MAuthError:
            continue
        assert isinstance(service, ServiceKey)
        assert service.key.kind == "RSA"


@BUDGET
@given(st.binary(max_size=200) | safe_text.map(lambda s: "{" + s))
def test_load_service_key_text(value: bytes | str) -> None:
    try:
        load_service_key(value)
    except M2MAuthError:
        pass


def flow_dicts() -> st.SearchStrategy[Any]:
    flow = st.fixed_dictionaries(
        {},
        optional={
            "name": safe_text | json_values,
            "grant": st.sampled_from(["jwt_bearer", "client_credentials", "password", "get_refresh", "x"])
            | json_values,
            "requires": st.lists(safe_text, max_size=3) | json_values,
            "auth_methods": st.lists(st.sampled_from(["none", "client_secret_basic", "bogus"]), max_size=3)
            | json_values,
            "assertion": st.fixed_dictionaries(
                {},
                optional={
                    "issuer": safe_text | json_values,
                    "audience": safe_text | json_values,
                    "algorithms": json_values,
                    "lifetime": numbers | json_values,
                    "max_lifetime": numbers,
                    "jti": json_values,
                },
            )
            | json_values,
            "token_url": safe_text | json_values,
        },
    )
    return flow


@BUDGET
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": safe_text | json_values,
            "title": json_values,
            "token_url": safe_text | json_values,
            "flows": st.lists(flow_dicts(), max_size=3) | json_values,
            "error_hints": st.lists(st.dictionaries(safe_text, json_values, max_size=4) | json_values, max_size=3)
            | st.none()
            | st.lists(json_values, max_size=2),
            "env": st.dictionaries(safe_text, st.lists(safe_text, max_size=2) | json_values, max_size=3) | json_values,
            "basic_encoding": st.sampled_from(["rfc", "raw", "x"]) | json_values,
            "default_token_lifetime": numbers | json_values,
        },
    )
)
def test_load_profile_from_mapping(data: dict[str, Any]) -> None:
    try:
        profile = load_profile(data)
    except M2MAuthError as err:
        assert isinstance(err, ConfigError)
        assert err.code == "invalid_profile"
        return
    assert isinstance(profile, Profile)
    assert profile.flows


@BUDGET
@given(statuses, bodies, content_types, st.none() | st.floats(min_value=0, max_value=4e9))
def test_parse_token_response_any_answer(status: int, body: bytes | str, content_type: str | None, now: Any) -> None:
    try:
        token = parse_token_response(status, body, content_type, now=now, default_lifetime=600)
    except TokenEndpointError as err:
        assert err.code
        assert err.excerpt is None or len(err.excerpt) <= 203
        return
    assert isinstance(token, Token)
    assert 200 <= status < 300
    assert token.access_token
    # The repr does not depend on the secrets at all.
    assert repr(token) == repr(dataclasses.replace(token, access_token="A", refresh_token=token.refresh_token and "R"))
    assert isinstance(token.token_type, str)  # an empty one is pinned by test_tokens.py::test_empty_token_type
    assert token.expires_at is None or token.expires_at.tzinfo is not None


@BUDGET
@given(statuses, bodies, content_types)
def test_error_from_response_always_returns_an_error(status: int, body: bytes | str, content_type: str | None) -> None:
    err = error_from_response(status, body, content_type)
    assert isinstance(err, TokenEndpointError)
    assert err.status == status
    assert err.excerpt is not None and len(err.excerpt) <= 203
    assert "<script" not in err.excerpt.lower()


@BUDGET
@given(jwt_like, profiles, st.none() | st.floats(min_value=0, max_value=4e9), st.integers(0, 4), st.none() | safe_text)
def test_inspect_any_text(
    verify_keys: list[Key], text: str, profile: str | None, now: Any, key_index: int, token_url: str | None
) -> None:
    key = [None, *verify_keys][key_index]
    try:
        diagnosis = inspect(text, profile, now=now, key=key, token_url=token_url)
    except M2MAuthError:
        return
    assert isinstance(diagnosis, Diagnosis)
    assert all(f.severity in ("error", "warning", "info") for f in diagnosis.findings)
    str(diagnosis)
    json.dumps(diagnosis.to_dict(), default=str)


@BUDGET
@given(
    bodies | token_bodies | st.dictionaries(safe_text, json_values, max_size=4),
    profiles,
    st.none() | st.integers(min_value=100, max_value=599),
)
def test_explain_any_answer(value: Any, profile: str | None, status: int | None) -> None:
    try:
        result = explain(value, profile, status=status)
    except M2MAuthError:
        return
    assert isinstance(result, Explanation)
    assert result.code
    str(result)


@BUDGET
@given(statuses, bodies, profiles)
def test_explain_any_token_endpoint_error(status: int, body: bytes | str, profile: str | None) -> None:
    err = error_from_response(status, body)
    result = explain(err, profile)
    assert isinstance(result, Explanation)
    assert result.status == status


@BUDGET
@given(st.text(max_size=60))
def test_b64url_decode_any_text(text: str) -> None:
    try:
        raw = b64url_decode(text)
    except ConfigError as err:
        assert err.code == "invalid_base64"
        return
    assert len(raw) == len(text) * 3 // 4
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@BUDGET
@given(st.binary(max_size=100))
def test_b64url_round_trip(data: bytes) -> None:
    assert b64url_decode(b64url_encode(data)) == data
