"""The fault suite (issue 5, part 2): every fault, its outcome, under a deadline, without leaks.

Faults come from the LocalProvider's knobs (429, 503, slow, truncated JSON, reset before any
byte) and from :class:`tcp_proxy.FaultProxy` on loopback (resets and cuts mid-body, hangs, slow
drips, a 502 HTML page, a forward proxy answering 407). Each test asserts the suite's three
promises: the caller gets a token or a typed ``M2MAuthError`` (with a specific code) within its
deadline; no secret in the error, the logs at DEBUG, stdout or stderr; the FileStore readable
and, when a token was stored before, still holding a usable one. Each test also adds its row to
the table in README.md. The details of retry timing (backoff, jitter, Retry-After arithmetic)
are tested in tests/integration/test_retries.py and not repeated here.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from fault_bench import CLIENT_ID, CLIENT_SECRET, DT_SECRET, PROXY_PASSWORD, PROXY_USER, Bench, Outcome
from tcp_proxy import FaultProxy

from m2mauth import M2MAuthError, RetryPolicy, TokenEndpointError, TokenSource, TransportError, fetch_token
from m2mauth.retry import is_transient
from m2mauth.testing import LocalProvider

QUICK = RetryPolicy(attempts=3, backoff=0.05, max_backoff=0.2, deadline=6.0)


def faults_seen(bench: Bench) -> list[str | None]:
    return [r.fault for r in bench.provider.requests_log if r.token_endpoint]


def proxy_faults(bench: Bench) -> list[str | None]:
    return [r.fault for r in bench.proxy.log]


def assert_typed(outcome: Outcome, kind: type[M2MAuthError], code: str) -> None:
    assert outcome.token is None
    assert isinstance(outcome.error, kind), repr(outcome.error)
    assert outcome.error.code == code, repr(outcome.error)
    assert outcome.error.hint


# -- 429 Too Many Requests -------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_retry_after_then_a_token(bench: Bench, form: str) -> None:
    source = bench.source(retry=RetryPolicy(attempts=3, backoff=0.01, deadline=8.0), timeout=3.0)
    earlier = bench.prime(source)
    retry_after = "1" if form == "seconds" else email.utils.formatdate(time.time() + 2, usegmt=True)
    bench.provider.set_fault("429", retry_after=retry_after)
    outcome = bench.run(lambda: source.token(force=True), deadline=8.0)
    assert outcome.token is not None and outcome.token.access_token != earlier.access_token
    assert faults_seen(bench) == [None, "429", None]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token, earlier=earlier)
    bench.record(
        "429, then OK",
        f"provider `429`, `Retry-After: {'1' if form == 'seconds' else '<date +2 s>'}`",
        outcome,
        "yes, after Retry-After",
        store,
    )


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_retry_after_beyond_the_deadline_fails_fast(bench: Bench, form: str) -> None:
    policy = RetryPolicy(attempts=5, backoff=0.01, deadline=5.0)
    source = bench.source(retry=policy, timeout=3.0)
    earlier = bench.prime(source)
    retry_after = "120" if form == "seconds" else email.utils.formatdate(time.time() + 120, usegmt=True)
    bench.provider.set_fault("429", retry_after=retry_after)
    outcome = bench.run(lambda: source.token(force=True), deadline=policy.deadline)
    assert_typed(outcome, TokenEndpointError, "rate_limited")
    assert isinstance(outcome.error, TokenEndpointError)
    assert outcome.error.status == 429 and outcome.error.retry_after == retry_after
    assert outcome.elapsed < policy.deadline  # it did not sleep towards a retry it could not make
    assert faults_seen(bench) == [None, "429"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=earlier, earlier=earlier)
    bench.record(
        "429 beyond the deadline",
        f"provider `429`, `Retry-After: {'120' if form == 'seconds' else '<date +120 s>'}`, deadline 5 s",
        outcome,
        "no (would pass the deadline)",
        store,
    )


# -- 503 bursts ------------------------------------------------------------------------------------


def test_503_burst_then_a_token(bench: Bench) -> None:
    source = bench.source(retry=RetryPolicy(attempts=4, backoff=0.05, deadline=6.0), timeout=3.0)
    earlier = bench.prime(source)
    bench.provider.set_fault("503", times=2)
    outcome = bench.run(lambda: source.token(force=True), deadline=6.0)
    assert outcome.token is not None
    assert faults_seen(bench) == [None, "503", "503", None]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token, earlier=earlier)
    bench.record(
        "503 burst (2)", "provider `503` (JSON `temporarily_unavailable`) x2", outcome, "yes, 2 retries", store
    )


def test_503_burst_longer_than_the_attempts(bench: Bench) -> None:
    source = bench.source(retry=RetryPolicy(attempts=4, backoff=0.05, deadline=6.0), timeout=3.0)
    earlier = bench.prime(source)
    bench.provider.set_fault("503", times=10)
    outcome = bench.run(lambda: source.token(force=True), deadline=6.0)
    # The body is RFC 6749's temporarily_unavailable, so that is the code (not the generic server_error).
    assert_typed(outcome, TokenEndpointError, "temporarily_unavailable")
    assert faults_seen(bench) == [None, "503", "503", "503", "503"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=earlier, earlier=earlier)
    bench.record("503 burst (10)", "provider `503` x10, 4 attempts", outcome, "yes, 3 retries, then raised", store)


# -- slow answers ----------------------------------------------------------------------------------


def test_slow_answer_within_the_timeout(bench: Bench) -> None:
    source = bench.source(retry=QUICK, timeout=3.0)
    bench.provider.set_fault("slow", delay=0.3)
    outcome = bench.run(source.token, deadline=QUICK.deadline)
    assert outcome.token is not None
    assert faults_seen(bench) == ["slow"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token)
    bench.record("slow, within the timeout", "provider `slow` 0.3 s, timeout 3 s", outcome, "not needed", store)


def test_slow_answer_beyond_the_timeout_is_retried(bench: Bench) -> None:
    source = bench.source(retry=QUICK, timeout=0.5)
    earlier = bench.prime(source)
    bench.provider.set_fault("slow", delay=3.0)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    assert outcome.token is not None
    assert bench.provider.token_requests() == 3  # the slow answer is logged only when it ends
    assert "(timeout); retry 1/2" in bench.caplog.text
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token, earlier=earlier)
    bench.record(
        "slow, beyond the timeout",
        "provider `slow` 3 s once, timeout 0.5 s",
        outcome,
        "yes (`timeout`), then OK",
        store,
    )


def test_slow_answer_always_beyond_the_timeout(bench: Bench) -> None:
    source = bench.source(retry=QUICK, timeout=0.5)
    earlier = bench.prime(source)
    bench.provider.set_fault("slow", delay=3.0, times=10)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    assert_typed(outcome, TransportError, "timeout")
    assert bench.provider.token_requests() == 4
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=earlier, earlier=earlier)
    bench.record(
        "slow, every time",
        "provider `slow` 3 s x10, timeout 0.5 s, 3 attempts",
        outcome,
        "yes, 2 retries, then raised",
        store,
    )


def test_drip_within_the_timeout(bench: Bench) -> None:
    source = bench.source(via_proxy=True, retry=QUICK, timeout=2.0)
    bench.proxy.inject("drip", step=16, delay=0.02)
    outcome = bench.run(source.token, deadline=QUICK.deadline)
    assert outcome.token is not None
    assert proxy_faults(bench) == ["drip"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token)
    bench.record(
        "slow drip, within the timeout",
        "proxy `drip`: the whole answer 16 bytes per 20 ms, timeout 2 s",
        outcome,
        "not needed",
        store,
    )


def test_body_drip_beyond_the_timeout_is_cut_and_retried(bench: Bench) -> None:
    # Every byte comes well within the timeout, the whole body does not: requests' timeout bounds each
    # read only, so without a bound on the whole answer this would take ~20 s.
    policy = RetryPolicy(attempts=3, backoff=0.05, deadline=6.0)
    source = bench.source(via_proxy=True, retry=policy, timeout=1.0)
    earlier = bench.prime(source)
    bench.proxy.inject("drip", step=1, delay=0.2, head_first=True)
    outcome = bench.run(lambda: source.token(force=True), deadline=policy.deadline)
    assert outcome.token is not None
    assert proxy_faults(bench) == [None, "drip", None]
    assert "(timeout); retry 1/2" in bench.caplog.text
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token, earlier=earlier)
    bench.record(
        "slow drip of the body, beyond the timeout",
        "proxy `drip`: head at once, then 1 byte per 0.2 s (~20 s), timeout 1 s",
        outcome,
        "yes (`timeout`), then OK",
        store,
    )


# -- hung responses --------------------------------------------------------------------------------


def test_hung_response_times_out_within_the_deadline(bench: Bench) -> None:
    source = bench.source(via_proxy=True, retry=QUICK, timeout=0.5)
    earlier = bench.prime(source)
    bench.proxy.inject("hang", times=10)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    assert_typed(outcome, TransportError, "timeout")
    assert proxy_faults(bench) == [None, "hang", "hang", "hang"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=earlier, earlier=earlier)
    bench.record(
        "hung response",
        "proxy `hang` x10 (reads the request, never answers), timeout 0.5 s, 3 attempts",
        outcome,
        "yes, 2 retries, then raised",
        store,
    )


def test_hung_response_once_then_a_token(bench: Bench) -> None:
    source = bench.source(via_proxy=True, retry=QUICK, timeout=0.5)
    bench.proxy.inject("hang")
    outcome = bench.run(source.token, deadline=QUICK.deadline)
    assert outcome.token is not None
    assert proxy_faults(bench) == ["hang", None]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token)
    bench.record("hung response, once", "proxy `hang` once, timeout 0.5 s", outcome, "yes (`timeout`), then OK", store)


def test_hung_responses_stop_at_the_deadline_not_at_the_attempts(bench: Bench) -> None:
    policy = RetryPolicy(attempts=10, backoff=0.05, deadline=2.5)
    source = bench.source(via_proxy=True, retry=policy, timeout=1.0)
    bench.proxy.inject("hang", times=20)
    outcome = bench.run(source.token, deadline=policy.deadline)
    assert_typed(outcome, TransportError, "timeout")
    assert 2 <= len(bench.proxy.log) < policy.attempts
    assert "deadline" in bench.caplog.text
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=None)
    bench.record(
        "hung responses, deadline shorter than the attempts",
        "proxy `hang` x20, timeout 1 s, 10 attempts, deadline 2.5 s",
        outcome,
        f"yes, {len(bench.proxy.log) - 1} retries, stopped by the deadline",
        store,
    )


# -- connection resets -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["reset_mid_body", "cut_mid_body"])
def test_connection_broken_mid_body_is_retried(bench: Bench, kind: str) -> None:
    source = bench.source(via_proxy=True, retry=QUICK, timeout=3.0)
    earlier = bench.prime(source)
    bench.proxy.inject(kind)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    assert outcome.token is not None
    assert proxy_faults(bench) == [None, kind, None]
    assert "(connection_error); retry 1/2" in bench.caplog.text
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=outcome.token, earlier=earlier)
    how = "RST (`SO_LINGER` 0)" if kind == "reset_mid_body" else "FIN"
    bench.record(
        f"connection {'reset' if kind == 'reset_mid_body' else 'closed'} mid-body",
        f"proxy `{kind}`: head and half the body, then {how}",
        outcome,
        "yes (`connection_error`), then OK",
        store,
    )


def test_connection_reset_mid_body_every_time(bench: Bench) -> None:
    source = bench.source(via_proxy=True, retry=QUICK, timeout=3.0)
    earlier = bench.prime(source)
    bench.proxy.inject("reset_mid_body", times=10)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    assert_typed(outcome, TransportError, "connection_error")
    assert proxy_faults(bench) == [None, "reset_mid_body", "reset_mid_body", "reset_mid_body"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=earlier, earlier=earlier)
    bench.record(
        "connection reset mid-body, every time",
        "proxy `reset_mid_body` x10, 3 attempts",
        outcome,
        "yes, 2 retries, then raised",
        store,
    )


@pytest.mark.parametrize("times", [1, 10])
def test_connection_reset_before_any_byte(bench: Bench, times: int) -> None:
    source = bench.source(retry=QUICK, timeout=3.0)
    earlier = bench.prime(source)
    bench.provider.set_fault("reset", times=times)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    if times == 1:
        assert outcome.token is not None
        assert faults_seen(bench) == [None, "reset", None]
        retried, holds = "yes (`connection_error`), then OK", outcome.token
    else:
        assert_typed(outcome, TransportError, "connection_error")
        assert faults_seen(bench) == [None, "reset", "reset", "reset"]
        retried, holds = "yes, 2 retries, then raised", earlier
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=holds, earlier=earlier)
    bench.record("connection reset before any byte", f"provider `reset` x{times}", outcome, retried, store)


# -- truncated JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize("times", [1, 10])
def test_truncated_json(bench: Bench, times: int) -> None:
    source = bench.source(retry=QUICK, timeout=3.0)
    earlier = bench.prime(source)
    bench.provider.set_fault("truncated_json", times=times)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    if times == 1:
        # A 200 whose JSON is cut short is treated as transient (see README): retried, then a token.
        assert outcome.token is not None
        assert faults_seen(bench) == [None, "truncated_json", None]
        retried, holds = "yes (`invalid_response`, cut JSON), then OK", outcome.token
    else:
        assert_typed(outcome, TokenEndpointError, "invalid_response")
        assert isinstance(outcome.error, TokenEndpointError)
        assert outcome.error.status == 200
        # The cut body holds the start of an access token: the excerpt must not show it.
        assert outcome.error.excerpt is not None and "<redacted>" in outcome.error.excerpt
        assert faults_seen(bench) == [None, "truncated_json", "truncated_json", "truncated_json"]
        retried, holds = "yes, 2 retries, then raised", earlier
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=holds, earlier=earlier)
    bench.record(
        "truncated JSON", f"provider `truncated_json` x{times} (200, half a JSON object)", outcome, retried, store
    )


def test_a_200_html_page_is_final(bench: Bench) -> None:
    """The other half of the truncated-JSON decision: a 200 that is not JSON at all (captive portal,
    wrong URL) will not fix itself, so it is not retried."""
    source = bench.source(retry=QUICK, timeout=3.0)
    bench.provider.set_fault("html", status=200, times=10)
    outcome = bench.run(source.token, deadline=QUICK.deadline)
    assert_typed(outcome, TokenEndpointError, "invalid_response")
    assert faults_seen(bench) == ["html"]
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=None)
    bench.record("200 with an HTML page", "provider `html` with status 200", outcome, "no (final)", store)


# -- HTML error pages from a proxy -------------------------------------------------------------------


@pytest.mark.parametrize("times", [1, 10])
def test_html_502_from_a_proxy(bench: Bench, times: int) -> None:
    source = bench.source(via_proxy=True, retry=QUICK, timeout=3.0)
    earlier = bench.prime(source)
    bench.proxy.inject("bad_gateway", times=times)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    if times == 1:
        assert outcome.token is not None
        assert proxy_faults(bench) == [None, "bad_gateway", None]
        retried, holds = "yes (`server_error`), then OK", outcome.token
    else:
        assert_typed(outcome, TokenEndpointError, "server_error")
        error = outcome.error
        assert isinstance(error, TokenEndpointError) and error.status == 502
        assert error.excerpt is not None and error.excerpt.startswith("502 Bad Gateway")
        assert len(error.excerpt) <= 203  # 200 characters and "..."
        for markup in ("<", ">", "font-family", "window.onload", "retrying"):
            assert markup not in error.excerpt and markup not in error.message
        assert proxy_faults(bench) == [None, "bad_gateway", "bad_gateway", "bad_gateway"]
        retried, holds = "yes, 2 retries, then raised", earlier
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=holds, earlier=earlier)
    bench.record(
        "HTML error page",
        f"proxy `bad_gateway` x{times}: 502, nginx page with style and script",
        outcome,
        retried,
        store,
    )


# -- a proxy that wants credentials ------------------------------------------------------------------


def forward_proxies(bench: Bench, *, with_password: bool = True) -> dict[str, str]:
    url = bench.proxy.proxy_url(PROXY_USER, PROXY_PASSWORD) if with_password else bench.proxy.url
    return {"http": url, "https": url}


def test_proxy_407_to_a_plain_request(bench: Bench) -> None:
    """http token URL: requests sends the absolute URI to the proxy, which answers 407 itself."""
    earlier = bench.prime(bench.source(retry=QUICK, timeout=3.0))
    source = bench.source(retry=QUICK, timeout=3.0, proxies=forward_proxies(bench))
    bench.proxy.inject("proxy_auth", times=10)
    outcome = bench.run(lambda: source.token(force=True), deadline=QUICK.deadline)
    assert_typed(outcome, TransportError, "proxy_error")
    assert outcome.error is not None and outcome.error.hint is not None
    assert "credentials" in outcome.error.hint and "407" in outcome.error.message
    assert not is_transient(outcome.error)
    [seen] = bench.proxy.log  # not retried; and the proxy was used although NO_PROXY lists 127.0.0.1
    assert seen.absolute and seen.proxy_authorization and seen.status == 407
    assert bench.provider.token_requests() == 1  # the priming request only
    bench.assert_no_secrets(outcome)
    store = bench.assert_store(source, holds=earlier, earlier=earlier)
    bench.record(
        "proxy answers 407 (plain http)",
        "proxy `proxy_auth`, used as `proxies=` with user:password",
        outcome,
        "no (final)",
        store,
    )


@pytest.mark.parametrize("with_password", [True, False])
def test_proxy_407_to_connect(bench: Bench, with_password: bool) -> None:
    """https token URL: the 407 answers the CONNECT, before any TLS or credential is sent."""
    bench.proxy.inject("proxy_auth", times=10)
    port = bench.provider.base_url.rsplit(":", 1)[1]
    outcome = bench.run(
        lambda: fetch_token(
            "generic",
            token_url=f"https://127.0.0.1:{port}/oauth/token",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            timeout=3.0,
            proxies=forward_proxies(bench, with_password=with_password),
        ),
        deadline=3.0,
    )
    assert_typed(outcome, TransportError, "proxy_error")
    assert outcome.error is not None and outcome.error.hint is not None
    assert "credentials" in outcome.error.hint and "407" in outcome.error.message
    [seen] = bench.proxy.log
    assert seen.method == "CONNECT" and seen.proxy_authorization is with_password
    bench.assert_no_secrets(outcome)
    if with_password:
        bench.record(
            "proxy answers 407 (CONNECT)",
            "proxy `proxy_auth` to `CONNECT` (https token URL), fetch_token",
            outcome,
            "no (final)",
            "not used (fetch_token)",
        )


# -- the server's clock 10 minutes ahead ----------------------------------------------------------------


def skewed_bench(bench: Bench, provider: LocalProvider) -> Bench:
    return Bench(provider, bench.proxy, bench.store_path, bench.caplog, bench.capsys)


def test_server_clock_ahead_disruptive_technologies(
    bench: Bench, provider_factory: Callable[..., LocalProvider]
) -> None:
    provider = provider_factory(token_lifetime=600, clock=lambda: time.time() + 600)
    skewed = skewed_bench(bench, provider)
    provider.add_dt_service_account("fault-dt-key", DT_SECRET, "fault@example.org")
    source = TokenSource(
        "disruptive-technologies",
        key_id="fault-dt-key",
        secret=DT_SECRET,
        email="fault@example.org",
        token_url=provider.token_url("disruptive-technologies"),
        store=skewed.store,
        retry=QUICK,
        timeout=3.0,
    )
    outcome = skewed.run(source.token, deadline=QUICK.deadline)
    assert_typed(outcome, TokenEndpointError, "invalid_grant")
    error = outcome.error
    assert isinstance(error, TokenEndpointError)
    assert error.provider_code == "assertion_timing"
    assert error.hint is not None and "NTP" in error.hint and "doctor" in error.hint
    assert provider.token_requests() == 1  # final: not retried
    skewed.assert_no_secrets(outcome)
    store = skewed.assert_store(source, holds=None)
    skewed.record(
        "server clock +10 min (Disruptive Technologies)",
        "`LocalProvider(clock=time.time() + 600)`",
        outcome,
        "no (final)",
        store,
    )


@pytest.mark.parametrize("case", ["clms", "generic-basic", "generic-client_secret_jwt", "openaire-refresh"])
def test_server_clock_ahead_other_profiles(
    bench: Bench, provider_factory: Callable[..., LocalProvider], case: str
) -> None:
    provider = provider_factory(token_lifetime=600, clock=lambda: time.time() + 600)
    skewed = skewed_bench(bench, provider)
    options: dict[str, Any]
    if case == "clms":
        key = provider.make_clms_service_key()
        skewed.secrets.append(key["private_key"].splitlines()[5])
        profile, options = "clms", {"service_key": key}
    elif case == "openaire-refresh":
        refresh = provider.issue_refresh_token("openaire")
        skewed.secrets.append(refresh)
        profile = "openaire"
        options = {"refresh_token": refresh, "token_url": provider.token_url("openaire", "personal_refresh")}
    else:
        profile = "generic"
        options = {"token_url": provider.token_url("generic"), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        if case == "generic-client_secret_jwt":
            options["auth_method"] = "client_secret_jwt"
    source = TokenSource(profile, store=skewed.store, retry=QUICK, timeout=3.0, **options)
    outcome = skewed.run(source.token, deadline=QUICK.deadline)
    if case == "generic-client_secret_jwt":
        # The client assertion lives 300 s; to a server 600 s ahead it expired before it was sent.
        assert_typed(outcome, TokenEndpointError, "invalid_client")
        assert provider.token_requests() == 1
        holds = None
    else:
        # No time claim the server checks strictly enough to notice: CLMS allows iat up to 60 s in the
        # future and exp up to 60 s past, and a 3600-s grant is still live 600 s later.
        assert outcome.token is not None
        left = outcome.token.seconds_left(time.time())
        assert left is not None and 590 <= left <= 600  # expires_in is relative: the skew does not shorten it
        holds = outcome.token
    skewed.assert_no_secrets(outcome)
    store = skewed.assert_store(source, holds=holds)
    skewed.record(
        f"server clock +10 min ({case})",
        "`LocalProvider(clock=time.time() + 600)`",
        outcome,
        "no (final)" if outcome.error else "not needed",
        store,
    )


# -- a stale token and a transient failure ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("fault", ["503", "reset", "hang"])
def test_stale_token_survives_a_transient_failure(
    bench: Bench, provider_factory: Callable[..., LocalProvider], fault: str
) -> None:
    clock = FakeClock()
    provider = provider_factory(token_lifetime=600, clock=clock)
    with FaultProxy(provider.base_url) as proxy:
        stale = Bench(provider, proxy, bench.store_path, bench.caplog, bench.capsys)
        source = stale.source(via_proxy=True, retry=QUICK, timeout=0.5, clock=clock)
        earlier = stale.prime(source)
        clock.now += 560  # 40 s left: inside the refresh margin (60 s for a 600-s token), still valid
        assert source.state(earlier) == "stale"
        if fault == "hang":
            proxy.inject("hang", times=10)
        else:
            provider.set_fault(fault, times=10)
        outcome = stale.run(source.token, deadline=QUICK.deadline)
        assert outcome.token is not None and outcome.token.access_token == earlier.access_token
        if fault == "hang":
            assert [r.fault for r in proxy.log] == [None, "hang", "hang", "hang"]
        else:
            assert provider.token_requests() == 1 + QUICK.attempts
        warnings = [
            r for r in stale.caplog.records if r.levelno == logging.WARNING and "using the current" in r.message
        ]
        assert len(warnings) == 1 and "valid for 40 s more" in warnings[0].getMessage()
        stale.assert_no_secrets(outcome)
        store = stale.assert_store(source, holds=earlier, earlier=earlier)
        injected = "proxy `hang` x10" if fault == "hang" else f"provider `{fault}` x10"
        stale.record(
            f"stale token + transient failure ({fault})",
            f"{injected}, token 40 s from expiry",
            outcome,
            "yes, 2 retries, then the stale token",
            store,
        )
        # When the fault has passed, the next call renews.
        provider.clear_faults()
        proxy.clear()
        renewed = source.token()
        assert renewed.access_token != earlier.access_token
        stale.tokens_seen.append(renewed.access_token)
        assert stale.assert_store(source, holds=renewed, earlier=earlier) == "new token, usable"
