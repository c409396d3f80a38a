"""``m2mauth token`` and ``m2mauth logout`` for ``usgs-m2m``, and ``--access-token`` (issue 12).

Against the local emulation on 127.0.0.1, as a new user runs them: the first test starts
``python -m m2mauth.cli`` in a subprocess with the application token piped to stdin, the others go
through ``m2mauth.cli.main(argv)`` in-process (stdin given, stdout and stderr captured). The USGS key is
checked on the emulated API, which answers ``errorCode`` AUTH_INVALID for a key it does not know.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from m2mauth import cli
from m2mauth.testing import LocalProvider

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_local import (  # type: ignore[import-not-found, unused-ignore]
        HTTP_TIMEOUT,
        Run,
        checkout_environment,
        clean_environment,
        resource_ok,
    )
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_local import HTTP_TIMEOUT, Run, checkout_environment, clean_environment, resource_ok

USER, APP_TOKEN = "landsat-user", "app-Token-51c7-DO-NOT-PRINT"
EDL_USER, EDL_PASSWORD = "edl-user", "edl-Password-0b4e-DO-NOT-PRINT"
PREFIXES = ("M2MAUTH_", "EARTHDATA_", "NETRC")


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path, PREFIXES, m2mauth_home="home")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc of the machine for earthdata


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        running.add_usgs_user(USER, APP_TOKEN)
        running.add_earthdata_user(EDL_USER, EDL_PASSWORD)
        yield running


def usgs_login(provider: LocalProvider) -> list[str]:
    """The options of a USGS user: username, the application token from stdin, the emulation's URL."""
    return ["--username", USER, "--application-token", "-", "--token-url", provider.token_url("usgs-m2m")]


def usgs_error(provider: LocalProvider, key: str) -> str | None:
    """The emulated USGS API's errorCode for a call with this key (None: accepted)."""
    answer = requests.post(provider.usgs_api_url, headers={"X-Auth-Token": key}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text  # USGS answers its errors in the envelope
    code: str | None = answer.json()["errorCode"]
    return code


# -- usgs-m2m ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "prefix"), [((), ""), (("--header",), "X-Auth-Token: ")])
def test_token_with_the_application_token_from_stdin_prints_the_key(
    provider: LocalProvider, extra: tuple[str, ...], prefix: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "m2mauth.cli", "token", "usgs-m2m", *usgs_login(provider), *extra],
        input=APP_TOKEN + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=checkout_environment(),
        check=False,
    )
    assert done.returncode == cli.EXIT_OK, done.stderr
    line = done.stdout.strip()
    assert "\n" not in line and line.startswith(prefix) and "Bearer" not in line
    key = line[len(prefix) :]
    assert key and usgs_error(provider, key) is None
    assert APP_TOKEN not in done.stdout + done.stderr
    assert provider.usgs_counts()["logins"] == 1


def test_logout_ends_the_stored_key_at_the_provider(run: Run, provider: LocalProvider) -> None:
    token = run("token", "usgs-m2m", *usgs_login(provider), stdin=APP_TOKEN + "\n")
    assert token.code == cli.EXIT_OK, token.err
    key = token.out.strip()
    assert usgs_error(provider, key) is None

    logout = run("logout", "usgs-m2m", *usgs_login(provider), stdin=APP_TOKEN + "\n")
    assert logout.code == cli.EXIT_OK, logout.err
    counts = provider.usgs_counts()
    assert counts["logouts"] == 1 and counts["valid_keys"] == 0
    assert usgs_error(provider, key) == "AUTH_INVALID"
    assert "ended" in logout.out
    assert APP_TOKEN not in logout.both and key not in logout.both

    # Nothing is kept: the next token is a new login, with a new key.
    again = run("token", "usgs-m2m", *usgs_login(provider), stdin=APP_TOKEN + "\n")
    assert again.code == cli.EXIT_OK and again.out.strip() != key
    assert provider.usgs_counts()["logins"] == 2


def test_logout_ends_a_key_given_with_access_token(run: Run, provider: LocalProvider) -> None:
    token = run("token", "usgs-m2m", *usgs_login(provider), "--no-store", stdin=APP_TOKEN + "\n")
    key = token.out.strip()
    url = provider.token_url("usgs-m2m")
    logout = run("logout", "usgs-m2m", "--access-token", "-", "--token-url", url, stdin=key + "\n")
    assert logout.code == cli.EXIT_OK, logout.err
    assert provider.usgs_counts()["logouts"] == 1 and usgs_error(provider, key) == "AUTH_INVALID"
    assert key not in logout.both


@pytest.mark.parametrize("given", ["stdin", "argument"])
def test_password_gets_the_application_token_hint_and_nothing_is_sent(
    run: Run, provider: LocalProvider, given: str
) -> None:
    password = "old-Password-77aa-DO-NOT-PRINT"
    value, stdin = ("-", password + "\n") if given == "stdin" else (password, "")
    url = provider.token_url("usgs-m2m")
    result = run("token", "usgs-m2m", "--username", USER, "--password", value, "--token-url", url, stdin=stdin)
    assert result.code == cli.EXIT_CONFIG
    assert "[password_login_retired]" in result.err and "--application-token" in result.err
    assert "application token" in result.err and result.out == ""
    assert password not in result.both
    assert provider.token_requests("usgs-m2m") == 0


# -- --access-token: a ready token, used as is ----------------------------------------------------------


@pytest.mark.parametrize(("extra", "prefix"), [((), ""), (("--header",), "Authorization: Bearer ")])
def test_a_ready_earthdata_token_is_printed_as_is_without_asking_the_provider(
    run: Run, provider: LocalProvider, extra: tuple[str, ...], prefix: str
) -> None:
    ready = provider.mint_earthdata_token(EDL_USER)
    before = len(provider.requests_log)
    url = provider.token_url("earthdata")
    result = run("token", "earthdata", "--access-token", "-", "--token-url", url, *extra, stdin=ready + "\n")
    assert result.code == cli.EXIT_OK, result.err
    assert result.out == prefix + ready + "\n"
    assert provider.token_requests("earthdata") == 0 and len(provider.requests_log) == before
    assert resource_ok(provider, ready)


@pytest.mark.parametrize(
    ("profile", "credentials"),
    [
        ("eumetsat", ["--client-id", "consumer-key"]),
        ("usgs-m2m", ["--username", USER]),
        ("clms", []),
    ],
)
def test_a_ready_token_is_refused_where_the_profile_gets_its_own(
    run: Run, provider: LocalProvider, profile: str, credentials: list[str]
) -> None:
    ready = "a-Ready-Token-9d2f-DO-NOT-PRINT"
    url = provider.token_url(profile)
    result = run("token", profile, *credentials, "--access-token", "-", "--token-url", url, stdin=ready + "\n")
    assert result.code == cli.EXIT_CONFIG and result.out == ""
    assert f"{profile} does not use a ready token (--access-token)" in result.err
    assert "[missing_credential]" in result.err and "Give the credentials of one flow instead" in result.err
    assert ready not in result.both
    assert provider.token_requests() == 0
