"""The ``cdse`` and ``sentinel-hub`` profiles against the local emulation (issue 11).

Real HTTP to :class:`m2mauth.testing.LocalProvider` on 127.0.0.1: CDSE's password grant with
``totp`` for two-factor accounts, Keycloak's ``refresh_expires_in``, the per-user session cap
(HTTP 429), Sentinel Hub dashboard clients (secret in the body or Basic). Time is a FakeClock
shared by the provider and the client, except in the cross-process test, which uses 2-second
tokens and bounded waits.
"""

from __future__ import annotations

import logging
import multiprocessing.context
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth import FileStore, RetryPolicy, TokenSource
from m2mauth.one_time_codes import TotpRequiredError
from m2mauth.testing import LocalProvider, new_totp_secret, totp_code

try:  # tests/integration as a package (an __init__.py exists)
    from . import conftest_lifecycle as lifecycle  # type: ignore[attr-defined, unused-ignore]
    from .conftest_local import clean_environment, resource, token_posts  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    import conftest_lifecycle as lifecycle
    from conftest_local import clean_environment, resource, token_posts

TIMEOUT = 10
USER, PASSWORD = "eo-user@example.org", "cdse-Test-Password-9c1d"
SH_ID, SH_SECRET = "sh-dashboard-client", "sh-Test-Secret-4e2a"
NO_RETRY = RetryPolicy(attempts=1)
PREFIXES = ("M2MAUTH_", "SH_CLIENT_", "EODAG__")


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path, PREFIXES, m2mauth_home="home")


def grants(provider: LocalProvider) -> list[str | None]:
    return [r.field("grant_type") for r in token_posts(provider)]


# -- password grant, two-factor accounts --------------------------------------------------------


def test_password_grant_sends_the_public_client_and_no_secret(provider: LocalProvider) -> None:
    provider.add_user("cdse", USER, PASSWORD)
    token = m2mauth.fetch_token("cdse", username=USER, password=PASSWORD, token_url=provider.token_url("cdse"))
    assert resource(provider, token)["subject"] == USER
    assert 590 <= (token.expires_in or 0) <= 600 and token.refresh_token
    assert token.refresh_expires_at is not None and token.expires_at is not None
    assert 3590 <= (token.refresh_expires_at - token.expires_at).total_seconds() + 600 <= 3600
    sent = token_posts(provider)[-1]
    assert sent.form == (
        ("grant_type", "password"),
        ("username", USER),
        ("password", "[REDACTED]"),
        ("client_id", "cdse-public"),
    )
    assert sent.header("Authorization") is None and sent.content_type == "application/x-www-form-urlencoded"


def test_two_factor_account_needs_the_current_code_once(provider: LocalProvider) -> None:
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    url = provider.token_url("cdse")
    with pytest.raises(m2mauth.TokenEndpointError) as missing:
        m2mauth.fetch_token("cdse", username=USER, password=PASSWORD, token_url=url)
    assert missing.value.status == 401 and missing.value.error_description == "Invalid user credentials"
    assert missing.value.provider_code == "user_credentials_rejected"
    assert "password" in (missing.value.hint or "") and "totp=" in (missing.value.hint or "")  # both causes

    code = totp_code(seed, provider.now())
    token = m2mauth.fetch_token("cdse", username=USER, password=PASSWORD, totp=code, token_url=url)
    assert resource(provider, token)["subject"] == USER
    sent = token_posts(provider)[-1]
    assert ("totp", "[REDACTED]") in sent.form  # sent as the form field CDSE documents, never logged

    with pytest.raises(m2mauth.TokenEndpointError) as reused:  # a code works once
        m2mauth.fetch_token("cdse", username=USER, password=PASSWORD, totp=code, token_url=url)
    assert reused.value.provider_code == "user_credentials_rejected"

    wrong = m2mauth.fetch_token  # a wrong password says the same, with the same hint
    with pytest.raises(m2mauth.TokenEndpointError) as bad:
        wrong("cdse", username=USER, password="not-it", totp=totp_code(seed, provider.now() + 30), token_url=url)
    assert bad.value.provider_code == "user_credentials_rejected"


def test_totp_as_a_callable_and_through_auth(provider: LocalProvider) -> None:
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    asked: list[float] = []

    def current_code() -> str:
        asked.append(provider.now())
        return totp_code(seed, provider.now())

    auth = m2mauth.Auth(
        "cdse", username=USER, password=PASSWORD, totp=current_code, token_url=provider.token_url("cdse")
    )
    answer = requests.get(provider.resource_url, auth=auth, timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json()["subject"] == USER
    assert len(asked) == 1
    assert "totp" not in repr(auth.source) and seed not in repr(auth.source)


def test_the_password_flow_keeps_cdse_public_when_the_environment_names_a_dashboard_client(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.add_user("cdse", USER, PASSWORD)
    provider.add_client("cdse", SH_ID, SH_SECRET)
    monkeypatch.setenv("SH_CLIENT_ID", SH_ID)
    monkeypatch.setenv("SH_CLIENT_SECRET", SH_SECRET)
    monkeypatch.setenv("EODAG__COP_DATASPACE__AUTH__CREDENTIALS__USERNAME", USER)
    monkeypatch.setenv("EODAG__COP_DATASPACE__AUTH__CREDENTIALS__PASSWORD", PASSWORD)
    url = provider.token_url("cdse")
    token = m2mauth.fetch_token("cdse", token_url=url)  # eodag's variables: the password flow comes first
    assert resource(provider, token)["subject"] == USER
    assert token_posts(provider)[-1].field("client_id") == "cdse-public"
    client = m2mauth.fetch_token("cdse", flow="client_credentials", token_url=url)  # sentinelhub-py's variables
    assert resource(provider, client)["subject"] == f"service-account-{SH_ID}"
    assert token_posts(provider)[-1].form == (
        ("grant_type", "client_credentials"),
        ("client_id", SH_ID),
        ("client_secret", "[REDACTED]"),
    )


def test_refresh_token_flow_and_dashboard_client_with_basic(provider: LocalProvider) -> None:
    provider.add_user("cdse", USER, PASSWORD)
    provider.add_client("cdse", SH_ID, SH_SECRET)
    url = provider.token_url("cdse")
    first = m2mauth.fetch_token("cdse", username=USER, password=PASSWORD, token_url=url)
    assert first.refresh_token
    renewed = m2mauth.fetch_token("cdse", refresh_token=first.refresh_token, token_url=url, keep_refresh_token=False)
    assert resource(provider, renewed)["subject"] == USER
    assert token_posts(provider)[-1].form == (
        ("grant_type", "refresh_token"),
        ("refresh_token", "[REDACTED]"),
        ("client_id", "cdse-public"),
    )
    assert provider.cdse_sessions(USER)["opened"] == 1  # a refresh continues the session
    basic = m2mauth.fetch_token(
        "cdse", client_id=SH_ID, client_secret=SH_SECRET, auth_method="client_secret_basic", token_url=url
    )
    assert resource(provider, basic)["subject"] == f"service-account-{SH_ID}"
    assert token_posts(provider)[-1].header("Authorization") == "Basic [REDACTED]"
    with pytest.raises(m2mauth.TokenEndpointError) as wrong:
        m2mauth.fetch_token("cdse", client_id=SH_ID, client_secret="wrong-secret", token_url=url)
    assert wrong.value.provider_code == "client_rejected" and "dashboard" in (wrong.value.hint or "")


# -- renewal over time: refresh while refresh_expires_in allows, then the password grant ----------


def cdse_source(provider: LocalProvider, clock: lifecycle.FakeClock, **credentials: Any) -> TokenSource:
    return TokenSource(
        "cdse",
        username=USER,
        password=PASSWORD,
        token_url=provider.token_url("cdse"),
        clock=clock,
        retry=NO_RETRY,
        **credentials,
    )


def test_renewal_refreshes_within_the_hour_then_repeats_the_password_grant(
    lifecycle_provider: lifecycle.ProviderFactory,
) -> None:
    clock = lifecycle.FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    provider.add_user("cdse", USER, PASSWORD)
    source = cdse_source(provider, clock)
    first = source.token()
    clock.advance(550)  # 50 s left: inside the 60 s margin of a 10-minute token
    second = source.token()
    assert second.access_token != first.access_token
    assert grants(provider) == ["password", "refresh_token"]
    clock.advance(3600 + 60)  # idle past refresh_expires_in: the refresh token is dead
    third = source.token()
    assert third.access_token != second.access_token
    assert grants(provider) == ["password", "refresh_token", "password"]  # no refresh sent in vain
    assert provider.cdse_sessions(USER)["opened"] == 2


def test_a_used_totp_is_never_resent_totp_required_instead(lifecycle_provider: lifecycle.ProviderFactory) -> None:
    clock = lifecycle.FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    source = cdse_source(provider, clock, totp=totp_code(seed, clock.now))
    source.token()
    for _ in range(8):  # 80 minutes of work: each renewal by refresh, no new code needed
        clock.advance(560)
        source.token()
    assert grants(provider) == ["password"] + ["refresh_token"] * 8
    clock.advance(2 * 3600)  # a long pause: the refresh token expired
    sent = len(token_posts(provider))
    with pytest.raises(TotpRequiredError) as needed:
        source.token()
    assert needed.value.code == "totp_required" and isinstance(needed.value, m2mauth.ConfigError)
    assert "totp=" in str(needed.value) and "pyotp" in (needed.value.hint or "")
    assert len(token_posts(provider)) == sent  # the stale code was not sent
    assert pickle.loads(pickle.dumps(needed.value)).code == "totp_required"


def test_a_totp_callable_gives_each_password_grant_a_fresh_code(lifecycle_provider: lifecycle.ProviderFactory) -> None:
    clock = lifecycle.FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=clock)
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    source = cdse_source(provider, clock, totp=lambda: totp_code(seed, clock.now))
    source.token()
    clock.advance(2 * 3600)
    source.token()
    assert grants(provider) == ["password", "password"]
    assert [r.status for r in token_posts(provider)] == [200, 200]


def test_a_refused_refresh_falls_back_to_the_password_grant(lifecycle_provider: lifecycle.ProviderFactory) -> None:
    server_clock, client_clock = lifecycle.FakeClock(), lifecycle.FakeClock()
    provider = lifecycle_provider(token_lifetime=600, clock=server_clock, cdse_session_idle=700)
    provider.add_user("cdse", USER, PASSWORD)
    source = cdse_source(provider, client_clock)
    source.token()
    client_clock.advance(650)  # the client sees 50 s of refresh-token life left ...
    server_clock.advance(750)  # ... but the server already ended the session
    renewed = source.token()
    assert grants(provider) == ["password", "refresh_token", "password"]
    assert [r.status for r in token_posts(provider)] == [200, 400, 200]
    assert resource(provider, renewed)["subject"] == USER


def test_refresh_expiry_is_kept_in_a_file_store(lifecycle_provider: lifecycle.ProviderFactory, tmp_path: Path) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    provider.add_user("cdse", USER, PASSWORD)
    folder = tmp_path / "store"
    token = TokenSource(
        "cdse", username=USER, password=PASSWORD, token_url=provider.token_url("cdse"), store=FileStore(folder)
    ).token()
    record = lifecycle.read_record(folder)
    assert record is not None and token.refresh_expires_at is not None
    assert record["refresh_expires_at"] == pytest.approx(token.refresh_expires_at.timestamp())
    assert PASSWORD not in (folder / "tokens").joinpath(next(iter((folder / "tokens").iterdir())).name).read_text()


# -- 100 sessions per user: HTTP 429 and its hint ----------------------------------------------------


def test_past_the_session_cap_429_says_to_share_a_store(lifecycle_provider: lifecycle.ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600, cdse_session_cap=3)
    provider.add_user("cdse", USER, PASSWORD)
    url = provider.token_url("cdse")
    for _ in range(3):  # what a script fetching one token per download does
        m2mauth.fetch_token("cdse", username=USER, password=PASSWORD, token_url=url)
    with pytest.raises(m2mauth.TokenEndpointError) as refused:
        TokenSource("cdse", username=USER, password=PASSWORD, token_url=url, retry=NO_RETRY).token()
    error = refused.value
    assert error.status == 429 and error.code == "rate_limited" and error.provider_code == "too_many_sessions"
    hint = error.hint or ""
    assert "100 active sessions" in hint and "FileStore" in hint and "RedisStore" in hint and "store=" in hint
    assert provider.cdse_sessions(USER) == {"active": 3, "opened": 3, "refused": 1}
    explained = m2mauth.explain(error, profile="cdse")
    assert "FileStore" in str(explained)


def session_worker(queue: Any, source: TokenSource, resource_url: str, duration: float) -> None:
    try:
        calls = refused = 0
        deadline = time.monotonic() + duration
        with requests.Session() as http:
            while time.monotonic() < deadline:
                token = source.token()
                calls += 1
                if calls % 25 == 0:
                    answer = http.get(resource_url, headers={"Authorization": token.authorization}, timeout=10)
                    refused += answer.status_code != 200
                time.sleep(0.005)
        queue.put({"calls": calls, "refused": refused, "requests": source.requests_made})
    except BaseException as error:
        queue.put({"error": repr(error)})


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
def test_processes_sharing_a_file_store_open_one_session(
    lifecycle_provider: lifecycle.ProviderFactory, mp: multiprocessing.context.BaseContext, tmp_path: Path
) -> None:
    lifetime, duration, processes = 2, 4.0, 4
    provider = lifecycle_provider(token_lifetime=lifetime, cdse_session_cap=2)
    provider.add_user("cdse", USER, PASSWORD)
    source = TokenSource(
        "cdse", username=USER, password=PASSWORD, token_url=provider.token_url("cdse"), store=FileStore(tmp_path / "s")
    )
    started = time.monotonic()
    results = lifecycle.run_workers(mp, session_worker, [(source, provider.resource_url, duration)] * processes)
    elapsed = time.monotonic() - started
    made = provider.token_requests("cdse")
    assert sum(r["requests"] for r in results) == made and all(r["refused"] == 0 for r in results), results
    assert provider.cdse_sessions(USER)["opened"] == 1  # one session for all processes and periods
    assert grants(provider).count("password") == 1
    assert 2 <= made <= lifecycle.token_requests_bound(elapsed, lifetime), (
        made,
        elapsed,
        lifecycle.refresh_period(lifetime),
    )


# -- sentinel-hub ---------------------------------------------------------------------------------


def test_sentinel_hub_secret_in_the_body_by_default_basic_selectable(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.add_client("sentinel-hub", SH_ID, SH_SECRET)
    url = provider.token_url("sentinel-hub")
    assert url.endswith("/auth/realms/main/protocol/openid-connect/token")
    token = m2mauth.fetch_token("sentinel-hub", client_id=SH_ID, client_secret=SH_SECRET, token_url=url)
    assert resource(provider, token)["profile"] == "sentinel-hub"
    sent = token_posts(provider)[-1]
    assert sent.form == (("grant_type", "client_credentials"), ("client_id", SH_ID), ("client_secret", "[REDACTED]"))
    assert sent.header("Authorization") is None
    monkeypatch.setenv("SH_CLIENT_ID", SH_ID)
    monkeypatch.setenv("SH_CLIENT_SECRET", SH_SECRET)
    auth = m2mauth.Auth("sentinel-hub", auth_method="client_secret_basic", token_url=url)
    assert requests.get(provider.resource_url, auth=auth, timeout=TIMEOUT).status_code == 200
    sent = token_posts(provider)[-1]
    assert sent.form == (("grant_type", "client_credentials"),) and sent.header("Authorization") == "Basic [REDACTED]"


def test_sentinel_hub_wrong_secret_is_explained_without_the_secret(provider: LocalProvider) -> None:
    provider.add_client("sentinel-hub", SH_ID, SH_SECRET)
    with lifecycle.captured_m2mauth_log() as records, pytest.raises(m2mauth.TokenEndpointError) as refused:
        m2mauth.fetch_token(
            "sentinel-hub",
            client_id=SH_ID,
            client_secret="sh-Wrong-Secret-77",
            token_url=provider.token_url("sentinelhub"),
        )
    error = refused.value
    assert error.status == 401 and error.error_description == "Invalid client or Invalid client credentials"
    assert error.provider_code == "client_rejected" and "cdse" in (error.hint or "")
    text = str(error) + repr(error) + "".join(r.getMessage() for r in records)
    assert "sh-Wrong-Secret-77" not in text


def test_no_secret_or_code_reaches_the_log(
    lifecycle_provider: lifecycle.ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    code = totp_code(seed, provider.now())
    with caplog.at_level(logging.DEBUG), lifecycle.captured_m2mauth_log() as records:
        source = TokenSource("cdse", username=USER, password=PASSWORD, totp=code, token_url=provider.token_url("cdse"))
        token = source.token()
    shown = caplog.text + "".join(r.getMessage() for r in records) + repr(source) + repr(token)
    assert PASSWORD not in shown and seed not in shown and f"totp={code}" not in shown
    assert token.access_token not in shown
