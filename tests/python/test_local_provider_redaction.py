"""LocalProvider never lets a secret into its log or records.

The tests build every request by hand, as local_provider_helpers.py explains."""

from __future__ import annotations

import base64
import logging

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from local_provider_helpers import (
    TIMEOUT,
    basic,
    openaire_assertion,
    post_assertion,
    public_jwk,
    resource,
)

from m2mauth.testing import LocalProvider

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
