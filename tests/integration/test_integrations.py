"""requests and httpx integrations over real HTTP (issue 3, part 8).

A 401 is produced honestly: the provider runs on a FakeClock that the test moves past the
token's expiry while the client, on the real clock, still thinks its token is fresh — the
situation of a token revoked or expired early on the server.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth import ConfigError, FileStore, RetryPolicy, TokenSource, TransportError
from m2mauth.testing import LocalProvider

try:
    from .conftest_lifecycle import HTTP_TIMEOUT, FakeClock, ProviderFactory, lifecycle_provider
except ImportError:
    from conftest_lifecycle import HTTP_TIMEOUT, FakeClock, ProviderFactory, lifecycle_provider

__all__ = ["lifecycle_provider"]

SECRET = "integration-canary-secret"


def credentials(provider: LocalProvider) -> dict[str, Any]:
    provider.add_client("generic", "integration-client", SECRET)
    return {"token_url": provider.token_url("generic"), "client_id": "integration-client", "client_secret": SECRET}


def resource_requests(provider: LocalProvider, method: str | None = None) -> list[Any]:
    return [
        r for r in provider.requests_log if r.path.endswith("/api/resource") and (method is None or r.method == method)
    ]


@pytest.fixture
def skewed(lifecycle_provider: ProviderFactory) -> tuple[LocalProvider, FakeClock]:
    """A provider on a FakeClock (10-minute tokens); the clients use the real clock."""
    clock = FakeClock()
    return lifecycle_provider(token_lifetime=600, clock=clock), clock


# -- requests ---------------------------------------------------------------------------------


def test_auth_adds_the_bearer_header(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    auth = m2mauth.Auth("generic", **credentials(provider))
    for _ in range(5):
        answer = requests.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert answer.request.headers["Authorization"] == auth.source.token().authorization
    assert provider.token_requests() == 1
    assert all(r.header("Authorization") == "Bearer [REDACTED]" for r in resource_requests(provider))


def test_401_forces_one_refresh_and_one_retry(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    http = m2mauth.session("generic", **credentials(provider))
    first = http.get(provider.resource_url, timeout=HTTP_TIMEOUT)
    assert first.status_code == 200 and first.history == []
    clock.advance(700)  # the server now considers the client's token expired; the client does not know
    answer = http.get(provider.resource_url, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert [r.status_code for r in answer.history] == [401]
    assert answer.history[0].request.headers["Authorization"] != answer.request.headers["Authorization"]
    assert provider.token_requests() == 2
    again = http.get(provider.resource_url, timeout=HTTP_TIMEOUT)
    assert again.status_code == 200 and again.history == []
    assert provider.token_requests() == 2
    assert len(resource_requests(provider)) == 4


def test_401_from_many_threads_is_one_refresh(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    auth = m2mauth.Auth("generic", **credentials(provider))
    assert requests.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT).status_code == 200
    clock.advance(700)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def work() -> None:
        with requests.Session() as http:
            barrier.wait(timeout=30)
            for _ in range(5):
                statuses.append(http.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT).status_code)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 40
    assert provider.token_requests() == 2


def test_a_second_401_is_returned_not_retried_again(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    elsewhere = lifecycle_provider(token_lifetime=600)  # knows none of provider's tokens: always 401
    auth = m2mauth.Auth("generic", **credentials(provider))
    answer = requests.get(elsewhere.resource_url, auth=auth, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 401
    assert [r.status_code for r in answer.history] == [401]
    assert provider.token_requests() == 2  # one forced refresh
    assert len(resource_requests(elsewhere)) == 2  # one retry, no loop


def test_a_streamed_body_is_not_retried(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    http = m2mauth.session("generic", **credentials(provider))
    assert http.get(provider.resource_url, timeout=HTTP_TIMEOUT).status_code == 200
    clock.advance(700)

    def body() -> Iterator[bytes]:
        yield b"chunk-1;"
        yield b"chunk-2"

    answer = http.post(provider.resource_url, data=body(), timeout=HTTP_TIMEOUT)
    assert answer.status_code == 401
    assert answer.history == []
    assert len(resource_requests(provider, "POST")) == 1
    # The rejected token was renewed all the same, so the caller's next attempt works.
    assert provider.token_requests() == 2
    answer = http.post(provider.resource_url, data=body(), timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    assert provider.token_requests() == 2


def test_a_bytes_body_is_retried(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    http = m2mauth.session("generic", **credentials(provider))
    assert http.get(provider.resource_url, timeout=HTTP_TIMEOUT).status_code == 200
    clock.advance(700)
    answer = http.post(provider.resource_url, data=b"payload", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    assert [r.status_code for r in answer.history] == [401]
    assert len(resource_requests(provider, "POST")) == 2


def test_session_pickles_and_shares_a_file_store(lifecycle_provider: ProviderFactory, tmp_path: Path) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    http = m2mauth.session("generic", store=FileStore(tmp_path / "store"), **credentials(provider))
    assert http.get(provider.resource_url, timeout=HTTP_TIMEOUT).status_code == 200
    copy = pickle.loads(pickle.dumps(http))
    assert isinstance(copy.auth, m2mauth.Auth)
    assert copy.get(provider.resource_url, timeout=HTTP_TIMEOUT).status_code == 200
    auth_copy = pickle.loads(pickle.dumps(http.auth))
    assert requests.get(provider.resource_url, auth=auth_copy, timeout=HTTP_TIMEOUT).status_code == 200
    assert provider.token_requests() == 1


# -- refused configurations -------------------------------------------------------------------


@pytest.fixture
def no_lookups(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records every host name resolution (each connection starts with one)."""
    seen: list[Any] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return seen


INSECURE = {"token_url": "http://auth.example.org/token", "client_id": "c", "client_secret": SECRET}


@pytest.mark.parametrize(
    "make",
    [
        lambda: m2mauth.session("generic", **INSECURE).get("http://127.0.0.1:9/", timeout=1),
        lambda: m2mauth.Auth("generic", **INSECURE),
        lambda: TokenSource("generic", **INSECURE).token(),
        lambda: m2mauth.fetch_token("generic", **INSECURE),
        lambda: m2mauth.HttpxAuth("generic", **INSECURE),
    ],
    ids=["session", "Auth", "TokenSource", "fetch_token", "HttpxAuth"],
)
def test_plain_http_to_a_remote_host_is_refused_before_any_connection(make: Any, no_lookups: list[Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        make()
    assert caught.value.code == "insecure_url"
    assert SECRET not in str(caught.value)
    assert no_lookups == []


def test_plain_http_to_loopback_is_allowed(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    creds = credentials(provider)
    assert creds["token_url"].startswith("http://127.0.0.1:")
    assert TokenSource("generic", **creds).token().access_token


@pytest.mark.parametrize(
    "make",
    [
        lambda creds: m2mauth.session("generic", verify=False, **creds),
        lambda creds: m2mauth.Auth("generic", verify=False, **creds),
        lambda creds: TokenSource("generic", verify=False, **creds),
        lambda creds: m2mauth.fetch_token("generic", verify=False, **creds),
        lambda creds: m2mauth.HttpxAuth("generic", verify=False, **creds),
    ],
    ids=["session", "Auth", "TokenSource", "fetch_token", "HttpxAuth"],
)
def test_tls_verification_cannot_be_turned_off(lifecycle_provider: ProviderFactory, make: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    with pytest.raises(ConfigError) as caught:
        make(credentials(provider))
    assert caught.value.code == "insecure_tls"
    assert provider.token_requests() == 0


def test_an_explicit_proxy_is_used_for_token_requests(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    with socket.socket() as closed:  # a port nobody listens on: the "proxy" refuses connections
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    source = TokenSource(
        "generic", proxies={"http": f"http://127.0.0.1:{port}"}, retry=RetryPolicy(attempts=1), **credentials(provider)
    )
    with pytest.raises(TransportError) as caught:
        source.token()
    assert caught.value.code == "proxy_error"
    assert provider.token_requests() == 0


def test_a_proxy_from_the_environment_is_used(
    lifecycle_provider: ProviderFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    source = TokenSource("generic", retry=RetryPolicy(attempts=1), **credentials(provider))
    with pytest.raises(TransportError) as caught:
        source.token()
    assert caught.value.code == "proxy_error"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert source.token().access_token  # NO_PROXY honoured too
    assert provider.token_requests() == 1


# -- httpx ------------------------------------------------------------------------------------

httpx = pytest.importorskip("httpx")


def test_httpx_sync_bearer_and_401(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    auth = m2mauth.HttpxAuth("generic", **credentials(provider))
    with httpx.Client(auth=auth, timeout=HTTP_TIMEOUT) as client:
        answer = client.get(provider.resource_url)
        assert answer.status_code == 200
        assert answer.request.headers["Authorization"].startswith("Bearer ")
        clock.advance(700)
        answer = client.get(provider.resource_url)
        assert answer.status_code == 200
        assert [r.status_code for r in answer.history] == [401]
        assert client.get(provider.resource_url).history == []
    assert provider.token_requests() == 2
    assert len(resource_requests(provider)) == 4


def test_httpx_async_bearer_and_401(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    auth = m2mauth.HttpxAuth("generic", **credentials(provider))

    async def run() -> list[Any]:
        async with httpx.AsyncClient(auth=auth, timeout=HTTP_TIMEOUT) as client:
            first = await client.get(provider.resource_url)
            clock.advance(700)
            burst = await asyncio.gather(*(client.get(provider.resource_url) for _ in range(8)))
            return [first, *burst]

    answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [200] * 9
    assert sum(1 for a in answers if a.history) >= 1
    assert all([r.status_code for r in a.history] in ([], [401]) for a in answers)
    assert provider.token_requests() == 2  # the burst of 401s renewed once


def test_httpx_streamed_body_is_not_retried(skewed: tuple[LocalProvider, FakeClock]) -> None:
    provider, clock = skewed
    auth = m2mauth.HttpxAuth("generic", **credentials(provider))

    def body() -> Iterator[bytes]:
        yield b"chunk-1;"
        yield b"chunk-2"

    with httpx.Client(auth=auth, timeout=HTTP_TIMEOUT) as client:
        assert client.get(provider.resource_url).status_code == 200
        clock.advance(700)
        answer = client.post(provider.resource_url, content=body())
        assert answer.status_code == 401
        assert answer.history == []
        assert provider.token_requests() == 2  # renewed for the next call
        assert client.post(provider.resource_url, content=body()).status_code == 200
    assert len(resource_requests(provider, "POST")) == 2


def test_httpx_auth_over_an_existing_source(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = TokenSource("generic", **credentials(provider))
    with httpx.Client(auth=m2mauth.HttpxAuth(source=source), timeout=HTTP_TIMEOUT) as client:
        assert client.get(provider.resource_url).status_code == 200
    assert requests.get(provider.resource_url, auth=m2mauth.Auth(source=source), timeout=HTTP_TIMEOUT).ok
    assert provider.token_requests() == 1


# -- issue 8, part 8: 403 invalid_token, no header of our own, invalidate(), basic_encoding -----


class DataAPI:
    """A data API on loopback that refuses the first token it sees with ``status`` and
    ``WWW-Authenticate`` (as a server that revoked it would), accepts later ones, and records
    every request's headers."""

    def __init__(self, status: int, challenge: str | None) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        api = self
        self.status, self.challenge = status, challenge
        self.seen: list[dict[str, str]] = []
        self.refused: str | None = None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = dict(self.headers.items())
                api.seen.append(headers)
                token = headers.get("Authorization", "")
                if api.refused is None:
                    api.refused = token
                if token == api.refused:
                    self.send_response(api.status)
                    if api.challenge:
                        self.send_header("WWW-Authenticate", api.challenge)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/data"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def data_api() -> Iterator[Any]:
    made: list[DataAPI] = []

    def make(status: int, challenge: str | None) -> DataAPI:
        made.append(DataAPI(status, challenge))
        return made[-1]

    yield make
    for api in made:
        api.close()


INVALID_TOKEN_CHALLENGE = 'Bearer realm="data", error="invalid_token", error_description="The token was revoked"'


def test_403_invalid_token_renews_and_retries_once_with_no_header_of_ours(
    lifecycle_provider: ProviderFactory, data_api: Any
) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    api = data_api(403, INVALID_TOKEN_CHALLENGE)
    answer = requests.get(api.url, auth=m2mauth.Auth("generic", **credentials(provider)), timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200
    assert [r.status_code for r in answer.history] == [403]
    assert provider.token_requests() == 2
    first, retry = api.seen
    assert first["Authorization"] != retry["Authorization"]
    assert set(retry) == set(first)  # the retry is the same request with a new token, nothing added
    assert not [name for name in retry if name.lower().startswith("x-m2mauth")]


def test_a_bare_403_is_returned_and_invalidate_renews(lifecycle_provider: ProviderFactory, data_api: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    api = data_api(403, None)
    auth = m2mauth.Auth("generic", **credentials(provider))
    assert requests.get(api.url, auth=auth, timeout=HTTP_TIMEOUT).status_code == 403
    assert len(api.seen) == 1 and provider.token_requests() == 1  # "not allowed": no renewal, no retry
    auth.invalidate()  # the caller knows the server revoked it
    assert requests.get(api.url, auth=auth, timeout=HTTP_TIMEOUT).status_code == 200
    assert provider.token_requests() == 2


def test_a_403_for_another_reason_is_not_retried(lifecycle_provider: ProviderFactory, data_api: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    api = data_api(403, 'Bearer error="insufficient_scope"')
    auth = m2mauth.Auth("generic", **credentials(provider))
    assert requests.get(api.url, auth=auth, timeout=HTTP_TIMEOUT).status_code == 403
    assert len(api.seen) == 1 and provider.token_requests() == 1


def test_httpx_403_invalid_token_and_invalidate(lifecycle_provider: ProviderFactory, data_api: Any) -> None:
    httpx = pytest.importorskip("httpx")
    provider = lifecycle_provider(token_lifetime=600)
    api = data_api(403, INVALID_TOKEN_CHALLENGE)
    auth = m2mauth.HttpxAuth("generic", **credentials(provider))
    with httpx.Client(auth=auth, timeout=HTTP_TIMEOUT) as client:
        assert client.get(api.url).status_code == 200
        assert provider.token_requests() == 2
        first, retry = api.seen
        assert set(retry) == set(first)
        auth.invalidate()
        assert client.get(api.url).status_code == 200
    assert provider.token_requests() == 3


SPECIAL_SECRET = "s+cret/with:colon %and space"  # RFC 6749 §2.3.1 form-encoding changes this one


@pytest.mark.parametrize("adapter", ["token_source", "auth", "session", "httpx"])
def test_basic_encoding_is_accepted_everywhere(lifecycle_provider: ProviderFactory, adapter: str) -> None:
    provider = lifecycle_provider(token_lifetime=600, basic_encoding="raw")  # a server that skips the encoding
    provider.add_client("generic", "raw-client", SPECIAL_SECRET)
    options: dict[str, Any] = {
        "token_url": provider.token_url("generic"),
        "client_id": "raw-client",
        "client_secret": SPECIAL_SECRET,
        "auth_method": "client_secret_basic",
        "basic_encoding": "raw",
    }
    if adapter == "token_source":
        assert TokenSource("generic", **options).token().access_token
    elif adapter == "auth":
        assert requests.get(provider.resource_url, auth=m2mauth.Auth("generic", **options), timeout=HTTP_TIMEOUT).ok
    elif adapter == "session":
        assert m2mauth.session("generic", **options).get(provider.resource_url, timeout=HTTP_TIMEOUT).ok
    else:
        httpx = pytest.importorskip("httpx")
        auth = m2mauth.HttpxAuth("generic", **options)
        assert httpx.get(provider.resource_url, auth=auth, timeout=HTTP_TIMEOUT).status_code == 200
    with pytest.raises(m2mauth.TokenEndpointError):  # the default (rfc) encoding is refused by this server
        TokenSource("generic", **{**options, "basic_encoding": "rfc"}).token()
    with pytest.raises(ConfigError) as caught:
        TokenSource("generic", **{**options, "basic_encoding": "latin1"})
    assert caught.value.code == "invalid_option"
