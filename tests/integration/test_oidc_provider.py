"""m2mauth against a real, independent OpenID provider: the certified node ``oidc-provider``.

The provider runs on 127.0.0.1 (fixture ``oidc_provider`` in ``conftest_oidc.py``) with 4-second
access tokens and rotating refresh tokens, so expiry, renewal and rotation really happen here:

* client_credentials with private_key_jwt (RS256, kid, a fresh jti per request);
* the device flow, approved by a scripted browser over HTTP (user code, confirmation, login,
  consent), through ``m2mauth.login`` and through the ``device_flow`` generator by hand;
* refresh after real expiry, rotation persisted to a FileStore, the old refresh token refused.

Every HTTP call has a timeout; every wait is bounded.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

import m2mauth
from m2mauth import grants
from m2mauth.client_auth import ClientAuth
from m2mauth.device import Answer, DeviceAuthorization, Prompt, Send, device_flow
from m2mauth.profiles import Profile, load_profile, spec_path
from m2mauth.source import INVALID, TokenSource

try:  # tests/integration as a package
    from .conftest_oidc import (  # type: ignore[import-not-found, unused-ignore]
        ApprovalError,
        OidcProvider,
        oidc_provider,
    )
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_oidc import ApprovalError, OidcProvider, oidc_provider  # noqa: F401  (the fixture, found by name)

HTTP_TIMEOUT = 10.0
APPROVAL_TIMEOUT = 30.0
EXPIRY_WAIT_LIMIT = 8.0  # the longest a test waits for a 4-second token to expire


# --------------------------------------------------------------------------- helpers


def _b64json(segment: str) -> dict[str, Any]:
    data = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert isinstance(data, dict)
    return data


def _jwt_parts(jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _signature = jwt.split(".")
    return _b64json(header), _b64json(claims)


def _recording_session() -> tuple[requests.Session, list[requests.PreparedRequest]]:
    """A requests.Session that keeps every request it sent (to read the client assertions)."""
    session = requests.Session()
    sent: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    return session, sent


def _form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body.decode("ascii") if isinstance(request.body, bytes) else str(request.body or "")
    return {name: values[0] for name, values in parse_qs(body, strict_parsing=True).items()}


def device_profile() -> Profile:
    """The generic profile if it offers device login; otherwise generic plus a device_code flow.

    ``login("generic", ...)`` needs a flow with grant device_code in spec/profiles/generic.json
    (reported to the profile owner). Until it has one, the tests use the same profile with that
    flow added, as a user-supplied profile would.
    """
    generic = load_profile("generic")
    if any(flow.grant == "device_code" for flow in generic.flows):
        return generic
    data = json.loads(spec_path("profiles", "generic.json").read_text(encoding="utf-8"))
    data["name"] = "generic-device"
    data["flows"].append(
        {
            "name": "device_code",
            "grant": "device_code",
            "description": "RFC 8628 device login (give issuer= for discovery); the refresh token is stored.",
            "requires": ["client_id"],
            "auth_methods": ["none"],
        }
    )
    return load_profile(data)


def wait_until_expired(expires_at: float, limit: float = EXPIRY_WAIT_LIMIT) -> None:
    """Sleep until a moment after ``expires_at`` (bounded: a token living longer fails the test)."""
    left = expires_at - time.time()
    assert left <= limit, f"the token lives {left:.1f} s more; the provider's short TTL is not in effect"
    time.sleep(max(0.0, left) + 0.3)


class Approver:
    """A ``prompt=`` callback for ``m2mauth.login``: starts a thread that approves the user code over
    HTTP, as a person in a browser would; ``join()`` re-raises whatever went wrong in that thread."""

    def __init__(self, provider: OidcProvider, *, deny: bool = False) -> None:
        self.provider, self.deny = provider, deny
        self.authorizations: list[DeviceAuthorization] = []
        self.result: str | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, authorization: DeviceAuthorization) -> None:
        self.authorizations.append(authorization)
        self._thread = threading.Thread(target=self._run, args=(authorization.user_code,), daemon=True)
        self._thread.start()

    def _run(self, user_code: str) -> None:
        try:
            self.result = self.provider.approve(user_code, deny=self.deny)
        except BaseException as error:  # handed to join() in the test's thread
            self.error = error

    def join(self) -> str | None:
        assert self._thread is not None, "login never prompted"
        self._thread.join(APPROVAL_TIMEOUT)
        assert not self._thread.is_alive(), "the approver is still running"
        if self.error is not None:
            raise self.error
        return self.result


# The generic profile has no default scope (issue 8 part 7): a device login asks for what it needs.
DEVICE_SCOPE = "openid offline_access"


def login(
    provider: OidcProvider, store: m2mauth.FileStore, *, sleep: Callable[[float], None] | None = None
) -> tuple[m2mauth.Token, Approver, str]:
    """One device login through ``m2mauth.login``, approved by the scripted browser."""
    approver = Approver(provider)
    progress = io.StringIO()
    token = m2mauth.login(
        device_profile(),
        prompt=approver,
        store=store,
        timeout=HTTP_TIMEOUT,
        sleep=sleep or time.sleep,
        progress=progress,
        issuer=provider.issuer,
        client_id=provider.device_client_id,
        scope=DEVICE_SCOPE,
    )
    if approver.authorizations:
        assert approver.join() == "Sign-in Success"
    return token, approver, progress.getvalue()


def fast_sleep(waits: list[float]) -> Callable[[float], None]:
    """A sleep that records what was asked and waits at most 0.5 s: oidc-provider sends no
    ``interval``, so m2mauth waits the RFC's 5 s default; tests that are not about polling
    need not pay it (oidc-provider does not enforce slow_down)."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 0.5))

    return sleep


def device_source(provider: OidcProvider, store: m2mauth.FileStore) -> TokenSource:
    """The TokenSource that renews what ``login`` stored (same profile, issuer, client, scope)."""
    return TokenSource(
        device_profile(),
        store=store,
        flow="device_code",
        timeout=HTTP_TIMEOUT,
        issuer=provider.issuer,
        client_id=provider.device_client_id,
        scope=DEVICE_SCOPE,
    )


def replay_refresh_token(provider: OidcProvider, refresh_token: str) -> requests.Response:
    """Send a refresh_token grant by hand, as an attacker (or a buggy second process) would."""
    return requests.post(
        provider.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": provider.device_client_id},
        headers={"Accept": "application/json"},
        timeout=HTTP_TIMEOUT,
    )


# --------------------------------------------------------------------------- discovery


def test_discovery_finds_the_endpoints(oidc_provider: OidcProvider) -> None:
    metadata = m2mauth.discover(oidc_provider.issuer, timeout=HTTP_TIMEOUT)
    assert metadata["issuer"] == oidc_provider.issuer
    assert metadata["token_endpoint"] == oidc_provider.issuer + "/token"
    assert metadata["device_authorization_endpoint"] == oidc_provider.issuer + "/device/auth"
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in metadata["grant_types_supported"]


# --------------------------------------------------------------------------- client_credentials + private_key_jwt


def test_client_credentials_with_private_key_jwt(oidc_provider: OidcProvider) -> None:
    session, sent = _recording_session()
    common = {
        "token_url": oidc_provider.token_url,
        "client_id": oidc_provider.m2m_client_id,
        "key_id": oidc_provider.key_id,
        "scope": oidc_provider.m2m_scope,
        "session": session,
        "timeout": HTTP_TIMEOUT,
    }
    first = m2mauth.fetch_token("generic", private_key=oidc_provider.private_key_pem, **common)
    second = m2mauth.fetch_token("generic", private_key=dict(oidc_provider.private_jwk), **common)

    # Two tokens, both accepted by the provider: no replay refusal of the second assertion.
    assert first.access_token != second.access_token
    for token in (first, second):
        assert token.token_type.lower() == "bearer"
        assert token.scope == oidc_provider.m2m_scope
        assert token.lifetime == pytest.approx(oidc_provider.ttl["ClientCredentials"], abs=1)
        view = oidc_provider.introspect(token.access_token)
        assert view["active"] is True
        assert view["client_id"] == oidc_provider.m2m_client_id
        assert view["scope"] == oidc_provider.m2m_scope
        assert view["iss"] == oidc_provider.issuer

    # What was sent: RFC 7523 §2.2 client assertions with the key's kid and a fresh jti each time.
    assert len(sent) == 2
    jtis = []
    for request in sent:
        form = _form(request)
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assert "client_secret" not in form and "Authorization" not in request.headers
        header, claims = _jwt_parts(form["client_assertion"])
        assert header["alg"] == "RS256"
        assert header["kid"] == oidc_provider.key_id
        assert claims["iss"] == claims["sub"] == oidc_provider.m2m_client_id
        assert claims["aud"] == oidc_provider.token_url
        assert 0 < claims["exp"] - claims["iat"] <= 300
        jtis.append(claims["jti"])
    assert len(set(jtis)) == 2 and all(len(jti) >= 16 for jti in jtis)


def test_client_assertion_is_single_use_and_m2mauth_signs_a_new_one(oidc_provider: OidcProvider) -> None:
    session, sent = _recording_session()
    kwargs = {
        "token_url": oidc_provider.token_url,
        "client_id": oidc_provider.m2m_client_id,
        "private_key": oidc_provider.private_key_pem,
        "key_id": oidc_provider.key_id,
        "scope": oidc_provider.m2m_scope,
        "session": session,
        "timeout": HTTP_TIMEOUT,
    }
    m2mauth.fetch_token("generic", **kwargs)
    # The provider keeps the jti: the very same request sent again is refused...
    replay = requests.post(
        oidc_provider.token_url,
        data=sent[0].body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        timeout=HTTP_TIMEOUT,
    )
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    # ...while m2mauth's next call, with a new assertion, is not.
    again = m2mauth.fetch_token("generic", **kwargs)
    assert oidc_provider.introspect(again.access_token)["active"] is True


def test_unregistered_kid_is_refused_with_a_hint(oidc_provider: OidcProvider) -> None:
    # The client's JWKS holds two RSA keys: the provider picks the verification key by kid.
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "generic",
            token_url=oidc_provider.token_url,
            client_id=oidc_provider.m2m_client_id,
            private_key=oidc_provider.private_key_pem,
            key_id="not-registered",
            scope=oidc_provider.m2m_scope,
            timeout=HTTP_TIMEOUT,
        )
    error = caught.value
    assert error.code == "invalid_client"
    assert error.status == 401
    assert error.hint and "client" in error.hint
    assert oidc_provider.private_key_pem not in str(error)


def test_scope_outside_the_registration_is_invalid_scope(oidc_provider: OidcProvider) -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "generic",
            token_url=oidc_provider.token_url,
            client_id=oidc_provider.m2m_client_id,
            private_key=oidc_provider.private_key_pem,
            key_id=oidc_provider.key_id,
            scope="email",  # a scope the provider knows but this client is not registered for
            timeout=HTTP_TIMEOUT,
        )
    assert caught.value.code == "invalid_scope"
    assert caught.value.hint


def test_token_source_repeats_client_credentials_after_real_expiry(oidc_provider: OidcProvider) -> None:
    source = TokenSource(
        "generic",
        token_url=oidc_provider.token_url,
        client_id=oidc_provider.m2m_client_id,
        private_key=oidc_provider.private_key_pem,
        key_id=oidc_provider.key_id,
        scope=oidc_provider.m2m_scope,
        timeout=HTTP_TIMEOUT,
    )
    first = source.token()
    assert source.token() is first  # cached while fresh
    assert source.requests_made == 1
    assert first.expires_at is not None
    wait_until_expired(first.expires_at.timestamp())
    assert oidc_provider.introspect(first.access_token)["active"] is False  # the provider agrees
    assert source.state(first) == INVALID

    second = source.token()
    assert source.requests_made == 2  # no refresh token: the original grant, with a new assertion
    assert second.access_token != first.access_token
    assert oidc_provider.introspect(second.access_token)["active"] is True


# --------------------------------------------------------------------------- device flow


def test_device_login_with_a_scripted_approver(oidc_provider: OidcProvider, tmp_path: Path) -> None:
    store = m2mauth.FileStore(tmp_path / "tokens")
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the real wait, recorded
        waits.append(seconds)
        time.sleep(seconds)

    token, approver, progress = login(oidc_provider, store, sleep=sleep)

    # The prompt got what a user needs, from oidc-provider's device authorization response.
    (authorization,) = approver.authorizations
    assert authorization.verification_uri == oidc_provider.verification_uri
    assert authorization.verification_uri_complete == (
        f"{oidc_provider.verification_uri}?user_code={authorization.user_code}"
    )
    assert authorization.interval == 5  # none sent: RFC 8628 §3.2's default
    assert waits and all(wait >= 5 for wait in waits), waits  # and m2mauth waited it between polls
    assert "Authorized successfully." in progress

    # The token: an access token for alice, a refresh token (offline_access), an ID token.
    assert token.refresh_token
    assert token.id_token
    assert set((token.scope or "").split()) >= {"openid", "offline_access"}
    assert token.lifetime == pytest.approx(oidc_provider.ttl["AccessToken"], abs=1)
    view = oidc_provider.introspect(token.access_token)
    assert view["active"] is True and view["sub"] == "alice" and view["client_id"] == oidc_provider.device_client_id
    _, id_claims = _jwt_parts(token.id_token)
    assert id_claims["iss"] == oidc_provider.issuer and id_claims["sub"] == "alice"

    # Stored, on disk, under the key TokenSource uses: the next run needs no login.
    stored = m2mauth.FileStore(tmp_path / "tokens").get(device_source(oidc_provider, store).key)
    assert stored is not None
    assert stored.access_token == token.access_token
    assert stored.refresh_token == token.refresh_token

    # The next login is non-interactive: "Authenticated using refresh token", and it rotated.
    again, second_approver, second_progress = login(oidc_provider, store)
    assert second_approver.authorizations == []
    assert "Authenticated using refresh token." in second_progress
    assert again.refresh_token and again.refresh_token != token.refresh_token
    assert store.get(device_source(oidc_provider, store).key).refresh_token == again.refresh_token  # type: ignore[union-attr]


def test_refresh_after_real_expiry_rotates_and_persists(oidc_provider: OidcProvider, tmp_path: Path) -> None:
    store = m2mauth.FileStore(tmp_path / "tokens")
    waits: list[float] = []
    token, _, _ = login(oidc_provider, store, sleep=fast_sleep(waits))
    assert token.refresh_token and token.expires_at is not None

    source = device_source(oidc_provider, store)
    wait_until_expired(token.expires_at.timestamp())
    assert oidc_provider.introspect(token.access_token)["active"] is False  # really expired at the provider
    assert source.state(store.get(source.key)) == INVALID

    renewed = source.token()
    assert source.requests_made == 1
    assert renewed.access_token != token.access_token
    assert renewed.refresh_token and renewed.refresh_token != token.refresh_token  # rotated
    assert oidc_provider.introspect(renewed.access_token)["active"] is True
    assert source.token() is renewed  # fresh again: no second request
    assert source.requests_made == 1

    # The rotated refresh token reached the disk (a new FileStore reads the file, not a cache).
    on_disk = m2mauth.FileStore(tmp_path / "tokens").get(source.key)
    assert on_disk is not None and on_disk.refresh_token == renewed.refresh_token

    # The old refresh token is spent: the provider refuses it when replayed by hand.
    replay = replay_refresh_token(oidc_provider, token.refresh_token)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"

    # oidc-provider takes that replay for theft and revokes the whole grant (RFC 9700 §4.14.2):
    # the current refresh token dies too, and m2mauth says so instead of looping.
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        source.token(force=True)
    assert caught.value.code == "invalid_grant"
    assert caught.value.hint


def test_rejected_old_refresh_token_is_invalid_grant_with_a_hint(oidc_provider: OidcProvider, tmp_path: Path) -> None:
    store = m2mauth.FileStore(tmp_path / "tokens")
    token, _, _ = login(oidc_provider, store, sleep=fast_sleep([]))
    old = token.refresh_token
    assert old
    renewed = device_source(oidc_provider, store).token(force=True)  # spends `old`
    assert renewed.refresh_token != old

    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "generic",
            token_url=oidc_provider.token_url,
            client_id=oidc_provider.device_client_id,
            refresh_token=old,
            timeout=HTTP_TIMEOUT,
        )
    error = caught.value
    assert error.code == "invalid_grant"
    assert error.status == 400
    assert error.error == "invalid_grant"
    assert error.error_description  # oidc-provider's public text: "grant request is invalid"
    assert error.hint and "refresh token" in error.hint  # m2mauth's: "...already used or expired"

    assert old not in str(error) and old not in repr(error)

    # An unknown refresh token reads the same way (oidc-provider: "refresh token not found").
    with pytest.raises(m2mauth.TokenEndpointError) as unknown:
        m2mauth.fetch_token(
            "generic",
            token_url=oidc_provider.token_url,
            client_id=oidc_provider.device_client_id,
            refresh_token="not-a-refresh-token",
            timeout=HTTP_TIMEOUT,
        )
    assert unknown.value.code == "invalid_grant" and unknown.value.hint


def _drive(
    flow: Any, on_prompt: Callable[[DeviceAuthorization], None], on_answer: Callable[[Answer], None]
) -> tuple[m2mauth.Token, list[float]]:
    """Run the I/O-free device_flow generator with requests (what login() does, by hand)."""
    waits: list[float] = []
    step = next(flow)
    try:
        for _ in range(100):  # bounded: 60 s device code / 0.2 s capped waits
            if isinstance(step, Prompt):
                on_prompt(step.authorization)
                step = flow.send(None)
                continue
            assert isinstance(step, Send)
            if step.wait:
                waits.append(step.wait)
                time.sleep(min(step.wait, 0.2))
            response = requests.request(
                step.request.method,
                step.request.full_url,
                headers=dict(step.request.headers),
                data=step.request.body.encode("ascii"),
                timeout=HTTP_TIMEOUT,
                allow_redirects=False,
            )
            answer = Answer(response.status_code, response.content, response.headers.get("Content-Type"), time.time())
            on_answer(answer)
            step = flow.send(answer)
        raise AssertionError("the device flow did not finish")
    except StopIteration as done:
        return done.value, waits


def test_device_flow_generator_driven_by_hand(oidc_provider: OidcProvider) -> None:
    client = ClientAuth("none", oidc_provider.device_client_id)
    start = grants.device_authorization(oidc_provider.device_authorization_url, client, scope="openid offline_access")
    flow = device_flow(start, lambda code: grants.device_code(oidc_provider.token_url, code, client))

    pending: list[str] = []
    codes: list[str] = []

    def on_answer(answer: Answer) -> None:
        body = json.loads(answer.body)
        if body.get("error") == "authorization_pending":
            pending.append(body["error"])
            if len(pending) == 1:  # approve only once the provider has said "pending"
                assert oidc_provider.approve(codes[0]) == "Sign-in Success"

    token, waits = _drive(flow, lambda authorization: codes.append(authorization.user_code), on_answer)
    assert pending == ["authorization_pending"]
    assert len(waits) == 2 and all(wait == 5 for wait in waits)
    assert token.refresh_token and token.id_token
    assert oidc_provider.introspect(token.access_token)["active"] is True


def test_device_flow_denied_by_the_user(oidc_provider: OidcProvider) -> None:
    client = ClientAuth("none", oidc_provider.device_client_id)
    start = grants.device_authorization(oidc_provider.device_authorization_url, client, scope="openid offline_access")
    flow = device_flow(start, lambda code: grants.device_code(oidc_provider.token_url, code, client))

    def deny(authorization: DeviceAuthorization) -> None:
        assert oidc_provider.approve(authorization.user_code, deny=True) != "Sign-in Success"

    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        _drive(flow, deny, lambda answer: None)
    assert caught.value.code == "access_denied"
    assert caught.value.hint and "denied" in caught.value.hint


def test_wrong_password_is_refused_by_the_login_page(oidc_provider: OidcProvider) -> None:
    client = ClientAuth("none", oidc_provider.device_client_id)
    start = requests.post(
        oidc_provider.device_authorization_url,
        data=dict(grants.device_authorization(oidc_provider.device_authorization_url, client, scope="openid").form),
        timeout=HTTP_TIMEOUT,
    ).json()
    with pytest.raises(ApprovalError, match="consent"):
        oidc_provider.approve(start["user_code"], password="wrong")
