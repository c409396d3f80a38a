"""TokenSource over real HTTP against the local provider (issue 3, parts 1 and 7).

The provider and the client share one injected FakeClock, so expiry and early refresh are
tested by moving the clock, never by sleeping; what is asserted is the number of requests the
token endpoint saw.
"""

from __future__ import annotations

import logging
import pickle
import threading
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth import FileStore, MemoryStore, RetryPolicy, TokenEndpointError, TokenSource
from m2mauth.source import FRESH, INVALID, STALE, refresh_margin
from m2mauth.testing import LocalProvider

try:
    from .conftest_lifecycle import HTTP_TIMEOUT, FakeClock, ProviderFactory, lifecycle_provider
except ImportError:
    from conftest_lifecycle import HTTP_TIMEOUT, FakeClock, ProviderFactory, lifecycle_provider

__all__ = ["lifecycle_provider"]

THREADS = 16
CALLS = 25
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def resource_status(provider: LocalProvider, token: m2mauth.Token) -> int:
    answer = requests.get(provider.resource_url, headers={"Authorization": token.authorization}, timeout=HTTP_TIMEOUT)
    return answer.status_code


def token_log(provider: LocalProvider) -> list[Any]:
    return [r for r in provider.requests_log if r.token_endpoint]


def generic_source(provider: LocalProvider, clock: FakeClock | None = None, **options: Any) -> TokenSource:
    provider.add_client("generic", "lifecycle-client", "lifecycle-secret")
    options.setdefault("client_secret", "lifecycle-secret")
    return TokenSource(
        "generic",
        token_url=provider.token_url("generic"),
        client_id="lifecycle-client",
        clock=clock,
        **options,
    )


def hammer(source: TokenSource, threads: int = THREADS, calls: int = CALLS, **kwargs: Any) -> list[Any]:
    """``threads`` threads released together, each calling ``source.token(**kwargs)`` ``calls``
    times; returns every token or exception, in no particular order."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait(timeout=30)
        for _ in range(calls):
            try:
                outcome: Any = source.token(**kwargs)
            except Exception as error:
                outcome = error
            with lock:
                results.append(outcome)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "a thread is stuck"
    assert len(results) == threads * calls
    return results


# -- the margin rule --------------------------------------------------------------------------


def test_refresh_margin_rule() -> None:
    assert refresh_margin(900) == 90  # a 15-minute Climate Engine token renews at 13.5 min
    assert 900 - refresh_margin(900) == 13.5 * 60
    assert refresh_margin(4) == 2  # a 4-second test token at 2 s
    assert refresh_margin(3600) == 360  # 10 %
    assert refresh_margin(120) == 30  # at least 30 s...
    assert refresh_margin(40) == 20  # ...but never more than half the lifetime
    assert refresh_margin(900, 60) == 60  # configurable
    assert refresh_margin(4, 60) == 2  # still capped at half
    assert refresh_margin(None) == 30


@pytest.mark.parametrize(
    ("lifetime", "margin", "renew_at"),
    [(900, None, 810.0), (4, None, 2.0), (900, 60.0, 840.0), (600, 5.0, 595.0)],
)
def test_token_is_renewed_exactly_when_the_margin_says(
    lifecycle_provider: ProviderFactory, lifetime: int, margin: float | None, renew_at: float
) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=lifetime, clock=clock)
    provider.add_client("climate-engine", "ce-client", "ce-secret")
    source = TokenSource(
        "climate-engine",
        token_url=provider.token_url("climate-engine"),
        client_id="ce-client",
        client_secret="ce-secret",
        clock=clock,
        margin=margin,
    )
    first = source.token()
    assert provider.token_requests() == 1
    clock.advance(renew_at - 0.01)
    assert source.state(first) == FRESH
    assert source.token() is first
    assert provider.token_requests() == 1
    clock.advance(0.02)
    assert source.state(first) == STALE
    second = source.token()
    assert second.access_token != first.access_token
    assert provider.token_requests() == 2
    assert source.requests_made == 2


def test_fresh_stale_invalid_with_a_clock_shared_with_the_provider(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    source = generic_source(provider, clock)
    assert source.state(None) == INVALID
    token = source.token()
    assert source.state(token) == FRESH
    assert resource_status(provider, token) == 200
    clock.advance(600 - 59)  # margin is 60 s for a 10-minute token
    assert source.state(token) == STALE
    assert resource_status(provider, token) == 200  # stale still works at the resource
    clock.advance(60)
    assert source.state(token) == INVALID
    assert resource_status(provider, token) == 401  # the provider agrees: expired
    renewed = source.token()
    assert renewed.access_token != token.access_token
    assert source.state(renewed) == FRESH
    assert resource_status(provider, renewed) == 200
    assert provider.token_requests() == 2


# -- single flight ----------------------------------------------------------------------------


def test_single_flight_many_threads_one_request(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    source = generic_source(provider, clock)
    provider.set_fault("slow", delay=0.5)  # the first answer is slow: every thread piles up behind it
    results = hammer(source)
    assert provider.token_requests() == 1
    assert len({t.access_token for t in results}) == 1
    # Later the token is invalid again: still one request for all of them.
    clock.advance(601)
    results = hammer(source)
    assert provider.token_requests() == 2
    assert len({t.access_token for t in results}) == 1
    assert source.requests_made == 2


def test_single_flight_failure_is_raised_to_every_waiting_thread(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, retry=RetryPolicy(attempts=1))
    provider.set_fault("503", delay=1.0)  # one slow failure; all threads arrive while it is pending
    results = hammer(source, calls=1)
    assert provider.token_requests() == 1
    assert all(isinstance(r, TokenEndpointError) and r.code == "temporarily_unavailable" for r in results), results
    # The next call tries again (a failure is not cached), and succeeds.
    assert source.token().access_token
    assert provider.token_requests() == 2


def test_wrong_secret_is_one_request_for_all_threads(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, client_secret="not-the-secret")  # default retries: final errors are not retried
    provider.set_fault("slow", delay=1.0)
    results = hammer(source, calls=1)
    assert provider.token_requests() == 1
    assert all(isinstance(r, TokenEndpointError) and r.code == "invalid_client" for r in results), results
    assert "not-the-secret" not in "".join(str(r) + repr(r) for r in results)


def test_force_with_rejected_refreshes_once_for_many_threads(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider)
    first = source.token()
    provider.set_fault("slow", delay=0.3)
    results = hammer(source, calls=5, force=True, rejected=first.access_token)
    assert provider.token_requests() == 2  # one renewal for 16 threads x 5 calls that all saw one 401
    assert {t.access_token for t in results} == {source.token().access_token}
    assert first.access_token not in {t.access_token for t in results}
    # force=True without rejected= renews every time (one thread here).
    source.token(force=True)
    assert provider.token_requests() == 3


# -- stale vs invalid when the refresh fails --------------------------------------------------


def test_stale_token_survives_a_transient_failure(
    lifecycle_provider: ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    source = generic_source(provider, clock, retry=RetryPolicy(attempts=1))
    token = source.token()
    clock.advance(560)  # stale: 40 s left, margin 60 s
    provider.set_fault("503")
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        again = source.token()
    assert again.access_token == token.access_token
    assert resource_status(provider, again) == 200
    assert provider.token_requests() == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "m2mauth"]
    assert warnings, caplog.text
    assert "temporarily_unavailable" in warnings[0].getMessage()
    assert "40 s" in warnings[0].getMessage()
    assert token.access_token not in caplog.text
    # Once the fault is gone the next call renews.
    renewed = source.token()
    assert renewed.access_token != token.access_token
    assert provider.token_requests() == 3


def test_stale_token_does_not_hide_a_final_error(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    source = generic_source(provider, clock)
    source.token()
    clock.advance(560)
    provider.add_client("generic", "lifecycle-client", "rotated-secret")  # the secret was revoked
    with pytest.raises(TokenEndpointError) as caught:
        source.token()
    assert caught.value.code == "invalid_client"
    assert provider.token_requests() == 2


def test_invalid_token_and_failure_raises(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    source = generic_source(provider, clock, retry=RetryPolicy(attempts=1))
    source.token()
    clock.advance(600)
    provider.set_fault("503")
    with pytest.raises(TokenEndpointError) as caught:
        source.token()
    assert caught.value.code == "temporarily_unavailable"
    assert provider.token_requests() == 2


# -- which grant renews -----------------------------------------------------------------------


def grant_types(provider: LocalProvider) -> list[str | None]:
    return [r.field("grant_type") for r in token_log(provider)]


def test_cdse_renews_with_its_refresh_token(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    store = MemoryStore()
    source = TokenSource(
        "cdse-openeo",
        client_id="cdse-public",
        refresh_token=provider.issue_refresh_token("cdse-openeo"),
        token_url=provider.token_url("cdse-openeo"),
        clock=clock,
        store=store,
    )
    seen_refresh = set()
    for _ in range(4):
        token = source.token()
        assert resource_status(provider, token) == 200
        assert token.refresh_token and token.refresh_token not in seen_refresh
        seen_refresh.add(token.refresh_token)
        assert store.get(source.key) == token  # the rotated refresh token is kept
        clock.advance(550)
    assert grant_types(provider) == ["refresh_token"] * 4
    assert all(r.status == 200 for r in token_log(provider))
    assert provider.refresh_token_reuses() == {"accepted": 0, "refused": 0}


def test_openaire_get_refresh_rotates(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=3600, clock=clock)
    first_refresh = provider.issue_refresh_token("openaire")
    store = MemoryStore()
    source = TokenSource(
        "openaire",
        refresh_token=first_refresh,
        token_url=provider.token_url("openaire", "personal_refresh"),
        clock=clock,
        store=store,
    )
    held = first_refresh
    for _ in range(4):
        token = source.token()
        assert resource_status(provider, token) == 200
        assert token.refresh_token is not None and token.refresh_token != held
        assert not provider.refresh_token_accepted("openaire", held)  # strict: the old one died at once
        assert provider.refresh_token_accepted("openaire", token.refresh_token)
        held = token.refresh_token
        clock.advance(3300)
    log = token_log(provider)
    assert [(r.method, r.path) for r in log] == [("GET", log[0].path)] * 4
    assert log[0].path.endswith("/getAccessToken")
    assert all(r.status == 200 for r in log)
    assert provider.refresh_token_reuses() == {"accepted": 0, "refused": 0}


def test_password_grant_then_refresh_token_grant(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    provider.add_user("generic", "ada", "pa55word")
    source = TokenSource(
        "generic", token_url=provider.token_url("generic"), username="ada", password="pa55word", clock=clock
    )
    for _ in range(3):
        assert resource_status(provider, source.token()) == 200
        clock.advance(550)
    assert grant_types(provider) == ["password", "refresh_token", "refresh_token"]


def test_refused_refresh_token_falls_back_to_the_original_grant(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    provider.add_user("generic", "ada", "pa55word")
    store = MemoryStore()
    source = TokenSource(
        "generic",
        token_url=provider.token_url("generic"),
        username="ada",
        password="pa55word",
        clock=clock,
        store=store,
    )
    held = source.token().refresh_token
    assert held
    # Someone else spends the refresh token (rotation): the one the source holds is now refused.
    answer = requests.post(
        provider.token_url("generic"), data={"grant_type": "refresh_token", "refresh_token": held}, timeout=10
    )
    assert answer.status_code == 200
    clock.advance(550)
    token = source.token()
    assert resource_status(provider, token) == 200
    assert grant_types(provider) == ["password", "refresh_token", "refresh_token", "password"]
    assert [r.status for r in token_log(provider)] == [200, 200, 400, 200]


def test_refused_refresh_token_of_a_refresh_flow_is_raised_with_a_hint(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = TokenSource(
        "cdse-openeo",
        client_id="cdse-public",
        refresh_token="revoked-refresh-token",
        token_url=provider.token_url("cdse-openeo"),
    )
    with pytest.raises(TokenEndpointError) as caught:
        source.token()
    assert caught.value.code == "invalid_grant"
    assert caught.value.hint and "device flow" in caught.value.hint
    assert provider.token_requests() == 1


def test_client_credentials_are_repeated(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    provider.add_client("cdse-openeo", "sh-client", "sh-secret")
    source = TokenSource(
        "cdse-openeo",
        client_id="sh-client",
        client_secret="sh-secret",
        token_url=provider.token_url("cdse-openeo"),
        clock=clock,
    )
    for _ in range(3):
        token = source.token()
        assert token.refresh_token is None
        assert resource_status(provider, token) == 200
        clock.advance(550)
    assert grant_types(provider) == ["client_credentials"] * 3


def test_jwt_bearer_clms_and_dt_are_repeated(lifecycle_provider: ProviderFactory) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    clms = TokenSource("clms", service_key=provider.make_clms_service_key(), clock=clock)
    provider.add_dt_service_account("dt-key-id", "dt-secret-value", "sa@example.org")
    dt = TokenSource(
        "disruptive-technologies",
        key_id="dt-key-id",
        secret="dt-secret-value",
        email="sa@example.org",
        token_url=provider.token_url("disruptive-technologies"),
        clock=clock,
    )
    for _ in range(3):
        assert resource_status(provider, clms.token()) == 200
        assert resource_status(provider, dt.token()) == 200
        clock.advance(570)  # DT answers 599 s: 570 is past both margins
    assert grant_types(provider) == [JWT_BEARER] * 6
    assert provider.token_requests("clms") == 3
    assert provider.token_requests("disruptive-technologies") == 3
    assert all(r.status == 200 for r in token_log(provider))


# -- refresh token expiry ---------------------------------------------------------------------


def test_refresh_token_expiry_is_tracked_and_warned(
    lifecycle_provider: ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock, refresh_token_lifetime=2 * 86400)
    source = TokenSource(
        "cdse-openeo",
        client_id="cdse-public",
        refresh_token=provider.issue_refresh_token("cdse-openeo"),
        token_url=provider.token_url("cdse-openeo"),
        clock=clock,
    )
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        token = source.token()
        clock.advance(550)
        source.token()
    assert token.refresh_expires_at is not None
    assert token.refresh_expires_at.timestamp() == pytest.approx(clock() - 550 + 2 * 86400, abs=2)
    warned = [r.getMessage() for r in caplog.records if "refresh token expires" in r.getMessage()]
    assert len(warned) == 1, caplog.text  # warned once, not on every refresh
    assert "2.0 days" in warned[0]


def test_no_warning_for_a_long_lived_refresh_token(
    lifecycle_provider: ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)  # 30-day refresh tokens
    source = TokenSource(
        "cdse-openeo",
        client_id="cdse-public",
        refresh_token=provider.issue_refresh_token("cdse-openeo"),
        token_url=provider.token_url("cdse-openeo"),
        clock=clock,
    )
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        source.token()
    assert "refresh token expires" not in caplog.text


# -- pickling ---------------------------------------------------------------------------------


def test_pickled_source_shares_a_file_store(lifecycle_provider: ProviderFactory, tmp_path: Any) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, store=FileStore(tmp_path / "store"))
    token = source.token()
    copy = pickle.loads(pickle.dumps(source))
    assert copy is not source and copy.key == source.key
    assert copy.token().access_token == token.access_token  # read from the shared store
    assert provider.token_requests() == 1
    assert (source.requests_made, copy.requests_made) == (1, 0)  # each copy counts its own requests
    assert b"lifecycle-secret" in pickle.dumps(source)  # the credentials travel (a worker must renew)...
    assert not list((tmp_path / "store").rglob("*secret*"))  # ...the store holds none
    renewed = copy.token(force=True)
    assert provider.token_requests() == 2
    third = pickle.loads(pickle.dumps(copy))
    assert third.token().access_token == renewed.access_token
    assert resource_status(provider, third.token()) == 200
    assert provider.token_requests() == 2


def test_pickled_source_with_memory_store_starts_empty(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, clock=None)
    source.token()
    copy = pickle.loads(pickle.dumps(source))
    assert copy.store.get(copy.key) is None
    assert resource_status(provider, copy.token()) == 200
    assert provider.token_requests() == 2


def test_pickling_drops_a_lambda_clock_and_keeps_no_lock(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, clock=lambda: 0.0)  # type: ignore[arg-type]
    copy = pickle.loads(pickle.dumps(source))
    assert copy.clock is None
    assert resource_status(provider, copy.token()) == 200


# -- OIDC discovery (part 7) ------------------------------------------------------------------


def discovery_gets(provider: LocalProvider) -> int:
    return sum(1 for r in provider.requests_log if r.path.endswith("/.well-known/openid-configuration"))


def test_fetch_token_by_discovery_is_cached_per_process(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    provider.add_client("cdse-openeo", "disco-client", "disco-secret")
    for _ in range(3):
        token = m2mauth.fetch_token(
            "generic", issuer=provider.issuer_url(), client_id="disco-client", client_secret="disco-secret"
        )
        assert resource_status(provider, token) == 200
    assert discovery_gets(provider) == 1
    assert provider.token_requests("cdse-openeo") == 3
    source = TokenSource(
        "generic", issuer=provider.issuer_url() + "/", client_id="disco-client", client_secret="disco-secret"
    )
    source.token()
    source.token(force=True)
    assert discovery_gets(provider) == 1  # same issuer (a trailing slash is the same issuer)
    assert provider.token_requests("cdse-openeo") == 5
