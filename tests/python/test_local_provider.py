"""Tests of m2mauth.testing.LocalProvider, the local token server.

They talk to it over real HTTP with requests and build every grant by hand with pyjwt,
cryptography and the stdlib: nothing of the rest of m2mauth is used, so the provider is
checked as an independent peer.
"""

from __future__ import annotations

import base64
import concurrent.futures
import email.utils
import hashlib
import hmac
import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from m2mauth.testing import LocalProvider

TIMEOUT = 10
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REPO = Path(__file__).resolve().parents[2]


# -- helpers ---------------------------------------------------------------------------------


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWS built by hand (pyjwt refuses a PEM text as an HMAC key)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    body = b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    mac = hmac.new(secret.encode("utf-8"), f"{head}.{body}".encode("ascii"), hashlib.sha256)
    return f"{head}.{body}.{b64url(mac.digest())}"


def basic(client_id: str, secret: str, encoding: str = "rfc") -> str:
    """client_secret_basic per spec/CONVENTIONS.md ('rfc' form-encodes id and secret first)."""
    if encoding == "rfc":
        client_id, secret = quote_plus(client_id, safe=""), quote_plus(secret, safe="")
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def resource(provider: LocalProvider, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(provider.resource_url, headers=headers, timeout=TIMEOUT)


def assert_accepted(provider: LocalProvider, token: str, profile: str) -> dict[str, Any]:
    answer = resource(provider, token)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["ok"] is True
    assert body["profile"] == profile
    return body


def assert_error(answer: requests.Response, status: int, error: str, description: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = answer.json()
    assert body["error"] == error, body
    if description is not None:
        assert body.get("error_description") == description, body
    return body


def clms_grant(key: dict[str, str], now: float, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "iss": key["client_id"],
        "sub": key["user_id"],
        "aud": key["token_uri"],
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key["private_key"], algorithm="RS256")


def post_clms(key: dict[str, str], assertion: str) -> requests.Response:
    return requests.post(key["token_uri"], data={"grant_type": JWT_BEARER, "assertion": assertion}, timeout=TIMEOUT)


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        yield running


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(str(RSAAlgorithm.to_jwk(key.public_key())))
    jwk.update({"kid": kid, "alg": "RS256"})
    return jwk


# -- lifecycle and common behaviour ----------------------------------------------------------


def test_binds_loopback_and_stops_cleanly() -> None:
    provider = LocalProvider()
    with pytest.raises(RuntimeError):
        provider.token_url("clms")
    with provider:
        assert provider.base_url.startswith("http://127.0.0.1:")
        assert provider.resource_url == provider.base_url + "/api/resource"
        assert provider.running
        assert resource(provider, None).status_code == 401
    assert not provider.running
    with pytest.raises(requests.ConnectionError):
        requests.get(provider.resource_url, timeout=2)
    provider.stop()  # idempotent


def test_token_urls_mirror_the_real_paths(provider: LocalProvider) -> None:
    base = provider.base_url
    assert provider.token_url("clms") == base + "/@@oauth2-token"
    assert provider.token_url("disruptive-technologies") == base + "/oauth2/token"
    assert provider.token_url("openaire") == base + "/oidc/token"
    assert provider.token_url("openaire", "refresh_token") == (base + "/uoa-user-management/api/users/getAccessToken")
    assert provider.token_url("climate-engine") == base + "/api/v1/auth/jwt/token"
    assert provider.token_url("cdse-openeo") == base + "/auth/realms/CDSE/protocol/openid-connect/token"
    assert provider.token_url("generic") == base + "/oauth/token"
    with pytest.raises(ValueError):
        provider.token_url("nonsense")


def test_unknown_path_and_wrong_method(provider: LocalProvider) -> None:
    assert requests.get(provider.base_url + "/nothing", timeout=TIMEOUT).status_code == 404
    answer = requests.get(provider.token_url("generic"), timeout=TIMEOUT)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


# -- CLMS ------------------------------------------------------------------------------------


def test_clms_service_key_gets_a_token(provider: LocalProvider) -> None:
    key = provider.make_clms_service_key()
    assert set(key) >= {"client_id", "user_id", "token_uri", "key_id", "title", "private_key"}
    assert key["token_uri"] == provider.token_url("clms")
    assert key["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    answer = post_clms(key, clms_grant(key, time.time()))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Date" in answer.headers
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    assert assert_accepted(provider, body["access_token"], "clms")["subject"] == key["user_id"]


def test_clms_json_body_is_missing_grant_type(provider: LocalProvider) -> None:
    """The R seed: a JSON body sent with a form content type."""
    key = provider.make_clms_service_key()
    grant = clms_grant(key, time.time())
    payload = json.dumps({"grant_type": JWT_BEARER, "assertion": grant})
    for content_type in ("application/x-www-form-urlencoded", "application/json"):
        answer = requests.post(
            key["token_uri"],
            data=payload.encode(),
            headers={"Accept": "application/json", "Content-Type": content_type},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 400
        assert answer.text == '{"error": "invalid_request", "error_description": "Missing \'grant_type\'"}'
        assert answer.headers["Content-Length"] == "73"  # as land.copernicus.eu answers
    # The log keeps no trace of the assertion sent in the JSON body.
    assert grant not in repr(provider.requests_log)
    assert provider.requests_log[-1].form == ()


def test_clms_hs256_grant_is_rejected(provider: LocalProvider) -> None:
    """The R seed's second try: an HMAC grant whose header also says alg.1 = RS256."""
    key = provider.make_clms_service_key()
    now = int(time.time())
    claims = {"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"], "iat": now, "exp": now + 3600}
    grant = hs256({"typ": "JWT", "alg": "HS256", "alg.1": "RS256"}, claims, key["private_key"])
    body = f"grant_type={JWT_BEARER}&assertion={grant}"  # req_body_raw, unencoded ':' as in the seed
    answer = requests.post(
        key["token_uri"],
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=TIMEOUT,
    )
    assert_error(answer, 400, "invalid_request", "Only RS256 signature algorithm is supported")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"sub": "someone-else"}, id="wrong-sub"),
        pytest.param({"aud": "https://land.copernicus.eu/@@oauth2-token"}, id="wrong-aud"),
        pytest.param({"iss": "unknown-client"}, id="unknown-iss"),
        pytest.param({"exp": "LIFETIME+1"}, id="lifetime-over-3600"),
        pytest.param({"iat": "NOW-7200", "exp": "NOW-3600"}, id="expired"),
        pytest.param({"iat": None}, id="no-iat"),
        pytest.param({"exp": None}, id="no-exp"),
    ],
)
def test_clms_invalid_grants(provider: LocalProvider, overrides: dict[str, Any]) -> None:
    key = provider.make_clms_service_key()
    now = int(time.time())
    values = {"LIFETIME+1": now + 3601, "NOW-7200": now - 7200, "NOW-3600": now - 3600}
    resolved = {
        name: values.get(value, value) if isinstance(value, str) else value for name, value in overrides.items()
    }
    body = assert_error(post_clms(key, clms_grant(key, now, **resolved)), 400, "invalid_grant")
    assert body["error_description"]


def test_clms_grant_signed_with_another_key(provider: LocalProvider, other_rsa_key: rsa.RSAPrivateKey) -> None:
    key = provider.make_clms_service_key()
    now = int(time.time())
    claims = {"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"], "iat": now, "exp": now + 3600}
    grant = jwt.encode(claims, other_rsa_key, algorithm="RS256")
    assert_error(post_clms(key, grant), 400, "invalid_grant")


def test_clms_existing_service_key_keeps_its_token_uri(provider: LocalProvider) -> None:
    path = REPO / "spec" / "keys" / "test-clms-service-key.json"
    if not path.exists():
        pytest.skip("spec test service key not present")
    key = json.loads(path.read_text(encoding="utf-8"))
    provider.add_clms_service_key(key)
    local = dict(key, token_uri=provider.token_url("clms"))
    now = time.time()
    # aud must be the key's own token_uri (the real URL), even when posting locally.
    answer = post_clms(local, clms_grant(key, now))
    assert answer.status_code == 200, answer.text
    assert_error(post_clms(local, clms_grant(local, now)), 400, "invalid_grant")


# -- Disruptive Technologies ----------------------------------------------------------------

DT_SECRET = "m2mauth-TEST-dt-secret-0123456789abcdef"
DT_EMAIL = "sa-test@example.serviceaccount.d21s.com"
DT_KID = "dt-test-key-1"
TIMING = "Timing-related error. Check the 'exp' and 'iat' claims."
ENTITY = "Untrusted entity. Check the 'aud' and 'iss' claims."


def dt_assertion(provider: LocalProvider, now: float, **overrides: Any) -> str:
    header: dict[str, Any] = {"alg": "HS256", "kid": overrides.pop("kid", DT_KID)}
    secret = overrides.pop("secret", DT_SECRET)
    claims: dict[str, Any] = {
        "iat": int(now),
        "exp": int(now) + 3600,
        "aud": provider.token_url("disruptive-technologies"),
        "iss": DT_EMAIL,
    }
    claims.update(overrides)
    return hs256(header, {k: v for k, v in claims.items() if v is not None}, secret)


def post_dt(
    provider: LocalProvider, data: dict[str, str] | bytes, content_type: str | None = None
) -> requests.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.post(provider.token_url("dt"), data=data, headers=headers, timeout=TIMEOUT)


def test_dt_token(provider: LocalProvider) -> None:
    provider.add_dt_service_account(DT_KID, DT_SECRET, DT_EMAIL)
    answer = post_dt(provider, {"assertion": dt_assertion(provider, time.time()), "grant_type": JWT_BEARER})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert len(body["access_token"]) == 32
    int(body["access_token"], 16)
    assert assert_accepted(provider, body["access_token"], "disruptive-technologies")["subject"] == DT_EMAIL


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"kid": "no-such-key"}, {"error": "invalid_grant"}, id="unknown-kid"),
        pytest.param({"iat": None}, {"error": "invalid_grant", "error_description": TIMING}, id="no-iat"),
        pytest.param({"exp": None}, {"error": "invalid_grant", "error_description": TIMING}, id="no-exp"),
        pytest.param(
            {"iat": -120, "exp": 3000}, {"error": "invalid_grant", "error_description": TIMING}, id="iat-past"
        ),
        pytest.param(
            {"iat": 120, "exp": 3000}, {"error": "invalid_grant", "error_description": TIMING}, id="iat-future"
        ),
        pytest.param({"exp": 3601}, {"error": "invalid_grant", "error_description": TIMING}, id="exp-too-late"),
        pytest.param(
            {"iat": 30, "exp": 10}, {"error": "invalid_grant", "error_description": TIMING}, id="exp-before-iat"
        ),
        pytest.param({"iat": -50, "exp": -5}, {"error": "invalid_grant", "error_description": TIMING}, id="expired"),
        pytest.param(
            {"aud": "https://identity.disruptive-technologies.com/oauth2/token"},
            {"error": "invalid_grant", "error_description": ENTITY},
            id="wrong-aud",
        ),
        pytest.param(
            {"iss": "other@example.org"}, {"error": "invalid_grant", "error_description": ENTITY}, id="wrong-iss"
        ),
        pytest.param({"aud": None}, {"error": "invalid_grant", "error_description": ENTITY}, id="no-aud"),
        pytest.param(
            {"secret": "not-the-secret"},
            {"error": "invalid_grant", "error_description": "Invalid signature"},
            id="wrong-secret",
        ),
    ],
)
def test_dt_errors(provider: LocalProvider, overrides: dict[str, Any], expected: dict[str, str]) -> None:
    provider.add_dt_service_account(DT_KID, DT_SECRET, DT_EMAIL)
    now = int(time.time())
    for name in ("iat", "exp"):  # relative times in the table
        if isinstance(overrides.get(name), int):
            overrides = dict(overrides, **{name: now + overrides[name]})
    answer = post_dt(provider, {"assertion": dt_assertion(provider, now, **overrides), "grant_type": JWT_BEARER})
    assert answer.status_code == 400
    assert answer.json() == expected


def test_dt_unsupported_grant_type(provider: LocalProvider) -> None:
    provider.add_dt_service_account(DT_KID, DT_SECRET, DT_EMAIL)
    assertion = dt_assertion(provider, time.time())
    cases = [
        post_dt(provider, {"assertion": assertion}),  # no grant_type
        post_dt(provider, {"assertion": assertion, "grant_type": "client_credentials"}),
        post_dt(provider, json.dumps({"assertion": assertion, "grant_type": JWT_BEARER}).encode(), "application/json"),
        post_dt(provider, f"assertion={assertion}&grant_type={JWT_BEARER}".encode(), "text/plain"),
    ]
    for answer in cases:
        assert answer.status_code == 400
        assert answer.json() == {"error": "unsupported_grant_type"}
    malformed = post_dt(provider, {"assertion": "not-a-jwt", "grant_type": JWT_BEARER})
    assert malformed.json() == {"error": "invalid_grant"}


# -- OpenAIRE --------------------------------------------------------------------------------


def test_openaire_client_secret_basic(provider: LocalProvider) -> None:
    provider.add_client("openaire", "oa-client", "oa-secret")
    answer = requests.post(
        provider.token_url("openaire"),
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic("oa-client", "oa-secret")},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid"
    assert body["expires_in"] == 3600
    assert_accepted(provider, body["access_token"], "openaire")
    wrong = requests.post(
        provider.token_url("openaire"),
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic("oa-client", "wrong")},
        timeout=TIMEOUT,
    )
    assert_error(wrong, 401, "invalid_client")
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    # client_secret_post is not how OpenAIRE's Basic level works.
    post = requests.post(
        provider.token_url("openaire"),
        data={"grant_type": "client_credentials", "client_id": "oa-client", "client_secret": "oa-secret"},
        timeout=TIMEOUT,
    )
    assert_error(post, 401, "invalid_client")


def openaire_assertion(provider: LocalProvider, key: rsa.RSAPrivateKey, kid: str = "oa-kid", **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "oa-service",
        "sub": "oa-service",
        "aud": provider.token_url("openaire"),
        "jti": uuid.uuid4().hex,
        "exp": now + 300,
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def post_assertion(url: str, assertion: str, **extra: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    data.update(extra)
    return requests.post(url, data=data, timeout=TIMEOUT)


def test_openaire_private_key_jwt_and_replay(provider: LocalProvider, rsa_key: rsa.RSAPrivateKey) -> None:
    provider.add_client("openaire", "oa-service", public_jwk=public_jwk(rsa_key, "oa-kid"))
    url = provider.token_url("openaire")
    assertion = openaire_assertion(provider, rsa_key)
    first = post_assertion(url, assertion)
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == "openid"
    assert_accepted(provider, first.json()["access_token"], "openaire")
    replay = assert_error(post_assertion(url, assertion), 401, "invalid_client")
    assert "replay" in replay["error_description"]


@pytest.mark.parametrize(
    "case",
    ["wrong-kid", "no-jti", "no-exp", "wrong-aud", "sub-differs", "hs256", "other-key", "expired"],
)
def test_openaire_private_key_jwt_errors(
    provider: LocalProvider, rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey, case: str
) -> None:
    provider.add_client("openaire", "oa-service", "also-a-secret", public_jwk=public_jwk(rsa_key, "oa-kid"))
    url = provider.token_url("openaire")
    builders = {
        "wrong-kid": lambda: openaire_assertion(provider, rsa_key, kid="other-kid"),
        "no-jti": lambda: openaire_assertion(provider, rsa_key, jti=None),
        "no-exp": lambda: openaire_assertion(provider, rsa_key, exp=None),
        "wrong-aud": lambda: openaire_assertion(provider, rsa_key, aud="https://aai.openaire.eu/oidc/token"),
        "sub-differs": lambda: openaire_assertion(provider, rsa_key, sub="someone"),
        "other-key": lambda: openaire_assertion(provider, other_rsa_key),
        "expired": lambda: openaire_assertion(provider, rsa_key, exp=int(time.time()) - 600),
        "hs256": lambda: hs256(
            {"alg": "HS256", "kid": "oa-kid"},
            {"iss": "oa-service", "sub": "oa-service", "aud": url, "jti": "x", "exp": int(time.time()) + 60},
            "also-a-secret",
        ),
    }
    assert_error(post_assertion(url, builders[case]()), 401, "invalid_client")


def test_openaire_refresh_rotation(provider: LocalProvider) -> None:
    refresh = provider.issue_refresh_token("openaire")
    url = provider.token_url("openaire", "refresh_token")
    first = requests.get(url, params={"refreshToken": refresh}, headers={"Accept": "application/json"}, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"access_token", "token_type", "refresh_token", "expires_in", "scope", "id_token"}
    assert body["expires_in"] == "3600"  # a string, as OpenAIRE sends it
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid"
    assert body["refresh_token"] != refresh
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["sub"]
    assert_accepted(provider, body["access_token"], "openaire")

    again = requests.get(url, params={"refreshToken": refresh}, timeout=TIMEOUT)
    assert_error(again, 400, "invalid_grant")
    rotated = requests.get(url, params={"refreshToken": body["refresh_token"]}, timeout=TIMEOUT)
    assert rotated.status_code == 200
    assert_error(requests.get(url, timeout=TIMEOUT), 400, "invalid_request")
    assert (
        requests.post(url, data={"refreshToken": rotated.json()["refresh_token"]}, timeout=TIMEOUT).status_code == 405
    )


# -- Climate Engine --------------------------------------------------------------------------


def test_climate_engine_password_grant(provider: LocalProvider) -> None:
    provider.add_user("climate-engine", "bennett@example.org", "hunter2")
    url = provider.token_url("climate-engine")
    answer = requests.post(
        url, data={"grant_type": "password", "username": "bennett@example.org", "password": "hunter2"}, timeout=TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["expires_at"], int)
    assert abs(body["expires_at"] - (time.time() + 3600)) < 10
    # The access token is an RS256 JWT the server signed; its key is in the realm's JWKS.
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"
    jwks = requests.get(provider.base_url + "/auth/realms/CDSE/protocol/openid-connect/certs", timeout=TIMEOUT).json()
    claims = jwt.decode(
        body["access_token"], jwt.PyJWK(jwks["keys"][0]).key, algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["exp"] == body["expires_at"]
    assert_accepted(provider, body["access_token"], "climate-engine")

    wrong = requests.post(
        url, data={"grant_type": "password", "username": "bennett@example.org", "password": "nope"}, timeout=TIMEOUT
    )
    assert_error(wrong, 400, "invalid_grant")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "client_secret_jwt"])
def test_climate_engine_client_credentials(provider: LocalProvider, method: str) -> None:
    client_id, secret = "b2628e59-7391-4ad4-b891-32706a5d7fc6", "QnbSL9x6Y_lSX9I708SOEJljah_zWgEa9KLiBlqqIIA"
    provider.add_client("climate-engine", client_id, secret)
    url = provider.token_url("climate-engine")
    data = {"grant_type": "client_credentials"}
    headers: dict[str, str] = {}
    if method == "client_secret_basic":
        headers["Authorization"] = basic(client_id, secret)
    elif method == "client_secret_post":
        data.update(client_id=client_id, client_secret=secret)
    else:
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": url,
            "jti": uuid.uuid4().hex,
            "exp": int(time.time()) + 300,
        }
        data.update(
            client_assertion_type=CLIENT_ASSERTION_TYPE,
            client_assertion=hs256({"alg": "HS256", "typ": "JWT"}, claims, secret),
        )
    answer = requests.post(url, data=data, headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "bearer"
    assert_accepted(provider, answer.json()["access_token"], "climate-engine")


def test_climate_engine_client_credentials_needs_client_auth(provider: LocalProvider) -> None:
    provider.add_client("climate-engine", "ce-client", "ce-secret")
    url = provider.token_url("climate-engine")
    assert_error(requests.post(url, data={"grant_type": "client_credentials"}, timeout=TIMEOUT), 401, "invalid_client")
    bad_jwt = hs256(
        {"alg": "HS256"},
        {"iss": "ce-client", "sub": "ce-client", "aud": url, "jti": "j", "exp": int(time.time()) + 60},
        "wrong-secret",
    )
    assert_error(post_assertion(url, bad_jwt), 401, "invalid_client")


# -- CDSE openEO -----------------------------------------------------------------------------


def test_cdse_discovery(provider: LocalProvider) -> None:
    answer = requests.get(provider.discovery_url(), timeout=TIMEOUT)
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["issuer"] == provider.issuer_url() == provider.base_url + "/auth/realms/CDSE"
    assert doc["token_endpoint"] == provider.token_url("cdse-openeo")
    assert doc["device_authorization_endpoint"] == provider.device_authorization_url()
    assert doc["device_authorization_endpoint"].endswith("/protocol/openid-connect/auth/device")
    for name in ("issuer", "token_endpoint", "device_authorization_endpoint", "jwks_uri"):
        assert doc[name].startswith(provider.base_url + "/")
    assert DEVICE_GRANT in doc["grant_types_supported"]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_cdse_client_credentials(provider: LocalProvider, method: str) -> None:
    provider.add_client("cdse-openeo", "sh-client", "sh-secret")
    data = {"grant_type": "client_credentials"}
    headers: dict[str, str] = {}
    if method == "client_secret_basic":
        headers["Authorization"] = basic("sh-client", "sh-secret")
    else:
        data.update(client_id="sh-client", client_secret="sh-secret")
    answer = requests.post(provider.token_url("cdse-openeo"), data=data, headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    assert assert_accepted(provider, body["access_token"], "cdse-openeo")["subject"] == "service-account-sh-client"


def test_cdse_client_credentials_rejects_public_client(provider: LocalProvider) -> None:
    answer = requests.post(
        provider.token_url("cdse-openeo"),
        data={"grant_type": "client_credentials", "client_id": "cdse-public"},
        timeout=TIMEOUT,
    )
    assert_error(answer, 401, "invalid_client")


def test_cdse_refresh_token_rotates(provider: LocalProvider) -> None:
    refresh = provider.issue_refresh_token("cdse-openeo")
    url = provider.token_url("cdse-openeo")
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "cdse-public"}
    answer = requests.post(url, data=form, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["refresh_token"] != refresh
    assert body["refresh_expires_in"] > 0
    assert_accepted(provider, body["access_token"], "cdse-openeo")
    assert_error(requests.post(url, data=form, timeout=TIMEOUT), 400, "invalid_grant")
    provider.add_client("cdse-openeo", "another", "secret")
    stolen = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    answer = requests.post(url, data=stolen, headers={"Authorization": basic("another", "secret")}, timeout=TIMEOUT)
    assert_error(answer, 400, "invalid_grant")


def test_cdse_device_flow_with_fake_clock() -> None:
    clock = FakeClock()
    with LocalProvider(clock=clock, device_interval=5, device_code_lifetime=600) as provider:
        start = requests.post(
            provider.device_authorization_url(), data={"client_id": "cdse-public", "scope": "openid"}, timeout=TIMEOUT
        )
        assert start.status_code == 200, start.text
        grant = start.json()
        assert set(grant) >= {
            "device_code",
            "user_code",
            "verification_uri",
            "verification_uri_complete",
            "expires_in",
            "interval",
        }
        assert len(grant["user_code"]) == 9 and grant["user_code"][4] == "-"
        assert grant["user_code"].replace("-", "").isalpha() and grant["user_code"].isupper()
        assert grant["verification_uri_complete"] == f"{grant['verification_uri']}?user_code={grant['user_code']}"
        assert grant["interval"] == 5 and grant["expires_in"] == 600
        page = requests.get(grant["verification_uri_complete"], timeout=TIMEOUT)
        assert page.status_code == 200 and grant["user_code"] in page.text

        poll = {"grant_type": DEVICE_GRANT, "device_code": grant["device_code"], "client_id": "cdse-public"}
        url = provider.token_url("cdse-openeo")
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "authorization_pending")
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "slow_down")  # no time passed
        clock.advance(6)  # the interval is now 10 s (RFC 8628 §3.5: +5 s per slow_down)
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "slow_down")
        clock.advance(14)  # 15 s now: still too early
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "slow_down")
        clock.advance(21)
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "authorization_pending")

        approve = requests.post(
            provider.base_url + "/device/approve", data={"user_code": grant["user_code"].lower()}, timeout=TIMEOUT
        )
        assert approve.status_code == 200, approve.text
        clock.advance(21)
        done = requests.post(url, data=poll, timeout=TIMEOUT)
        assert done.status_code == 200, done.text
        assert done.json()["refresh_token"]
        assert_accepted(provider, done.json()["access_token"], "cdse-openeo")
        clock.advance(21)
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "invalid_grant")  # used up


def test_cdse_device_flow_denied_and_expired() -> None:
    clock = FakeClock()
    with LocalProvider(clock=clock, device_interval=0, device_code_lifetime=60) as provider:
        url = provider.token_url("cdse-openeo")
        device_url = provider.device_authorization_url()

        def start() -> dict[str, Any]:
            answer = requests.post(device_url, data={"client_id": "cdse-public"}, timeout=TIMEOUT)
            assert answer.status_code == 200
            result: dict[str, Any] = answer.json()
            return result

        denied = start()
        provider.deny_device(denied["user_code"])
        poll = {"grant_type": DEVICE_GRANT, "device_code": denied["device_code"], "client_id": "cdse-public"}
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "access_denied")
        with pytest.raises(LookupError):
            provider.approve_device(denied["user_code"])

        expiring = start()
        clock.advance(61)
        poll = {"grant_type": DEVICE_GRANT, "device_code": expiring["device_code"], "client_id": "cdse-public"}
        assert_error(requests.post(url, data=poll, timeout=TIMEOUT), 400, "expired_token")
        with pytest.raises(LookupError):
            provider.approve_device(expiring["user_code"])
        bad = requests.post(provider.base_url + "/device/approve", data={"user_code": "ZZZZ-ZZZZ"}, timeout=TIMEOUT)
        assert bad.status_code == 400


# -- generic ---------------------------------------------------------------------------------


def test_generic_grants(provider: LocalProvider, rsa_key: rsa.RSAPrivateKey) -> None:
    provider.add_client("generic", "gen-client", "gen-secret", public_jwk=public_jwk(rsa_key, "gen-kid"))
    provider.add_user("generic", "alice", "wonderland")
    url = provider.token_url("generic")

    cc = requests.post(
        url,
        data={"grant_type": "client_credentials", "scope": "read"},
        headers={"Authorization": basic("gen-client", "gen-secret")},
        timeout=TIMEOUT,
    )
    assert cc.status_code == 200, cc.text
    assert cc.json()["scope"] == "read"
    assert "refresh_token" not in cc.json()
    assert_accepted(provider, cc.json()["access_token"], "generic")

    pw = requests.post(
        url,
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "wonderland",
            "client_id": "gen-client",
            "client_secret": "gen-secret",
        },
        timeout=TIMEOUT,
    )
    assert pw.status_code == 200, pw.text
    assert assert_accepted(provider, pw.json()["access_token"], "generic")["subject"] == "alice"

    refresh = {"grant_type": "refresh_token", "refresh_token": pw.json()["refresh_token"]}
    rotated = requests.post(
        url, data=refresh, headers={"Authorization": basic("gen-client", "gen-secret")}, timeout=TIMEOUT
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != refresh["refresh_token"]
    reused = requests.post(
        url, data=refresh, headers={"Authorization": basic("gen-client", "gen-secret")}, timeout=TIMEOUT
    )
    assert_error(reused, 400, "invalid_grant")

    now = int(time.time())
    assertion = jwt.encode(
        {"iss": "gen-client", "sub": "bob", "aud": url, "exp": now + 300, "jti": "j-1"},
        rsa_key,
        algorithm="RS256",
        headers={"kid": "gen-kid"},
    )
    bearer = requests.post(url, data={"grant_type": JWT_BEARER, "assertion": assertion}, timeout=TIMEOUT)
    assert bearer.status_code == 200, bearer.text
    assert assert_accepted(provider, bearer.json()["access_token"], "generic")["subject"] == "bob"
    replay = requests.post(url, data={"grant_type": JWT_BEARER, "assertion": assertion}, timeout=TIMEOUT)
    assert_error(replay, 400, "invalid_grant")

    assert_error(requests.post(url, data={"grant_type": "implicit"}, timeout=TIMEOUT), 400, "unsupported_grant_type")
    assert_error(requests.post(url, data={"scope": "x"}, timeout=TIMEOUT), 400, "invalid_request")
    both = requests.post(
        url,
        data={"grant_type": "client_credentials", "client_id": "gen-client", "client_secret": "gen-secret"},
        headers={"Authorization": basic("gen-client", "gen-secret")},
        timeout=TIMEOUT,
    )
    assert_error(both, 400, "invalid_request")


# -- client_secret_basic encodings -----------------------------------------------------------

ODD_ID = "client id+é"
ODD_SECRET = "s:e%c+r é/t=1&2"


@pytest.mark.parametrize("server_encoding", ["rfc", "raw"])
def test_basic_encoding_rfc_vs_raw(server_encoding: str) -> None:
    with LocalProvider(basic_encoding=server_encoding) as provider:
        provider.add_client("generic", ODD_ID, ODD_SECRET)
        url = provider.token_url("generic")
        results = {}
        for client_encoding in ("rfc", "raw"):
            results[client_encoding] = requests.post(
                url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic(ODD_ID, ODD_SECRET, client_encoding)},
                timeout=TIMEOUT,
            )
        other = "raw" if server_encoding == "rfc" else "rfc"
        assert results[server_encoding].status_code == 200, results[server_encoding].text
        body = assert_error(results[other], 401, "invalid_client")
        assert f"'{other}'" in body["error_description"]  # the hint names the encoding that would match


# -- faults ----------------------------------------------------------------------------------


def cc_request(provider: LocalProvider) -> requests.Response:
    return requests.post(
        provider.token_url("generic"),
        data={"grant_type": "client_credentials", "client_id": "fault-client", "client_secret": "fault-secret"},
        timeout=TIMEOUT,
    )


@pytest.fixture
def faulty(provider: LocalProvider) -> LocalProvider:
    provider.add_client("generic", "fault-client", "fault-secret")
    return provider


def test_fault_429_with_retry_after(faulty: LocalProvider) -> None:
    faulty.set_fault("429", retry_after="7")
    faulty.set_fault("429")
    first = cc_request(faulty)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    second = cc_request(faulty)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert cc_request(faulty).status_code == 200
    assert faulty.token_requests("generic") == 3
    assert faulty.token_requests() == 3
    assert faulty.token_requests("clms") == 0
    assert [r.fault for r in faulty.requests_log] == ["429", "429", None]


def test_fault_503_times_and_status(faulty: LocalProvider) -> None:
    faulty.set_fault("503", times=2, retry_after="0")
    assert [cc_request(faulty).status_code for _ in range(3)] == [503, 503, 200]
    faulty.set_fault("503", status=500)
    answer = cc_request(faulty)
    assert answer.status_code == 500
    assert "Retry-After" not in answer.headers


def test_fault_slow(faulty: LocalProvider) -> None:
    faulty.set_fault("slow", delay=0.6)
    started = time.monotonic()
    answer = cc_request(faulty)
    assert time.monotonic() - started >= 0.55
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        faulty.set_fault("slow", delay=0)
    with pytest.raises(ValueError):
        faulty.set_fault("slow", delay=3600)
    faulty.set_fault("slow", delay=2.0)
    with pytest.raises(requests.Timeout):
        requests.post(faulty.token_url("generic"), data={"grant_type": "client_credentials"}, timeout=0.3)


def test_fault_html_page(faulty: LocalProvider) -> None:
    faulty.set_fault("html")
    answer = cc_request(faulty)
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<html>" in answer.text and "502 Bad Gateway" in answer.text
    with pytest.raises(ValueError):
        answer.json()


def test_fault_truncated_json(faulty: LocalProvider) -> None:
    faulty.set_fault("truncated_json")
    answer = cc_request(faulty)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(answer.text)


def test_fault_reset(faulty: LocalProvider) -> None:
    faulty.set_fault("reset")
    with pytest.raises(requests.ConnectionError):
        cc_request(faulty)
    assert cc_request(faulty).status_code == 200
    assert faulty.requests_log[0].status is None
    assert faulty.requests_log[0].fault == "reset"


def test_faults_hit_token_endpoints_only_and_change_no_state(faulty: LocalProvider) -> None:
    with pytest.raises(ValueError):
        faulty.set_fault("teapot")
    refresh = faulty.issue_refresh_token("openaire")
    faulty.set_fault("503")
    assert requests.get(faulty.discovery_url(), timeout=TIMEOUT).status_code == 200
    assert resource(faulty, "nothing").status_code == 401
    url = faulty.token_url("openaire", "refresh_token")
    assert requests.get(url, params={"refreshToken": refresh}, timeout=TIMEOUT).status_code == 503
    assert requests.get(url, params={"refreshToken": refresh}, timeout=TIMEOUT).status_code == 200
    faulty.set_fault("429")
    faulty.clear_faults()
    assert cc_request(faulty).status_code == 200


# -- expiry with an injected clock -----------------------------------------------------------


def test_expiry_follows_the_injected_clock() -> None:
    clock = FakeClock()
    with LocalProvider(clock=clock, token_lifetime=600) as provider:
        provider.add_client("generic", "c", "s")
        answer = requests.post(
            provider.token_url("generic"),
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic("c", "s")},
            timeout=TIMEOUT,
        )
        assert answer.json()["expires_in"] == 600
        token = answer.json()["access_token"]
        assert email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp() == clock.now
        assert_accepted(provider, token, "generic")
        clock.advance(599)
        assert_accepted(provider, token, "generic")
        clock.advance(2)
        expired = resource(provider, token)
        assert expired.status_code == 401
        assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        for bad in (resource(provider, None), resource(provider, "unknown-token")):
            assert bad.status_code == 401
            assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_assertions_are_judged_by_the_injected_clock() -> None:
    clock = FakeClock(time.time() + 3600)  # the server is an hour ahead of this machine
    with LocalProvider(clock=clock) as provider:
        provider.add_dt_service_account(DT_KID, DT_SECRET, DT_EMAIL)
        late = post_dt(provider, {"assertion": dt_assertion(provider, time.time()), "grant_type": JWT_BEARER})
        assert late.json() == {"error": "invalid_grant", "error_description": TIMING}
        synced = post_dt(provider, {"assertion": dt_assertion(provider, clock.now), "grant_type": JWT_BEARER})
        assert synced.status_code == 200


# -- secrets never leak ----------------------------------------------------------------------


def test_log_and_records_are_redacted(
    provider: LocalProvider, rsa_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="m2mauth.testing")
    secret = "CANARY-client-secret-9f3b"
    password = "CANARY-password-77aa"
    provider.add_client("generic", "canary", secret)
    provider.add_client("openaire", "oa-service", public_jwk=public_jwk(rsa_key, "oa-kid"))
    provider.add_user("generic", "carol", password)
    url = provider.token_url("generic")
    requests.post(
        url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic("canary", secret)},
        timeout=TIMEOUT,
    )
    requests.post(
        url, data={"grant_type": "client_credentials", "client_id": "canary", "client_secret": secret}, timeout=TIMEOUT
    )
    pw = requests.post(
        url, data={"grant_type": "password", "username": "carol", "password": password}, timeout=TIMEOUT
    ).json()
    assertion = openaire_assertion(provider, rsa_key)
    post_assertion(provider.token_url("openaire"), assertion)
    refresh = provider.issue_refresh_token("openaire")
    got = requests.get(
        provider.token_url("openaire", "refresh_token"), params={"refreshToken": refresh}, timeout=TIMEOUT
    ).json()
    resource(provider, got["access_token"])
    requests.get(provider.base_url + "/nowhere?refreshToken=" + refresh, timeout=TIMEOUT)

    log = provider.requests_log
    canaries = [
        secret,
        password,
        assertion,
        refresh,
        pw["refresh_token"],
        got["access_token"],
        base64.b64encode(f"canary:{secret}".encode()).decode(),
    ]
    text = repr(log) + caplog.text
    for canary in canaries:
        assert canary not in text
    assert log[0].header("Authorization") == "Basic [REDACTED]"
    assert log[0].form == (("grant_type", "client_credentials"),)
    assert log[1].field("client_secret") == "[REDACTED]"
    assert log[1].field("client_id") == "canary"
    assert log[2].field("password") == "[REDACTED]"
    assert log[3].field("client_assertion") == "[REDACTED]"
    assert log[4].query == (("refreshToken", "[REDACTED]"),)
    assert log[5].header("Authorization") == "Bearer [REDACTED]"
    assert log[0].content_type == "application/x-www-form-urlencoded"
    assert log[0].method == "POST" and log[0].path == "/oauth/token" and log[0].profile == "generic"


# -- concurrency -----------------------------------------------------------------------------


def test_many_concurrent_clients(provider: LocalProvider) -> None:
    provider.add_client("generic", "busy", "busy-secret")

    def fetch(_: int) -> str:
        with requests.Session() as session:
            answer = session.post(
                provider.token_url("generic"),
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic("busy", "busy-secret")},
                timeout=TIMEOUT,
            )
            assert answer.status_code == 200
            token: str = answer.json()["access_token"]
            assert (
                session.get(
                    provider.resource_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
                ).status_code
                == 200
            )
            return token

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        tokens = list(pool.map(fetch, range(48)))
    assert len(set(tokens)) == 48
    assert provider.token_requests("generic") == 48
    assert len(provider.requests_log) == 96


@pytest.mark.parametrize("clients", [64, 200])
def test_clients_connecting_at_the_same_instant(provider: LocalProvider, clients: int) -> None:
    """Many clients connect at one instant (a barrier releases them together), as a user's
    parallel pipeline does. With socketserver's default listen backlog of 5 the kernel
    overflowed into SYN cookies and reset most of these connections (ConnectionResetError 104)."""
    provider.add_client("generic", "burst", "burst-secret")
    start = threading.Barrier(clients)

    def fetch(_: int) -> str:
        start.wait(timeout=60)
        with requests.Session() as session:
            answer = session.post(
                provider.token_url("generic"),
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic("burst", "burst-secret")},
                timeout=TIMEOUT * 3,
            )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        tokens = list(pool.map(fetch, range(clients)))
    assert len(set(tokens)) == clients
    assert provider.token_requests("generic") == clients


# -- command line ----------------------------------------------------------------------------


def test_command_line_server() -> None:
    import m2mauth.testing

    python_dir = str(Path(m2mauth.testing.__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (python_dir, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2mauth.testing", "--lifetime", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the server printed nothing within 30 s"
        info = json.loads(proc.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        key_file = Path(info["service_key_file"])
        key = json.loads(key_file.read_text(encoding="utf-8"))
        assert key["token_uri"] == info["base_url"] + "/@@oauth2-token"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        answer = post_clms(key, clms_grant(key, time.time()))
        assert answer.status_code == 200, answer.text
        assert answer.json()["expires_in"] == 120
        creds = json.loads(Path(info["credentials_file"]).read_text(encoding="utf-8"))
        dt = creds["disruptive-technologies"]
        assert set(dt) == {"key_id", "secret", "email"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == 0
    assert not key_file.exists()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert key["private_key"] not in stderr
    proc.stdout.close()
    proc.stderr.close()


def read_first_steps(proc: subprocess.Popen[str], timeout: float) -> tuple[dict[str, Any], str]:
    """The JSON line, then the human text through the last profile's commands. A reader thread
    feeds a queue, so each wait is bounded (select() cannot see lines already buffered)."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not (len(seen) >= 3 and seen[-3].startswith("# generic")):
        try:
            seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
        except queue.Empty:
            raise AssertionError(f"the server printed only {seen!r} within {timeout} s") from None
    return json.loads(seen[0]), "".join(seen[1:])


def printed_commands(text: str) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    profile = None
    for line in text.splitlines():
        if line.startswith("# "):
            profile = line[2:].strip()
        elif line.startswith("$ ") and profile is not None:
            commands.setdefault(profile, []).append(line[2:])
    return commands


@pytest.mark.parametrize("kind", ["cli", "python"])
def test_command_line_server_prints_commands_that_get_tokens(tmp_path: Path, kind: str) -> None:
    """The first hour: every printed command (CLI and Python, one per profile) gets a token that the
    server's protected resource accepts, and none of them shows a secret. Each kind runs against a
    server of its own: OpenAIRE's refresh token rotates, and keeping the newest one across runs is
    tested where it is implemented."""
    import m2mauth.testing

    python_dir = str(Path(m2mauth.testing.__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("M2MAUTH_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (python_dir, env.get("PYTHONPATH")) if p)
    env["M2MAUTH_HOME"] = str(tmp_path / "home")  # the commands' token cache and kept refresh tokens
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2mauth.testing", "--lifetime", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        info, text = read_first_steps(proc, 30)
        assert info["token_urls"]["openaire"] == info["base_url"] + "/uoa-user-management/api/users/getAccessToken"
        assert info["openaire_service_token_url"] == info["base_url"] + "/oidc/token"
        creds = json.loads(Path(info["credentials_file"]).read_text(encoding="utf-8"))
        secret_names = ("secret", "client_secret", "password", "refresh_token", "subject_token")
        shown = [v for c in creds.values() for k, v in c.items() if k in secret_names and v in text]
        assert shown == []
        commands = printed_commands(text)
        assert set(commands) == set(creds) | {"clms"}
        for profile, pair in commands.items():
            assert len(pair) == 2, (profile, pair)
            assert " -m m2mauth token " in pair[0] and "m2mauth.fetch_token(" in pair[1]
            command = pair[0] if kind == "cli" else pair[1]
            run = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=60)
            assert run.returncode == 0, (profile, command, run.stderr)
            token = run.stdout.strip()
            assert token and "\n" not in token, (profile, run.stdout)
            answer = requests.get(info["resource_url"], headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
            assert answer.status_code == 200, (profile, command, answer.text)
            assert answer.json()["profile"] == profile
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
