"""Bad inputs found by hand and by test_public_arguments.py, each pinned: an M2MAuthError naming the
argument, never a TypeError/ValueError from requests, urllib3 or the standard library.

Token requests go to a LocalProvider on loopback; the 429 answers with odd Retry-After headers are
the provider's real answers over HTTP.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest

import m2mauth
from m2mauth import ConfigError, RetryPolicy, TokenSource
from m2mauth.retry import retry_after_seconds
from m2mauth.testing import LocalProvider

SECRET = "bad-inputs-s3cret"
CE = "climate-engine"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        running.add_client(CE, "ce-client", SECRET)
        yield running


def credentials(provider: LocalProvider) -> dict[str, Any]:
    return {"client_id": "ce-client", "client_secret": SECRET, "token_url": provider.token_url(CE)}


BAD_TIMEOUTS = [0, -1, 0.0, -0.5, math.nan, math.inf, 1e300, 10**400, "30", b"30", None, True, [30], object()]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=repr)
def test_a_bad_timeout_is_named_before_anything_is_sent(provider: LocalProvider, timeout: Any) -> None:
    before = provider.token_requests(CE)
    for call in (
        lambda: m2mauth.fetch_token(CE, timeout=timeout, **credentials(provider)),
        lambda: TokenSource(CE, timeout=timeout, **credentials(provider)),
        lambda: m2mauth.Auth(CE, timeout=timeout, **credentials(provider)),
        lambda: m2mauth.discover(provider.base_url, timeout=timeout),
    ):
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.code == "invalid_option"
        assert info.value.message.startswith("timeout= must be")
        assert "timeout=30" in (info.value.hint or "")
    assert provider.token_requests(CE) == before


def test_a_good_timeout_still_works(provider: LocalProvider) -> None:
    assert m2mauth.fetch_token(CE, timeout=2, **credentials(provider)).access_token
    assert m2mauth.fetch_token(CE, timeout=0.5, **credentials(provider)).access_token


@pytest.mark.parametrize("profile", [None, 42, 1.5, b"clms", ["clms"], object(), True])
def test_a_profile_of_the_wrong_type_is_a_config_error(profile: Any) -> None:
    for call in (
        lambda: m2mauth.fetch_token(profile, client_id="x", client_secret="y"),
        lambda: m2mauth.build_request(profile, client_id="x", client_secret="y"),
        lambda: m2mauth.load_profile(profile),
        lambda: TokenSource(profile, client_id="x", client_secret="y"),
        lambda: m2mauth.Auth(profile, client_id="x", client_secret="y"),
    ):
        with pytest.raises(ConfigError) as info:
            call()
        assert info.value.code == "invalid_profile"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"margin": -1}, "margin="),
        ({"margin": "10"}, "margin="),
        ({"retry": 3}, "retry="),
        ({"store": "memory"}, "store="),
        ({"session": "requests"}, "session="),
        ({"proxies": "http://proxy:3128"}, "proxies="),
        ({"verify": "/nonexistent/ca.pem"}, "verify="),
        ({"verify": 1}, "verify="),
        ({"flow": 1}, "flow="),
        ({"auth_method": ["client_secret_post"]}, "auth_method="),
        ({"clock": 1.0}, "clock="),
    ],
)
def test_other_bad_options_are_named(provider: LocalProvider, options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        TokenSource(CE, **options, **credentials(provider))
    assert info.value.message.startswith(named)


def test_a_proxy_url_with_a_password_is_not_echoed(provider: LocalProvider) -> None:
    with pytest.raises(ConfigError) as info:
        m2mauth.fetch_token(CE, proxies=["http://user:pr0xy-pass@proxy:3128"], **credentials(provider))
    assert "pr0xy-pass" not in str(info.value) and "pr0xy-pass" not in repr(info.value)


@pytest.mark.parametrize(
    "options",
    [{"attempts": 0}, {"attempts": 2.5}, {"attempts": "3"}, {"backoff": -1}, {"deadline": math.inf}, {"jitter": 2}],
)
def test_a_bad_retry_policy_is_named(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**options)
    assert info.value.code == "invalid_option"
    assert f"RetryPolicy({next(iter(options))}=)" in info.value.message


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("²", None),  # str.isdigit() says yes, float() says no
        ("١٢", None),  # Arabic-Indic digits: not delta-seconds either
        ("12", 12.0),
        (" 3 ", 3.0),
        ("1.5", None),
        ("-1", None),
        ("soon", None),
        ("Fri, 31 Dec 99999 23:59:59 GMT", None),
        ("Mon, 01 Jan 1990 00:00:00 GMT", 0.0),  # in the past: no wait
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = time.time()
    header = email.utils.formatdate(now + 120, usegmt=True)
    waited = retry_after_seconds(header, now=now)
    assert waited is not None and 118 <= waited <= 121


@pytest.mark.parametrize("header", ["²", "Fri, 31 Dec 99999 23:59:59 GMT", "1.5e1"])
def test_an_unreadable_retry_after_from_a_real_429_falls_back_to_backoff(provider: LocalProvider, header: str) -> None:
    provider.set_fault("429", retry_after=header)
    source = TokenSource(CE, retry=RetryPolicy(attempts=2, backoff=0.01, deadline=10), **credentials(provider))
    assert source.token().access_token
    assert source.requests_made == 2
