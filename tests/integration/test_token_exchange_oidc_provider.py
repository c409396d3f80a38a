"""RFC 8693 token exchange through the ``generic`` profile against the node ``oidc-provider``.

oidc-provider 9.13.3 (the pinned version) has no token-exchange feature of its own; server.mjs
registers the grant through its documented ``registerGrantType`` extension point. oidc-provider
itself authenticates each exchanging client with the method registered for it
(client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt), parses the
parameters and keeps the tokens; the handler accepts only subject tokens found, unexpired, in
oidc-provider's own token store. Expiry is real (4-second subject tokens, 2-second exchanged
ones): waits are on the provider's own introspection answer, each bounded.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth.source import STALE, TokenSource

try:  # tests/integration as a package
    from .conftest_oidc import OidcProvider, oidc_provider  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_oidc import OidcProvider, oidc_provider  # noqa: F401  (the fixture, found by name)

HTTP_TIMEOUT = 10.0
WAIT_LIMIT = 10.0  # the longest a test waits for a 4-second token to expire
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt")


def subject_token(op: OidcProvider) -> str:
    """An access token of another client (client_credentials), as a service would hold it."""
    client_id, secret = op.subject_client
    answer = requests.post(
        op.token_url,
        data={"grant_type": "client_credentials", "scope": op.m2m_scope},
        auth=(client_id, secret),
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def exchange_credentials(op: OidcProvider, method: str) -> dict[str, Any]:
    client_id, secret = op.exchange_clients[method]
    creds: dict[str, Any] = {"issuer": op.issuer, "client_id": client_id, "auth_method": method}
    if secret is None:
        creds.update(private_key=op.private_key_pem, key_id=op.key_id)
    else:
        creds["client_secret"] = secret
    return creds


def wait_inactive(op: OidcProvider, token: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while op.introspect(token).get("active"):
        assert time.monotonic() < deadline, "the token did not expire in time"
        time.sleep(0.1)


@pytest.mark.parametrize("method", METHODS)
def test_token_exchange_with_each_client_auth_method(oidc_provider: OidcProvider, method: str) -> None:
    op = oidc_provider
    subject = subject_token(op)
    token = m2mauth.fetch_token(
        "generic", subject_token=subject, audience=op.subject_client[0], scope=op.m2m_scope,
        **exchange_credentials(op, method),
    )
    assert token.issued_token_type == ACCESS_TOKEN_TYPE
    assert token.access_token != subject
    info = op.introspect(token.access_token)
    assert info["active"] is True
    assert info["client_id"] == op.exchange_clients[method][0]
    assert info["scope"] == op.m2m_scope


def test_unknown_audience_is_refused_with_the_servers_error(oidc_provider: OidcProvider) -> None:
    op = oidc_provider
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "generic", subject_token=subject_token(op), audience="no-such-client",
            **exchange_credentials(op, "client_secret_basic"),
        )
    assert caught.value.error == "invalid_target"


def test_wrong_client_secret_is_invalid_client_not_an_expired_subject(oidc_provider: OidcProvider) -> None:
    op = oidc_provider
    creds = exchange_credentials(op, "client_secret_post")
    creds["client_secret"] = "not-the-secret-" + "x" * 40
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("generic", subject_token=subject_token(op), **creds)
    assert caught.value.code == "invalid_client"


def test_renewal_repeats_the_exchange_then_the_expired_subject_is_named(oidc_provider: OidcProvider) -> None:
    op = oidc_provider
    subject = subject_token(op)
    source = TokenSource("generic", subject_token=subject, **exchange_credentials(op, "private_key_jwt"))
    first = source.token()
    assert first.lifetime is not None and first.lifetime <= op.exchanged_ttl
    # The exchanged token (2 s) goes stale long before the subject token (4 s) expires.
    deadline = time.monotonic() + WAIT_LIMIT
    while source.state(first) != STALE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = source.token()
    assert second.access_token != first.access_token and source.requests_made == 2
    assert op.introspect(second.access_token)["active"] is True

    wait_inactive(op, subject)  # the provider's own word that the subject token expired
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        source.token(force=True)
    error = caught.value
    assert error.code == "subject_token_expired" and error.error == "invalid_grant"
    assert error.hint and "subject_token=" in error.hint
    assert subject not in str(error)
