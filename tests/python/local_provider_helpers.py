"""Helpers shared by the tests of m2mauth.testing.LocalProvider (test_local_provider_*.py).

The tests talk to the provider over real HTTP with requests and build every grant by hand with
pyjwt, cryptography and the stdlib: nothing of the rest of m2mauth is used, so the provider is
checked as an independent peer. The provider and key fixtures are in conftest.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from m2mauth.testing import LocalProvider

TIMEOUT = 10
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REPO = Path(__file__).resolve().parents[2]


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


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(str(RSAAlgorithm.to_jwk(key.public_key())))
    jwk.update({"kid": kid, "alg": "RS256"})
    return jwk


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
