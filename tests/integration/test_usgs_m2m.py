"""usgs-m2m against the local emulation over loopback: JSON login, X-Auth-Token, AUTH_EXPIRED, logout."""

from __future__ import annotations

import io
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

import m2mauth
from m2mauth import cli
from m2mauth.testing import LocalProvider

TIMEOUT = 10
USER, APP_TOKEN = "landsat-user", "app-Token-7f3e-DO-NOT-PRINT"


class Clock:
    """The provider's clock, moved by the test (the client keeps real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.offset


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def provider(clock: Clock) -> Iterator[LocalProvider]:
    with LocalProvider(clock=clock) as running:
        running.add_usgs_user(USER, APP_TOKEN)
        yield running


def creds(provider: LocalProvider) -> dict[str, str]:
    return {"username": USER, "application_token": APP_TOKEN, "token_url": provider.token_url("usgs-m2m")}


def test_fetch_token_exchanges_the_application_token_for_a_two_hour_key(provider: LocalProvider) -> None:
    token = m2mauth.fetch_token("usgs-m2m", **creds(provider))
    assert token.header_name == "X-Auth-Token" and token.authorization == token.access_token
    assert token.expires_in is not None and 7100 < token.expires_in <= 7200
    assert provider.usgs_counts()["logins"] == 1 and APP_TOKEN not in repr(token)


def test_requests_auth_sends_x_auth_token_and_no_authorization(provider: LocalProvider) -> None:
    answer = requests.get(provider.usgs_api_url, auth=m2mauth.Auth("usgs-m2m", **creds(provider)), timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json()["errorCode"] is None
    sent = [r for r in provider.requests_log if r.path.endswith("dataset-search")][-1]
    names = [name.lower() for name, _ in sent.headers]
    assert "x-auth-token" in names and "authorization" not in names


def test_auth_expired_is_renewed_and_retried_once(provider: LocalProvider, clock: Clock) -> None:
    http = m2mauth.session("usgs-m2m", **creds(provider))
    assert http.get(provider.usgs_api_url, timeout=TIMEOUT).json()["errorCode"] is None
    clock.offset += 7201  # the server's key expired; the client's clock still says it is fresh
    answer = http.get(provider.usgs_api_url, timeout=TIMEOUT)
    assert answer.json()["errorCode"] is None and len(answer.history) == 1
    assert provider.usgs_counts()["logins"] == 2 and provider.usgs_counts()["expired_answers"] == 1


def test_a_second_auth_expired_is_returned_not_retried_again(clock: Clock) -> None:
    ticks = itertools.count()
    with LocalProvider(clock=lambda: next(ticks) * 100.0, usgs_key_lifetime=50) as provider:
        # Every read of the server's clock moves it 100 s: each key is expired when next used.
        provider.add_usgs_user(USER, APP_TOKEN)
        answer = requests.get(provider.usgs_api_url, auth=m2mauth.Auth("usgs-m2m", **creds(provider)), timeout=TIMEOUT)
        assert answer.json()["errorCode"] == "AUTH_EXPIRED"
        assert answer.json()["errorMessage"] == "API key has expired due to inactivity"  # USGS's text
        assert provider.usgs_counts()["logins"] == 2 and provider.usgs_counts()["expired_answers"] == 2


def test_httpx_auth_follows_the_profile_and_renews_on_auth_expired(provider: LocalProvider, clock: Clock) -> None:
    with httpx.Client(auth=m2mauth.HttpxAuth("usgs-m2m", **creds(provider)), timeout=TIMEOUT) as client:
        assert client.post(provider.usgs_api_url).json()["errorCode"] is None
        clock.offset += 7201
        assert client.post(provider.usgs_api_url).json()["errorCode"] is None
    assert provider.usgs_counts()["logins"] == 2


def test_a_wrong_application_token_is_a_typed_error_without_the_secret(provider: LocalProvider) -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("usgs-m2m", **{**creds(provider), "application_token": "wrong-Token-DO-NOT-PRINT"})
    error = caught.value
    assert error.error == "AUTH_INVALID" and error.provider_code == "application_token_rejected"
    assert "DO-NOT-PRINT" not in str(error) + repr(error) + (error.hint or "")


def test_password_gets_the_application_token_hint(provider: LocalProvider) -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("usgs-m2m", username=USER, password="old-pw", token_url=provider.token_url("usgs-m2m"))
    assert caught.value.code == "password_login_retired" and "application token" in (caught.value.hint or "")
    assert provider.token_requests("usgs-m2m") == 0


def test_answers_carry_the_usgs_envelope(provider: LocalProvider) -> None:
    login = requests.post(
        provider.token_url("usgs-m2m"), json={"username": USER, "token": APP_TOKEN}, timeout=TIMEOUT
    ).json()
    members = {"requestId", "version", "sessionId", "data", "errorCode", "errorMessage"}
    assert set(login) == members and login["sessionId"] is not None and login["errorCode"] is None
    refused = requests.post(provider.usgs_api_url, headers={"X-Auth-Token": "not-a-key"}, timeout=TIMEOUT).json()
    assert set(refused) == members and refused["sessionId"] is None and refused["data"] is None


def test_the_retired_password_login_answers_invalid_endpoint(provider: LocalProvider) -> None:
    retired = provider.token_url("usgs-m2m").removesuffix("login-token") + "login"
    answer = requests.post(retired, json={"username": USER, "password": "old-pw"}, timeout=TIMEOUT).json()
    assert (answer["errorCode"], answer["errorMessage"], answer["data"]) == ("NOT_FOUND", "Invalid Endpoint", None)


def test_close_with_logout_ends_the_key_and_without_sends_nothing(provider: LocalProvider) -> None:
    source = m2mauth.TokenSource("usgs-m2m", **creds(provider))
    key = source.token().access_token
    assert source.close() is False and provider.usgs_counts()["logouts"] == 0
    assert source.close(logout=True) is True
    assert provider.usgs_counts()["logouts"] == 1 and provider.usgs_counts()["valid_keys"] == 0
    after = requests.post(provider.usgs_api_url, headers={"X-Auth-Token": key}, timeout=TIMEOUT)
    assert after.json()["errorCode"] == "AUTH_INVALID"


def test_logout_ends_a_given_key_or_the_one_in_the_store(provider: LocalProvider, tmp_path: Path) -> None:
    key = m2mauth.fetch_token("usgs-m2m", **creds(provider)).access_token
    assert m2mauth.logout("usgs-m2m", access_token=key, token_url=provider.token_url("usgs-m2m")) is True
    store = m2mauth.FileStore(tmp_path / "cache")
    m2mauth.TokenSource("usgs-m2m", store=store, **creds(provider)).token()
    assert m2mauth.logout("usgs-m2m", store=store, **creds(provider)) is True
    assert m2mauth.logout("usgs-m2m", store=store, **creds(provider)) is False  # nothing left to end
    assert provider.usgs_counts()["logouts"] == 2


def test_cli_reads_the_application_token_from_stdin_and_prints_the_header(
    provider: LocalProvider, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(APP_TOKEN + "\n"))
    argv = ["token", "usgs-m2m", "--username", USER, "--application-token", "-", "--header"]
    code = cli.main([*argv, "--token-url", provider.token_url("usgs-m2m")])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("X-Auth-Token: ") and APP_TOKEN not in out + err
    key = out.strip().split(": ", 1)[1]
    answer = requests.post(provider.usgs_api_url, headers={"X-Auth-Token": key}, timeout=TIMEOUT)
    assert answer.json()["errorCode"] is None
