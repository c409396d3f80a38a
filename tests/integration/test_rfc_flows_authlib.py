"""Every RFC flow m2mauth builds, accepted by an independent server made of Authlib's components.

The server (tests/integration/authlib_server/server.py) runs on 127.0.0.1 as its own process; it
checks the bytes m2mauth sends with Authlib's code, not ours.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

import m2mauth
from m2mauth import MemoryStore, TokenSource

try:
    from .conftest_authlib import ASSERTION_SUBJECT, AuthlibServer  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    from conftest_authlib import ASSERTION_SUBJECT, AuthlibServer


def resource_ok(server: AuthlibServer, token: m2mauth.Token) -> dict[str, Any]:
    response = requests.get(server.resource_url, headers={"Authorization": token.authorization}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("role", ["basic", "post", "secret_jwt"])
def test_client_credentials_with_secret_methods(authlib_server: AuthlibServer, role: str) -> None:
    client = authlib_server.clients[role]
    token = m2mauth.fetch_token(
        "generic", token_url=authlib_server.token_url, client_id=client.client_id,
        client_secret=client.client_secret, auth_method=client.auth_method,
    )
    body = resource_ok(authlib_server, token)
    assert body["client_id"] == client.client_id
    assert body["auth_method"] == client.auth_method


@pytest.mark.parametrize("role", ["private_jwt", "private_jwt_ec"])
def test_client_credentials_with_private_key_jwt(authlib_server: AuthlibServer, role: str) -> None:
    client = authlib_server.clients[role]
    assert client.key is not None
    for _ in range(2):  # a fresh jti each time: the server refuses a replayed one
        token = m2mauth.fetch_token(
            "generic", token_url=authlib_server.token_url, client_id=client.client_id,
            private_key=client.key.private_pem, key_id=client.key.kid,
        )
        assert resource_ok(authlib_server, token)["auth_method"] == "private_key_jwt"


def test_basic_auth_rfc_encoding_is_decoded_by_authlib(authlib_server: AuthlibServer) -> None:
    """Id and secret holding ':', '%', '+', '/', 'é' and spaces: the RFC encoding reaches Authlib intact."""
    for role in ("special", "space"):
        client = authlib_server.clients[role]
        token = m2mauth.fetch_token("generic", token_url=authlib_server.token_url, client_id=client.client_id,
                                    client_secret=client.client_secret, auth_method="client_secret_basic")
        assert resource_ok(authlib_server, token)["client_id"] == client.client_id


def test_basic_auth_raw_encoding_fails_where_authlib_decodes(authlib_server: AuthlibServer) -> None:
    client = authlib_server.clients["special"]
    profile = dict(json_profile("generic"), basic_encoding="raw")
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(profile, token_url=authlib_server.token_url, client_id=client.client_id,
                            client_secret=client.client_secret, auth_method="client_secret_basic")
    assert caught.value.code == "invalid_client"
    assert client.client_secret not in str(caught.value)


def json_profile(name: str) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(m2mauth.profiles.spec_path("profiles", f"{name}.json").read_text())
    return data


def test_password_then_refresh_token_with_rotation(authlib_server: AuthlibServer) -> None:
    client = authlib_server.clients["password"]
    user = authlib_server.users["alice"]
    token = m2mauth.fetch_token("generic", token_url=authlib_server.token_url, username=user.username,
                                password=user.password, client_id=client.client_id, client_secret=client.client_secret,
                                auth_method="client_secret_basic")
    assert token.refresh_token
    resource_ok(authlib_server, token)
    renewed = m2mauth.fetch_token("generic", token_url=authlib_server.token_url, refresh_token=token.refresh_token,
                                  client_id=client.client_id, client_secret=client.client_secret,
                                  auth_method="client_secret_basic")
    assert renewed.refresh_token and renewed.refresh_token != token.refresh_token
    resource_ok(authlib_server, renewed)
    # Passing the original again uses the kept newest one (the default) ...
    again = m2mauth.fetch_token("generic", token_url=authlib_server.token_url, refresh_token=token.refresh_token,
                                client_id=client.client_id, client_secret=client.client_secret,
                                auth_method="client_secret_basic")
    assert again.refresh_token not in (token.refresh_token, renewed.refresh_token)
    with pytest.raises(m2mauth.TokenEndpointError) as caught:  # ... without keeping, the old one was rotated away
        m2mauth.fetch_token("generic", token_url=authlib_server.token_url, refresh_token=token.refresh_token,
                            client_id=client.client_id, client_secret=client.client_secret,
                            auth_method="client_secret_basic", keep_refresh_token=False)
    assert caught.value.code == "invalid_grant"
    assert caught.value.hint


def test_public_client_password_grant(authlib_server: AuthlibServer) -> None:
    client = authlib_server.clients["public"]
    user = authlib_server.users["alice"]
    token = m2mauth.fetch_token("generic", token_url=authlib_server.token_url, username=user.username,
                                password=user.password, client_id=client.client_id, auth_method="none")
    resource_ok(authlib_server, token)


@pytest.mark.parametrize("role", ["rsa", "hmac"])
def test_jwt_bearer_grant(authlib_server: AuthlibServer, role: str) -> None:
    issuer = authlib_server.issuers[role]
    key: dict[str, Any] = (
        {"private_key": issuer.key.private_pem} if issuer.key is not None else {"secret": issuer.hmac_secret}
    )
    token = m2mauth.fetch_token("generic", flow="jwt_bearer", token_url=authlib_server.token_url,
                                client_id=issuer.iss, username=ASSERTION_SUBJECT, **key)
    assert resource_ok(authlib_server, token)


def test_jwt_bearer_hs256_with_rsa_key_is_refused_before_sending(authlib_server: AuthlibServer) -> None:
    issuer = authlib_server.issuers["rsa"]
    assert issuer.key is not None
    before = authlib_server.stats()
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.plan_request("generic", flow="jwt_bearer", alg="HS256", token_url=authlib_server.token_url,
                             client_id=issuer.iss, private_key=issuer.key.private_pem)
    assert caught.value.code == "key_algorithm_mismatch"
    assert authlib_server.stats() == before


def test_wrong_secret_is_explained(authlib_server: AuthlibServer) -> None:
    client = authlib_server.clients["basic"]
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("generic", token_url=authlib_server.token_url, client_id=client.client_id,
                            client_secret="not-the-secret")
    assert caught.value.code == "invalid_client"
    assert "client" in (caught.value.hint or "")
    assert m2mauth.explain(caught.value).code == "invalid_client"


def test_token_source_renews_short_lived_client_credentials(authlib_server: AuthlibServer) -> None:
    client = authlib_server.clients["short"]  # 1-second tokens
    source = TokenSource("generic", store=MemoryStore(), token_url=authlib_server.token_url,
                         client_id=client.client_id, client_secret=client.client_secret)
    first = source.token()
    assert source.token() is first  # cached while fresh (margin: half of a 1 s lifetime)
    import time

    deadline = time.monotonic() + 5
    while source.token().access_token == first.access_token and time.monotonic() < deadline:
        time.sleep(0.1)
    assert source.token().access_token != first.access_token
    resource_ok(authlib_server, source.token())
