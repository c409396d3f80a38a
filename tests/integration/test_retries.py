"""Retries of token requests over real HTTP (issue 3, part 2).

Faults come from the local provider (429 with Retry-After, 503 bursts, resets, slow answers);
the assertions count the requests it saw and read the log, never the clock. Where a wait would
be long, ``with_retries`` gets a recording ``sleep`` instead of sleeping.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from typing import Any

import pytest

from m2mauth import RetryPolicy, TokenEndpointError, TokenSource, TransportError, plan_request
from m2mauth.retry import is_transient, retry_after_seconds, with_retries
from m2mauth.testing import LocalProvider
from m2mauth.tokens import Token
from m2mauth.transport import exchange

try:
    from .conftest_lifecycle import ProviderFactory, captured_m2mauth_log, lifecycle_provider
except ImportError:
    from conftest_lifecycle import ProviderFactory, captured_m2mauth_log, lifecycle_provider

__all__ = ["lifecycle_provider"]

SECRET = "retry-canary-S3cr3t-value"
FAST = RetryPolicy(attempts=4, backoff=0.02, max_backoff=0.1, deadline=20)
RETRY_LINE = re.compile(r"retry (\d+)/(\d+) in ([0-9.]+) s")


def generic_source(provider: LocalProvider, **options: Any) -> TokenSource:
    provider.add_client("generic", "retry-client", SECRET)
    return TokenSource(
        "generic", token_url=provider.token_url("generic"), client_id="retry-client", client_secret=SECRET, **options
    )


def retry_waits(records: list[logging.LogRecord]) -> list[float]:
    waits = []
    for record in records:
        found = RETRY_LINE.search(record.getMessage())
        if found:
            assert record.levelno == logging.INFO
            waits.append(float(found.group(3)))
    return waits


def one_attempt(provider: LocalProvider) -> Any:
    """A callable doing one real token request (a fresh plan each time), for with_retries."""
    provider.add_client("generic", "retry-client", SECRET)

    def attempt() -> Token:
        plan = plan_request(
            "generic", token_url=provider.token_url("generic"), client_id="retry-client", client_secret=SECRET
        )
        return exchange(plan.request, timeout=10)

    return attempt


# -- transient failures are retried -----------------------------------------------------------


def test_429_with_retry_after_seconds(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, retry=RetryPolicy(backoff=0.01, deadline=20))
    provider.set_fault("429", retry_after="1")
    with captured_m2mauth_log() as records:
        token = source.token()
    assert token.access_token
    assert provider.token_requests() == 2
    waits = retry_waits(records)
    assert len(waits) == 1 and waits[0] >= 1.0  # Retry-After wins over the 10 ms backoff
    assert [r.fault for r in provider.requests_log] == ["429", None]


def test_429_with_retry_after_http_date(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    provider.set_fault("429", retry_after=when)
    slept: list[float] = []
    token = with_retries(one_attempt(provider), RetryPolicy(backoff=0.01, deadline=120), sleep=slept.append)
    assert token.access_token
    assert provider.token_requests() == 2
    assert len(slept) == 1 and 27 <= slept[0] <= 31
    assert retry_after_seconds(when) == pytest.approx(30, abs=2)


def test_503_burst_then_success(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, retry=FAST)
    provider.set_fault("503", times=2)
    with captured_m2mauth_log() as records:
        assert source.token().access_token
    assert provider.token_requests() == 3
    assert len(retry_waits(records)) == 2
    assert [r.fault for r in provider.requests_log] == ["503", "503", None]


def test_503_burst_longer_than_the_attempts_raises(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, retry=RetryPolicy(attempts=3, backoff=0.01, deadline=20))
    provider.set_fault("503", times=5)
    with pytest.raises(TokenEndpointError) as caught:
        source.token()
    assert caught.value.code == "temporarily_unavailable"
    assert provider.token_requests() == 3


@pytest.mark.parametrize(("kind", "code"), [("reset", "connection_error"), ("html", "server_error")])
def test_reset_and_proxy_page_are_retried(lifecycle_provider: ProviderFactory, kind: str, code: str) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, retry=FAST)
    provider.set_fault(kind)
    with captured_m2mauth_log() as records:
        assert source.token().access_token
    assert provider.token_requests() == 2
    assert any(code in r.getMessage() for r in records), [r.getMessage() for r in records]


def test_slow_answer_beyond_the_timeout(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    # The normal answer must come within the timeout even on a loaded CI machine: 1 s, a third of
    # the slow answer's 3 s (0.3 s made the retry itself time out under load).
    source = generic_source(provider, timeout=1.0, retry=RetryPolicy(attempts=1))
    provider.set_fault("slow", delay=3)
    with pytest.raises(TransportError) as caught:
        source.token()
    assert caught.value.code == "timeout"
    assert provider.token_requests() == 1
    # With a second attempt allowed, the next (normal) answer is used.
    retrying = generic_source(provider, timeout=1.0, retry=FAST)
    provider.set_fault("slow", delay=3)
    assert retrying.token().access_token
    assert provider.token_requests() == 3


def test_retry_after_beyond_the_deadline_raises_at_once(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, retry=RetryPolicy(attempts=5, deadline=5))
    provider.set_fault("429", retry_after="30")
    with captured_m2mauth_log() as records:
        with pytest.raises(TokenEndpointError) as caught:
            source.token()
    assert caught.value.status == 429
    assert caught.value.retry_after == "30"
    assert provider.token_requests() == 1
    assert any("deadline" in r.getMessage() for r in records)
    assert retry_waits(records) == []
    # The same with a recording sleep: nothing was slept.
    slept: list[float] = []
    provider.set_fault("429", retry_after="30")
    with pytest.raises(TokenEndpointError):
        with_retries(one_attempt(provider), RetryPolicy(attempts=5, deadline=5), sleep=slept.append)
    assert slept == []
    assert provider.token_requests() == 2


def test_deadline_bounds_the_sum_of_waits(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    provider.set_fault("503", times=10)
    fake_now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        fake_now[0] += seconds

    policy = RetryPolicy(attempts=10, backoff=1.0, max_backoff=4.0, deadline=6.0, jitter=0.0)
    with pytest.raises(TokenEndpointError):
        with_retries(one_attempt(provider), policy, sleep=sleep, monotonic=lambda: fake_now[0])
    assert slept == [1.0, 2.0]  # a third wait of 4 s would pass the 6-s deadline
    assert provider.token_requests() == 3


# -- final errors are never retried -----------------------------------------------------------


def final_error_source(provider: LocalProvider, case: str) -> TokenSource:
    if case == "invalid_grant":
        return TokenSource(
            "openaire",
            refresh_token="never-issued-refresh-token",
            token_url=provider.token_url("openaire", "personal_refresh"),
        )
    if case == "invalid_client":
        provider.add_client("generic", "retry-client", SECRET)
        return TokenSource(
            "generic", token_url=provider.token_url("generic"), client_id="retry-client", client_secret="wrong"
        )
    # unsupported_grant_type: a password grant sent to OpenAIRE's client_credentials-only endpoint
    return TokenSource("generic", token_url=provider.token_url("openaire"), username="u", password="p")


@pytest.mark.parametrize("case", ["invalid_grant", "invalid_client", "unsupported_grant_type"])
def test_final_errors_are_never_retried(lifecycle_provider: ProviderFactory, case: str) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = final_error_source(provider, case)
    with captured_m2mauth_log() as records:
        with pytest.raises(TokenEndpointError) as caught:
            source.token()
    assert caught.value.code == case
    assert not is_transient(caught.value)
    assert provider.token_requests() == 1
    assert retry_waits(records) == []


def test_final_error_with_a_5xx_status_is_still_final() -> None:
    error = TokenEndpointError("x", code="invalid_client", status=500, error="invalid_client")
    assert not is_transient(error)
    assert is_transient(TokenEndpointError("x", code="token_endpoint_error", status=429, error="too_many_requests"))
    assert is_transient(TokenEndpointError("x", code="token_endpoint_error", status=502, error="bad_gateway"))
    assert not is_transient(TokenEndpointError("x", code="token_endpoint_error", status=400, error="nope"))


# -- logging without secrets ------------------------------------------------------------------


def test_retries_are_logged_at_info_without_secrets(
    lifecycle_provider: ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    refresh = provider.issue_refresh_token("openaire")
    policy = RetryPolicy(attempts=6, backoff=0.02, max_backoff=0.1, deadline=20)
    openaire = TokenSource(
        "openaire", refresh_token=refresh, token_url=provider.token_url("openaire", "refresh"), retry=policy
    )
    generic = generic_source(provider, retry=policy)
    provider.set_fault("503", times=2)
    provider.set_fault("reset")
    provider.set_fault("429", retry_after="0")
    with captured_m2mauth_log() as records, caplog.at_level(logging.INFO):
        token = openaire.token()
        provider.set_fault("503")
        provider.set_fault("reset")
        second = generic.token()
    assert provider.token_requests() == 8  # 4 failures + 1 success, then 2 failures + 1 success
    infos = [r for r in records if r.levelno == logging.INFO and "retry" in r.getMessage()]
    assert len(infos) == 6
    text = "\n".join(r.getMessage() for r in records) + "\n" + caplog.text
    for secret in (refresh, SECRET, token.access_token, token.refresh_token, second.access_token):
        assert secret and secret not in text


def test_transport_errors_do_not_echo_the_refresh_token_url(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    refresh = provider.issue_refresh_token("openaire")
    source = TokenSource(
        "openaire",
        refresh_token=refresh,
        token_url=provider.token_url("openaire", "refresh"),
        retry=RetryPolicy(attempts=1),
        timeout=0.3,
    )
    provider.set_fault("reset")
    with pytest.raises(TransportError) as reset:
        source.token()
    provider.set_fault("slow", delay=2)
    with pytest.raises(TransportError) as slow:
        source.token()
    for error in (reset.value, slow.value):
        shown = str(error) + repr(error) + str(error.__cause__) + repr(error.__cause__)
        assert refresh not in shown
    assert (reset.value.code, slow.value.code) == ("connection_error", "timeout")
