"""ESA MAAP against the local emulation: the 90-day offline token as a refresh token, maap_client's
credentials.txt, the expiry warning, and how the kept newest refresh token (refresh_keeper) behaves
with an offline token the realm rotates or does not rotate (separate processes for "across runs").
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth.doctor import run_doctor
from m2mauth.offline_tokens import refresh_token_end
from m2mauth.testing import LocalProvider

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_lifecycle import FakeClock  # type: ignore[import-not-found, unused-ignore]
    from .conftest_local import (  # type: ignore[import-not-found, unused-ignore]
        Run,
        checkout_environment,
        isolated_home,
        resource_ok,
        token_posts,
    )
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_lifecycle import FakeClock
    from conftest_local import Run, checkout_environment, isolated_home, resource_ok, token_posts

TIMEOUT = 10
DAY = 86400
CLIENT_ID = "offline-token"
CLIENT_SECRET = "maap-Client-Secret-DO-NOT-PRINT"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No maap file or M2MAUTH_* credentials of the machine running the tests leak in."""
    return isolated_home(monkeypatch, tmp_path, "MAAP_CREDENTIALS_FILE")


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=300) as running:
        running.add_client("esa-maap", CLIENT_ID, CLIENT_SECRET)
        yield running


def write_maap(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    path.chmod(mode)
    return path


def credentials_txt(offline: str) -> str:
    return f"# maap_client credentials\nCLIENT_ID={CLIENT_ID}\nCLIENT_SECRET={CLIENT_SECRET}\nOFFLINE_TOKEN={offline}\n"


def offline_credentials(provider: LocalProvider, offline: str) -> dict[str, Any]:
    """The keywords of a maap_client user: client id and secret, an offline token, the emulation's URL."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": offline,
        "token_url": provider.token_url("esa-maap"),
    }


def test_keywords_and_the_exact_form(provider: LocalProvider) -> None:
    offline = provider.issue_offline_token(CLIENT_ID)
    token = m2mauth.fetch_token("esa-maap", **offline_credentials(provider, offline))
    assert resource_ok(provider, token)
    assert token.refresh_token and token.refresh_token != offline  # a successor of the same offline session
    sent = token_posts(provider, "esa-maap")[-1]
    assert sent.form == (
        ("grant_type", "refresh_token"),
        ("refresh_token", "[REDACTED]"),
        ("scope", "offline_access openid"),
        ("client_id", CLIENT_ID),
        ("client_secret", "[REDACTED]"),
    )
    assert sent.header("Authorization") is None


def test_credentials_txt_in_home_and_by_maap_credentials_file(
    provider: LocalProvider, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = provider.token_url("esa-maap")
    default = write_maap(
        isolated / ".maap" / "credentials.txt", credentials_txt(provider.issue_offline_token(CLIENT_ID))
    )
    before = default.read_bytes()
    assert resource_ok(provider, m2mauth.fetch_token("esa-maap", token_url=url))
    assert default.read_bytes() == before  # never written, not even with a rotated successor
    moved = write_maap(tmp_path / "elsewhere.txt", credentials_txt(provider.issue_offline_token(CLIENT_ID)))
    monkeypatch.setenv("MAAP_CREDENTIALS_FILE", str(moved))
    assert m2mauth.build_request("esa-maap").credentials.from_file == str(moved)
    assert resource_ok(provider, m2mauth.fetch_token("esa-maap", token_url=url))
    monkeypatch.setenv("MAAP_CREDENTIALS_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("esa-maap", token_url=url)
    assert caught.value.code == "invalid_credential_file" and "MAAP_CREDENTIALS_FILE" in caught.value.message


def test_a_keyword_offline_token_completes_the_file(provider: LocalProvider, isolated: Path) -> None:
    """The client id and secret from the file, a newer offline token passed as a keyword."""
    write_maap(isolated / ".maap" / "credentials.txt", f"CLIENT_ID={CLIENT_ID}\nCLIENT_SECRET={CLIENT_SECRET}\n")
    offline = provider.issue_offline_token(CLIENT_ID)
    token = m2mauth.fetch_token("esa-maap", refresh_token=offline, token_url=provider.token_url("esa-maap"))
    assert resource_ok(provider, token)


def test_a_file_readable_by_others_is_refused(provider: LocalProvider, isolated: Path) -> None:
    offline = provider.issue_offline_token(CLIENT_ID)
    path = write_maap(isolated / ".maap" / "credentials.txt", credentials_txt(offline), mode=0o644)
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("esa-maap", token_url=provider.token_url("esa-maap"))
    assert caught.value.code == "credential_file_permissions"
    assert f"chmod 600 {path}" in (caught.value.hint or "")
    assert offline not in str(caught.value) and token_posts(provider, "esa-maap") == []


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (f"CLIENT_ID={CLIENT_ID}\nCLIENT_SECRET {CLIENT_SECRET}\n", 2, "NAME=VALUE"),
        (f"CLIENT_ID={CLIENT_ID}\n\nCLIENT_SECRET={CLIENT_SECRET}\nCLIENT_SECRET={CLIENT_SECRET}\n", 4, "twice"),
        ("CLIENT_ID=\n", 1, "is empty"),
        ("# nothing\n\n", None, "no credentials"),
        (f"={CLIENT_SECRET}\n", 1, "NAME=VALUE"),
    ],
)
def test_malformed_credentials_txt_names_the_file_and_line(
    isolated: Path, text: str, line: int | None, what: str
) -> None:
    path = write_maap(isolated / ".maap" / "credentials.txt", text)
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("esa-maap")
    error = caught.value
    assert error.code == "invalid_credential_file" and str(path) in error.message and what in error.message
    assert (f"line {line}" in error.message) if line else ("line" not in error.message)
    assert CLIENT_SECRET not in f"{error} {error.hint}"


def test_not_utf8_names_the_line(isolated: Path) -> None:
    path = isolated / ".maap" / "credentials.txt"
    path.parent.mkdir()
    path.write_bytes(b"CLIENT_ID=a\nCLIENT_SECRET=\xff\xfe\n")
    path.chmod(0o600)
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("esa-maap")
    assert "line 2" in caught.value.message and "UTF-8" in caught.value.message


def test_unknown_names_are_warned_without_values_and_quotes_are_dropped(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_maap(
        isolated / ".maap" / "credentials.txt",
        f"CLIENT_ID=\"{CLIENT_ID}\"\nCLIENT_SECRET='{CLIENT_SECRET}'\nOFFLINE_TOKN=opaque-offline-value\n",
    )
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        creds = m2mauth.build_request("esa-maap", refresh_token="given-offline").credentials
    assert (creds.client_id, creds.client_secret, creds.refresh_token) == (CLIENT_ID, CLIENT_SECRET, "given-offline")
    assert "OFFLINE_TOKN" in caplog.text and "line 3" in caplog.text
    assert "opaque-offline-value" not in caplog.text and CLIENT_SECRET not in caplog.text


# -- the 90 days -----------------------------------------------------------------------------------------


def test_a_token_in_its_last_week_is_warned_once_without_the_token(
    provider: LocalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    old = provider.issue_offline_token(CLIENT_ID, issued_at=provider.now() - 85 * DAY)
    caplog.set_level(logging.WARNING, logger="m2mauth")
    for _ in range(2):
        m2mauth.fetch_token("esa-maap", **offline_credentials(provider, old))
    warnings = [r for r in caplog.records if r.name == "m2mauth" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "offline token ends in 5.0 days" in warnings[0].getMessage()
    assert old not in caplog.text and CLIENT_SECRET not in caplog.text


def test_through_auth_the_warning_comes_too(provider: LocalProvider, caplog: pytest.LogCaptureFixture) -> None:
    old = provider.issue_offline_token(CLIENT_ID, issued_at=provider.now() - 88 * DAY, lifetime=None)  # iat only
    caplog.set_level(logging.WARNING, logger="m2mauth")
    auth = m2mauth.Auth("esa-maap", **offline_credentials(provider, old))
    assert requests.get(provider.resource_url, auth=auth, timeout=TIMEOUT).status_code == 200
    assert "offline token ends in 2.0 days" in caplog.text


def test_a_fresh_or_opaque_token_is_not_warned(provider: LocalProvider, caplog: pytest.LogCaptureFixture) -> None:
    fresh = provider.issue_offline_token(CLIENT_ID)
    caplog.set_level(logging.WARNING, logger="m2mauth")
    m2mauth.fetch_token("esa-maap", **offline_credentials(provider, fresh))
    assert "offline token" not in caplog.text
    assert refresh_token_end("an-opaque-offline-token", 90 * DAY) is None
    end = refresh_token_end(fresh, 90 * DAY)
    assert end is not None and abs(end - (provider.now() + 90 * DAY)) < 5


def test_an_expired_offline_token_says_where_to_get_a_new_one(provider: LocalProvider) -> None:
    old = provider.issue_offline_token(CLIENT_ID, issued_at=provider.now() - 91 * DAY)
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("esa-maap", **offline_credentials(provider, old))
    error = caught.value
    assert (error.error, error.error_description, error.provider_code) == (
        "invalid_grant",
        "Token is not active",
        "offline_token_expired",
    )
    assert "portal.maap.eo.esa.int" in (error.hint or "")


def test_doctor_warns_in_the_last_week(provider: LocalProvider, isolated: Path) -> None:
    old = provider.issue_offline_token(CLIENT_ID, issued_at=provider.now() - 86 * DAY)
    path = write_maap(isolated / ".maap" / "credentials.txt", credentials_txt(old))
    report = run_doctor("esa-maap", token_url=provider.token_url("esa-maap"))
    lines = {check.name: check for check in report.checks}
    assert lines["credential_file"].status == "ok" and str(path) in lines["credential_file"].message
    assert lines["offline_token"].status == "warn" and "4.0 days" in lines["offline_token"].message
    assert "portal.maap.eo.esa.int" in (lines["offline_token"].fix or "")
    assert old not in report.render() and CLIENT_SECRET not in report.render()
    fresh = provider.issue_offline_token(CLIENT_ID)
    report = run_doctor("esa-maap", **offline_credentials(provider, fresh))
    lines = {check.name: check for check in report.checks}
    assert lines["offline_token"].status == "ok" and lines["credential_file"].status == "skip"


# -- the kept newest refresh token, with and without rotation -------------------------------------------


def run_fetch(provider: LocalProvider, offline: str, *, keep: bool = True) -> subprocess.CompletedProcess[str]:
    """One run of a script, in its own process, passing the ORIGINAL offline token (as from its config)."""
    code = (
        "import json, sys, m2mauth\n"
        "a = json.loads(sys.stdin.read())\n"
        "try:\n"
        "    t = m2mauth.fetch_token('esa-maap', keep_refresh_token=a['keep'], **a['creds'])\n"
        "    print('ok')\n"
        "except m2mauth.TokenEndpointError as e:\n"
        "    print('error', e.error, e.error_description)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps({"creds": offline_credentials(provider, offline), "keep": keep}),
        capture_output=True,
        text=True,
        timeout=120,
        env=checkout_environment(),
        check=False,
    )


@pytest.mark.parametrize("rotation", [False, True])
def test_the_original_offline_token_works_run_after_run(rotation: bool) -> None:
    with LocalProvider(offline_token_rotation=rotation) as provider:
        provider.add_client("esa-maap", CLIENT_ID, CLIENT_SECRET)
        offline = provider.issue_offline_token(CLIENT_ID)
        for _ in range(3):
            done = run_fetch(provider, offline)
            assert done.stdout.strip() == "ok", done.stdout + done.stderr
        assert len(token_posts(provider, "esa-maap")) == 3


def test_without_keeping_a_rotating_realm_refuses_the_spent_offline_token() -> None:
    with LocalProvider(offline_token_rotation=True) as provider:
        provider.add_client("esa-maap", CLIENT_ID, CLIENT_SECRET)
        offline = provider.issue_offline_token(CLIENT_ID)
        assert run_fetch(provider, offline, keep=False).stdout.strip() == "ok"
        assert run_fetch(provider, offline, keep=False).stdout.strip() == "error invalid_grant Stale token"


def test_without_rotation_keeping_is_harmless_and_not_needed() -> None:
    with LocalProvider() as provider:
        provider.add_client("esa-maap", CLIENT_ID, CLIENT_SECRET)
        offline = provider.issue_offline_token(CLIENT_ID)
        for keep in (False, True, False):
            assert run_fetch(provider, offline, keep=keep).stdout.strip() == "ok"


def test_a_kept_successor_past_the_90_days_keeps_the_portal_hint() -> None:
    clock = FakeClock(1_900_000_000)
    with LocalProvider(clock=clock, offline_token_rotation=True) as provider:
        provider.add_client("esa-maap", CLIENT_ID, CLIENT_SECRET)
        offline = provider.issue_offline_token(CLIENT_ID)
        kwargs: dict[str, Any] = {**offline_credentials(provider, offline), "clock": clock}
        m2mauth.fetch_token("esa-maap", **kwargs)  # keeps the successor
        clock.advance(91 * DAY)
        with pytest.raises(m2mauth.TokenEndpointError) as caught:
            m2mauth.fetch_token("esa-maap", **kwargs)
        hint = caught.value.hint or ""
        assert caught.value.error_description == "Token is not active"
        assert "kept" in hint and "portal.maap.eo.esa.int" in hint


def test_auth_renews_across_lifetimes_on_a_rotating_realm() -> None:
    clock = FakeClock(1_900_000_000)
    with LocalProvider(clock=clock, token_lifetime=300, offline_token_rotation=True) as provider:
        provider.add_client("esa-maap", CLIENT_ID, CLIENT_SECRET)
        offline = provider.issue_offline_token(CLIENT_ID)
        auth = m2mauth.Auth("esa-maap", **offline_credentials(provider, offline), clock=clock)
        with requests.Session() as http:
            for _ in range(4):
                assert http.get(provider.resource_url, auth=auth, timeout=TIMEOUT).status_code == 200
                clock.advance(300)
        assert len(token_posts(provider, "esa-maap")) == 4
        assert all(r.status == 200 for r in token_posts(provider, "esa-maap"))


# -- the CLI -------------------------------------------------------------------------------------------------


def test_cli_token_from_credentials_txt(
    run: Run, provider: LocalProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = provider.issue_offline_token(CLIENT_ID)
    moved = write_maap(tmp_path / "maap.txt", credentials_txt(offline))
    monkeypatch.setenv("MAAP_CREDENTIALS_FILE", str(moved))
    result = run("token", "esa-maap", "--token-url", provider.token_url("esa-maap"))
    assert result.code == 0, result.err
    assert resource_ok(provider, m2mauth.Token(result.out.strip()))
    assert offline not in result.both and CLIENT_SECRET not in result.both
