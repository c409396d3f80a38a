"""LocalProvider's OAuth profiles (OpenAIRE, Climate Engine, CDSE openEO, generic) and Basic encodings.

The tests build every request by hand, as local_provider_helpers.py explains."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from local_provider_helpers import (
    CLIENT_ASSERTION_TYPE,
    DEVICE_GRANT,
    JWT_BEARER,
    TIMEOUT,
    FakeClock,
    assert_accepted,
    assert_error,
    basic,
    hs256,
    openaire_assertion,
    post_assertion,
    public_jwk,
)

from m2mauth.testing import LocalProvider

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
