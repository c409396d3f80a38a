"""Every profile's flow gets a token from the local provider, and its documented failures are explained.

The local provider (m2mauth.testing) checks the requests with PyJWT and its own parsers, not with
m2mauth's builders, on the providers' own paths and with their exact error texts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

import m2mauth
from m2mauth import jws
from m2mauth.testing import LocalProvider

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_local import resource  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_local import resource

TIMEOUT = 10


def test_clms_service_key_as_downloaded(provider: LocalProvider, tmp_path: Any) -> None:
    key_file = tmp_path / "land-copernicus.json"
    key_file.write_text(json.dumps(provider.make_clms_service_key()))
    token = m2mauth.fetch_token("clms", service_key=str(key_file))
    assert resource(provider, token)["profile"] == "clms"
    assert token.token_type == "Bearer" and 590 <= (token.expires_in or 0) <= 600
    sent = [r for r in provider.requests_log if r.token_endpoint][-1]
    assert sent.content_type == "application/x-www-form-urlencoded"
    assert [name for name, _ in sent.form] == ["grant_type", "assertion"]


def test_disruptive_technologies_from_environment(provider: LocalProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    provider.add_dt_service_account("m2m-test-kid", "m2m-test-secret-value", "svc@example.serviceaccount.d21s.com")
    monkeypatch.setenv("DT_SERVICE_ACCOUNT_KEY_ID", "m2m-test-kid")
    monkeypatch.setenv("DT_SERVICE_ACCOUNT_SECRET", "m2m-test-secret-value")
    monkeypatch.setenv("DT_SERVICE_ACCOUNT_EMAIL", "svc@example.serviceaccount.d21s.com")
    token = m2mauth.fetch_token("disruptive-technologies", token_url=provider.token_url("disruptive-technologies"))
    assert resource(provider, token)["profile"] == "disruptive-technologies"


def test_openaire_personal_refresh_rotates(provider: LocalProvider) -> None:
    first = provider.issue_refresh_token("openaire")
    url = provider.token_url("openaire", "personal_refresh")
    token = m2mauth.fetch_token("openaire", refresh_token=first, token_url=url)
    assert token.expires_at is not None  # expires_in came as a string
    assert token.refresh_token and token.refresh_token != first
    resource(provider, token)
    # By default the rotated token was kept: passing the original again uses the newest one.
    again = m2mauth.fetch_token("openaire", refresh_token=first, token_url=url)
    assert again.refresh_token and again.refresh_token not in (first, token.refresh_token)
    # Without keeping, the spent original is what is sent, and the server refuses it.
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("openaire", refresh_token=first, token_url=url, keep_refresh_token=False)
    assert caught.value.code == "invalid_grant"
    assert "one month" in (caught.value.hint or "") or "replaced" in (caught.value.hint or "")


def test_openaire_basic_and_advanced_services(provider: LocalProvider) -> None:
    provider.add_client("openaire", "svc-basic", client_secret="basic-secret:+%é")
    token = m2mauth.fetch_token("openaire", client_id="svc-basic", client_secret="basic-secret:+%é",
                                token_url=provider.token_url("openaire"))
    assert token.scope == "openid"
    resource(provider, token)

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = m2mauth.load_key(private_pem(private), kid="svc-adv-key-1")
    provider.add_client("openaire", "svc-advanced", public_jwk=jwk.public_jwk())
    for _ in range(2):  # fresh jti each time; the provider refuses replays
        token = m2mauth.fetch_token("openaire", client_id="svc-advanced", private_key=private_pem(private),
                                    key_id="svc-adv-key-1", token_url=provider.token_url("openaire"))
        resource(provider, token)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "client_secret_jwt"])
def test_climate_engine_client_credentials(provider: LocalProvider, method: str) -> None:
    provider.add_client("climate-engine", "ce-client", client_secret="ce-secret-value")
    token = m2mauth.fetch_token("climate-engine", client_id="ce-client", client_secret="ce-secret-value",
                                auth_method=method, token_url=provider.token_url("climate-engine"))
    resource(provider, token)
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert token.expires_at is not None and int(token.expires_at.timestamp()) in (claims["exp"], claims["exp"] - 1,
                                                                                    claims["exp"] + 1)


def test_climate_engine_password(provider: LocalProvider) -> None:
    provider.add_user("climate-engine", "me@example.org", "pw with spaces & symbols")
    token = m2mauth.fetch_token("climate-engine", username="me@example.org", password="pw with spaces & symbols",
                                token_url=provider.token_url("climate-engine"))
    resource(provider, token)


def test_cdse_openeo_client_credentials_from_environment_and_discovery(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.add_client("cdse-openeo", "cdse-client", client_secret="cdse-secret")
    monkeypatch.setenv("OPENEO_AUTH_CLIENT_ID", "cdse-client")
    monkeypatch.setenv("OPENEO_AUTH_CLIENT_SECRET", "cdse-secret")
    token = m2mauth.fetch_token("cdse-openeo", token_url=provider.token_url("cdse-openeo"))
    resource(provider, token)
    via_issuer = m2mauth.fetch_token("generic", issuer=provider.issuer_url("cdse-openeo"), client_id="cdse-client",
                                     client_secret="cdse-secret")
    resource(provider, via_issuer)


def test_generic_client_credentials(provider: LocalProvider) -> None:
    provider.add_client("generic", "gen-client", client_secret="gen-secret")
    token = m2mauth.fetch_token("generic", token_url=provider.token_url("generic"), client_id="gen-client",
                                client_secret="gen-secret")
    resource(provider, token)


# -- the documented failures, explained --------------------------------------------------------


def test_clms_json_body_answer_is_explained(provider: LocalProvider) -> None:
    key = provider.make_clms_service_key()
    now = int(time.time())
    grant = jwt.encode({"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"], "iat": now,
                        "exp": now + 3600}, key["private_key"], algorithm="RS256")
    # The R seed's mistake: a JSON body (httr2::req_body_json) with a form content type.
    answer = requests.post(key["token_uri"], timeout=TIMEOUT, data=json.dumps(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    explanation = m2mauth.explain(answer, "clms")
    assert explanation.code == "body_not_form_encoded"
    assert "form-encoded" in (explanation.hint or "")


def test_clms_hmac_grant_answer_is_explained(provider: LocalProvider) -> None:
    key = provider.make_clms_service_key()
    now = int(time.time())
    # httr2::jwt_encode_hmac with the PEM as secret and header alg RS256: an HMAC labelled twice.
    # PyJWT refuses a PEM as an HMAC secret, so sign by hand as jose (under httr2) does.
    header = jws.json_segment({"typ": "JWT", "alg": "HS256", "alg.1": "RS256"})
    claims = jws.json_segment({"iss": key["client_id"], "sub": key["user_id"], "aud": key["token_uri"],
                                       "iat": now, "exp": now + 3600})
    signing_input = jws.signing_input(header, claims)
    digest = hmac.new(key["private_key"].encode(), signing_input.encode(), hashlib.sha256).digest()
    grant = signing_input + "." + jws.b64url_encode(digest)
    answer = requests.post(key["token_uri"], timeout=TIMEOUT, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
    assert m2mauth.explain(answer, "clms").code == "wrong_signature_algorithm"
    diagnosis = m2mauth.inspect(grant, "clms")
    assert {"duplicate_alg_header", "hmac_instead_of_rsa"} <= set(diagnosis.codes())


def test_rsa_key_refused_for_hs256_before_anything_is_sent(provider: LocalProvider) -> None:
    key = provider.make_clms_service_key()
    before = provider.token_requests()
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.plan_request("clms", alg="HS256", service_key=key)
    assert caught.value.code == "key_algorithm_mismatch"
    assert "RS256" in (caught.value.hint or "")
    assert provider.token_requests() == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "wrong-secret"}, "invalid_signature"),
        ({"email": "someone-else@example.org"}, "untrusted_entity"),
        ({"clock_offset": 600}, "assertion_timing"),
    ],
)
def test_disruptive_technologies_errors_carry_the_fix(provider: LocalProvider, change: dict[str, Any],
                                                      code: str) -> None:
    provider.add_dt_service_account("kid-1", "right-secret", "svc@example.org")
    credentials = {"key_id": "kid-1", "secret": "right-secret", "email": "svc@example.org"}
    offset = change.pop("clock_offset", 0)
    credentials.update(change)
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("disruptive-technologies", token_url=provider.token_url("disruptive-technologies"),
                            clock=lambda: time.time() + offset, **credentials)
    assert caught.value.provider_code == code
    assert caught.value.hint
    assert m2mauth.explain(caught.value, "disruptive-technologies").code == code
    assert "right-secret" not in str(caught.value) and "wrong-secret" not in str(caught.value)
