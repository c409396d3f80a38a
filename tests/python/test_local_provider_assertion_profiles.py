"""LocalProvider's signed-grant profiles: CLMS and Disruptive Technologies.

The tests build every request by hand, as local_provider_helpers.py explains."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from local_provider_helpers import (
    DT_EMAIL,
    DT_KID,
    DT_SECRET,
    ENTITY,
    JWT_BEARER,
    REPO,
    TIMEOUT,
    TIMING,
    assert_accepted,
    assert_error,
    clms_grant,
    dt_assertion,
    hs256,
    post_clms,
    post_dt,
)

from m2mauth.testing import LocalProvider

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
