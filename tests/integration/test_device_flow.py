"""The device flow (RFC 8628) against the local provider's CDSE realm (issue 3, part 6).

The protocol generator is first stepped by hand with no network at all; then ``login`` runs it
over real HTTP, approved by a scripted user who POSTs to the provider's approval endpoint.
Waits go through an injected ``sleep`` that moves the provider's FakeClock (or waits for the
approver), so no test sleeps through a polling interval.
"""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth import ConfigError, FileStore, TokenEndpointError, TokenSource
from m2mauth.client_auth import ClientAuth
from m2mauth.device import Answer, DeviceAuthorization, Prompt, Send, device_flow
from m2mauth.grants import device_authorization, device_code
from m2mauth.testing import LocalProvider

try:
    from .conftest_lifecycle import HTTP_TIMEOUT, FakeClock, ProviderFactory, lifecycle_provider, read_record
except ImportError:
    from conftest_lifecycle import HTTP_TIMEOUT, FakeClock, ProviderFactory, lifecycle_provider, read_record

__all__ = ["lifecycle_provider"]

JSON = "application/json"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
COUNTDOWN = re.compile(r"Waiting for approval\.\.\. (\d+):(\d\d) left")


# -- the generator, by hand -------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the device flow generator must not do I/O")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def answer(status: int, body: dict[str, Any]) -> Answer:
    return Answer(status, json.dumps(body).encode(), JSON, now=1_767_225_600.0)


def new_flow(expires_in: int = 30, interval: int = 2) -> tuple[Any, DeviceAuthorization]:
    client = ClientAuth("none", "cdse-public")
    start = device_authorization("https://idp.example/device", client, scope="openid offline_access")
    flow = device_flow(start, lambda code: device_code("https://idp.example/token", code, client))
    first = next(flow)
    assert isinstance(first, Send) and first.request is start and first.wait == 0
    assert start.method == "POST" and dict(start.form)["client_id"] == "cdse-public"
    step = flow.send(
        answer(
            200,
            {
                "device_code": "DEV-CODE",
                "user_code": "BCDF-GHJK",
                "verification_uri": "https://idp.example/device",
                "verification_uri_complete": "https://idp.example/device?user_code=BCDF-GHJK",
                "expires_in": expires_in,
                "interval": interval,
            },
        )
    )
    assert isinstance(step, Prompt)
    return flow, step.authorization


def pending(error: str = "authorization_pending") -> Answer:
    return answer(400, {"error": error})


def test_generator_steps_prompt_poll_slow_down_and_token(no_network: None) -> None:
    flow, authorization = new_flow(expires_in=30, interval=2)
    assert authorization.user_code == "BCDF-GHJK"
    assert authorization.verification_uri_complete == "https://idp.example/device?user_code=BCDF-GHJK"
    assert "DEV-CODE" not in repr(authorization)
    step = flow.send(None)
    assert isinstance(step, Send) and (step.wait, step.left) == (2, 30)
    form = dict(step.request.form)
    assert form["grant_type"] == DEVICE_GRANT and form["device_code"] == "DEV-CODE"
    step = flow.send(pending())
    assert (step.wait, step.left) == (2, 28)
    step = flow.send(pending("slow_down"))
    assert (step.wait, step.left) == (7, 26)  # RFC 8628 §3.5: the interval grows by 5 s
    step = flow.send(pending())
    assert (step.wait, step.left) == (7, 19)
    with pytest.raises(StopIteration) as done:
        flow.send(answer(200, {"access_token": "at", "refresh_token": "rt", "expires_in": 300}))
    token = done.value.value
    assert token.access_token == "at" and token.refresh_token == "rt"
    assert token.expires_at.timestamp() == 1_767_225_600.0 + 300


def test_generator_expires_by_itself(no_network: None) -> None:
    flow, _ = new_flow(expires_in=5, interval=2)
    waits = [flow.send(None).wait]
    waits.append(flow.send(pending()).wait)
    waits.append(flow.send(pending()).wait)
    assert waits == [2, 2, 1]  # the last wait stops at the expiry
    with pytest.raises(TokenEndpointError) as caught:
        flow.send(pending())
    assert caught.value.code == "expired_token"
    assert caught.value.hint and "again" in caught.value.hint


@pytest.mark.parametrize(("error", "word"), [("access_denied", "denied"), ("expired_token", "expired")])
def test_generator_raises_final_poll_errors_with_hints(no_network: None, error: str, word: str) -> None:
    flow, _ = new_flow()
    flow.send(None)
    with pytest.raises(TokenEndpointError) as caught:
        flow.send(pending(error))
    assert caught.value.code == error
    assert caught.value.hint and word in caught.value.hint


def test_generator_refused_start(no_network: None) -> None:
    client = ClientAuth("none", "unknown-client")
    flow = device_flow(
        device_authorization("https://idp.example/device", client),
        lambda code: device_code("https://idp.example/token", code, client),
    )
    next(flow)
    with pytest.raises(TokenEndpointError) as caught:
        flow.send(answer(401, {"error": "invalid_client", "error_description": "Invalid client"}))
    assert caught.value.code == "invalid_client"


# -- login() over HTTP ------------------------------------------------------------------------


class Approver:
    """The user: a thread that approves (or denies) the code over HTTP, as a browser would."""

    def __init__(self, provider: LocalProvider, decision: str = "approve") -> None:
        self.provider, self.decision = provider, decision
        self.done = threading.Event()
        self.prompts: list[DeviceAuthorization] = []
        self.answers: list[int] = []

    def __call__(self, authorization: DeviceAuthorization) -> None:
        self.prompts.append(authorization)
        threading.Thread(target=self._decide, args=(authorization.user_code,), daemon=True).start()

    def _decide(self, user_code: str) -> None:
        try:
            reply = requests.post(
                f"{self.provider.base_url}/device/{self.decision}", data={"user_code": user_code}, timeout=HTTP_TIMEOUT
            )
            self.answers.append(reply.status_code)
        finally:
            self.done.set()

    def sleep(self, seconds: float) -> None:
        assert self.done.wait(timeout=20), "the approver did not answer"


def login_options(provider: LocalProvider, store: FileStore) -> dict[str, Any]:
    return {"issuer": provider.issuer_url(), "client_id": "cdse-public", "store": store}


def polls(provider: LocalProvider) -> list[Any]:
    return [r for r in provider.requests_log if r.field("grant_type") == DEVICE_GRANT]


def test_login_then_refresh_token_then_token_source_then_logout(
    lifecycle_provider: ProviderFactory, tmp_path: Any
) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    store = FileStore(tmp_path / "store")
    approver = Approver(provider)
    progress = io.StringIO()
    token = m2mauth.login(
        "cdse-openeo", prompt=approver, sleep=approver.sleep, progress=progress, **login_options(provider, store)
    )
    assert approver.answers == [200]
    (authorization,) = approver.prompts
    assert authorization.verification_uri.startswith(provider.base_url)
    assert (
        authorization.verification_uri_complete
        == f"{authorization.verification_uri}?user_code={authorization.user_code}"
    )
    assert token.refresh_token
    assert requests.get(provider.resource_url, headers={"Authorization": token.authorization}, timeout=10).ok
    shown = progress.getvalue()
    minutes, seconds = map(int, COUNTDOWN.search(shown).groups())  # type: ignore[union-attr]
    assert minutes * 60 + seconds == 600  # the countdown starts at the device code's lifetime
    assert "Authorized successfully." in shown
    assert token.access_token not in shown and token.refresh_token not in shown
    record = read_record(tmp_path / "store")
    assert record is not None and record["refresh_token"] == token.refresh_token
    assert [r.status for r in polls(provider)] == [200]

    # The next run is not interactive.
    progress = io.StringIO()
    again = m2mauth.login(
        "cdse-openeo", prompt=pytest.fail, sleep=pytest.fail, progress=progress, **login_options(provider, store)
    )
    assert "Authenticated using refresh token." in progress.getvalue()
    assert again.access_token != token.access_token
    assert provider.refresh_token_reuses() == {"accepted": 0, "refused": 0}
    assert len(polls(provider)) == 1

    # A TokenSource for the same profile and client uses the stored login.
    source = TokenSource("cdse-openeo", **login_options(provider, store))
    assert source.token().access_token == again.access_token  # read from the store, no request
    before = provider.token_requests()
    renewed = source.token(force=True)
    assert provider.token_requests() == before + 1
    assert provider.requests_log[-1].field("grant_type") == "refresh_token"
    assert requests.get(provider.resource_url, headers={"Authorization": renewed.authorization}, timeout=10).ok

    assert m2mauth.logout("cdse-openeo", **login_options(provider, store)) is True
    assert read_record(tmp_path / "store") is None
    assert m2mauth.logout("cdse-openeo", **login_options(provider, store)) is False
    with pytest.raises(ConfigError) as caught:
        TokenSource("cdse-openeo", **login_options(provider, store)).token()
    assert caught.value.code == "login_required"


def test_login_prints_the_prompt_by_default(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    progress = io.StringIO()

    def sleep(seconds: float) -> None:  # the "user" reads the code from the screen and approves it
        code = re.search(r"enter the code ([A-Z]{4}-[A-Z]{4})", progress.getvalue())
        assert code, progress.getvalue()
        provider.approve_device(code.group(1))

    token = m2mauth.login(
        "cdse-openeo", sleep=sleep, progress=progress, **login_options(provider, FileStore(tmp_path / "s"))
    )
    assert token.refresh_token
    assert re.search(r"Visit http://127\.0\.0\.1:\d+/\S+\?user_code=[A-Z-]+ to authenticate", progress.getvalue())


def test_login_honours_slow_down(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock, device_interval=1)
    asked: list[float] = []
    codes: list[str] = []

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        if len(asked) == 2:
            clock.advance(seconds / 2)  # poll too early once: the server answers slow_down
            return
        clock.advance(seconds)
        if len(asked) == 3:
            provider.approve_device(codes[0])

    token = m2mauth.login(
        "cdse-openeo",
        prompt=lambda auth: codes.append(auth.user_code),
        sleep=sleep,
        progress=io.StringIO(),
        **login_options(provider, FileStore(tmp_path / "s")),
    )
    assert token.refresh_token
    assert asked == [1, 1, 6]  # the interval grew by 5 s after slow_down
    assert [r.status for r in polls(provider)] == [400, 400, 200]


def test_login_access_denied(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    approver = Approver(provider, decision="deny")
    with pytest.raises(TokenEndpointError) as caught:
        m2mauth.login(
            "cdse-openeo",
            prompt=approver,
            sleep=approver.sleep,
            progress=io.StringIO(),
            **login_options(provider, FileStore(tmp_path / "s")),
        )
    assert caught.value.code == "access_denied"
    assert caught.value.hint and "denied" in caught.value.hint
    assert read_record(tmp_path / "s") is None


def test_login_expired_token(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock, device_interval=1, device_code_lifetime=3)
    progress = io.StringIO()
    with pytest.raises(TokenEndpointError) as caught:
        m2mauth.login(
            "cdse-openeo",
            prompt=lambda auth: None,  # nobody approves
            sleep=clock.advance,
            progress=progress,
            **login_options(provider, FileStore(tmp_path / "s")),
        )
    assert caught.value.code == "expired_token"
    assert caught.value.hint and "again" in caught.value.hint
    assert [r.status for r in polls(provider)] == [400, 400, 400]
    countdown = [int(m) * 60 + int(s) for m, s in COUNTDOWN.findall(progress.getvalue())]
    assert countdown == [3, 2, 1]


def test_login_with_a_token_url_but_no_issuer_never_contacts_the_real_provider(
    lifecycle_provider: ProviderFactory, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    looked_up: list[Any] = []
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: looked_up.append(host) or real(host, *a, **k))
    with pytest.raises(ConfigError) as caught:
        m2mauth.login(
            "cdse-openeo",
            token_url=provider.token_url("cdse-openeo"),
            client_id="cdse-public",
            store=FileStore(tmp_path / "s"),
            progress=io.StringIO(),
            prompt=pytest.fail,
        )
    assert "issuer=" in (caught.value.hint or "")
    assert not [h for h in looked_up if "copernicus" in str(h)]


def test_login_with_token_url_and_issuer(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    approver = Approver(provider)
    token = m2mauth.login(
        "cdse-openeo",
        prompt=approver,
        sleep=approver.sleep,
        progress=io.StringIO(),
        token_url=provider.token_url("cdse-openeo"),
        **login_options(provider, FileStore(tmp_path / "s")),
    )
    assert token.refresh_token
    assert all(r.path.startswith("/auth/realms/CDSE") or r.path.startswith("/device") for r in provider.requests_log)


# -- issue 8, part 7: the device flow as django-oauth-toolkit exposed it -------------------------
# The local provider's generic server plays such a server: RFC 8414 metadata only (no OpenID
# discovery), optionally no device endpoint in it, and only the scopes "read" and "write" (another
# scope is refused with invalid_scope when the approved code is polled).


def device_starts(provider: LocalProvider) -> list[Any]:
    starts = ("/oauth/device-authorization", "/auth/realms/CDSE/protocol/openid-connect/auth/device")
    return [r for r in provider.requests_log if r.path in starts]


def generic_login(provider: LocalProvider, tmp_path: Any, **credentials: Any) -> m2mauth.Token:
    provider.add_client("generic", "dot-public")  # a public client, as django-oauth-toolkit registers one
    approver = Approver(provider)
    return m2mauth.login(
        "generic",
        prompt=approver,
        sleep=approver.sleep,
        progress=io.StringIO(),
        client_id="dot-public",
        store=FileStore(tmp_path / "s"),
        **credentials,
    )


def test_generic_login_sends_no_scope_and_finds_rfc8414_metadata(
    lifecycle_provider: ProviderFactory, tmp_path: Any
) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    token = generic_login(provider, tmp_path, issuer=provider.issuer_url("generic"))
    assert token.refresh_token
    assert requests.get(provider.resource_url, headers={"Authorization": token.authorization}, timeout=10).ok
    (start,) = device_starts(provider)
    assert start.field("scope") is None and start.field("client_id") == "dot-public"
    # OpenID discovery has no answer (404); RFC 8414 metadata is tried next and names the endpoints.
    looked = [(r.path, r.status) for r in provider.requests_log if "/.well-known/" in r.path]
    assert looked == [("/.well-known/openid-configuration", 404), ("/.well-known/oauth-authorization-server", 200)]


def test_profile_default_scope_and_explicit_empty_scope(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    for given, sent in (({}, "openid offline_access"), ({"scope": ""}, None), ({"scope": "openid"}, "openid")):
        approver = Approver(provider)
        store = FileStore(tmp_path / f"s{len(device_starts(provider))}")
        options = {**login_options(provider, store), **given}
        m2mauth.login("cdse-openeo", prompt=approver, sleep=approver.sleep, progress=io.StringIO(), **options)
        assert device_starts(provider)[-1].field("scope") == sent, given


def test_generic_login_with_a_scope_the_server_knows(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    token = generic_login(provider, tmp_path, issuer=provider.issuer_url("generic"), scope="read")
    assert token.scope == "read"
    assert device_starts(provider)[-1].field("scope") == "read"


def test_poll_error_names_the_token_endpoint(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    with pytest.raises(TokenEndpointError) as caught:
        generic_login(provider, tmp_path, issuer=provider.issuer_url("generic"), scope="openid offline_access")
    assert caught.value.code == "invalid_scope"  # refused after the user approved, as django-oauth-toolkit does
    assert caught.value.url == provider.token_url("generic")
    assert [r.status for r in polls(provider)] == [400]


def test_metadata_without_a_device_endpoint_says_so(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1, advertise_device_endpoint=False)
    with pytest.raises(ConfigError) as caught:
        generic_login(provider, tmp_path, issuer=provider.issuer_url("generic"))
    assert caught.value.code == "device_flow_unsupported"
    assert "names no device_authorization_endpoint" in caught.value.message
    assert provider.issuer_url("generic") in caught.value.message
    hint = caught.value.hint or ""
    assert "device_authorization_url=" in hint and "issuer=" not in hint  # the user already gave issuer=
    assert device_starts(provider) == []

    # device_authorization_url= names the endpoint the server does not advertise.
    token = generic_login(
        provider,
        tmp_path,
        issuer=provider.issuer_url("generic"),
        device_authorization_url=provider.device_authorization_url("generic"),
    )
    assert token.refresh_token
    assert len(device_starts(provider)) == 1


def test_token_url_and_device_authorization_url_without_discovery(
    lifecycle_provider: ProviderFactory, tmp_path: Any
) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    token = generic_login(
        provider,
        tmp_path,
        token_url=provider.token_url("generic"),
        device_authorization_url=provider.device_authorization_url("generic"),
    )
    assert token.refresh_token
    assert not [r for r in provider.requests_log if "/.well-known/" in r.path]
    assert [r.status for r in polls(provider)] == [200]


def test_device_authorization_url_alone_for_another_server_than_the_profiles(
    lifecycle_provider: ProviderFactory, tmp_path: Any
) -> None:
    provider = lifecycle_provider(token_lifetime=600, device_interval=1)
    with pytest.raises(ConfigError) as caught:
        m2mauth.login(
            "cdse-openeo",
            device_authorization_url=provider.device_authorization_url(),
            client_id="cdse-public",
            store=FileStore(tmp_path / "s"),
            progress=io.StringIO(),
            prompt=pytest.fail,
        )
    assert caught.value.code == "missing_credential"
    assert "token_url=" in str(caught.value)
    assert provider.requests_log == []


def test_rfc8414_metadata_url_keeps_the_issuer_path() -> None:
    from m2mauth.transport import metadata_urls

    assert metadata_urls("https://idp.example/tenant/one") == (
        "https://idp.example/tenant/one/.well-known/openid-configuration",
        "https://idp.example/.well-known/oauth-authorization-server/tenant/one",  # RFC 8414 §3.1
    )
