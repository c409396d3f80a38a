"""EUMETSAT Data Store against the local emulation: keywords, eumdac's credentials file, validity_period,
the CLI, and the server's same-token-until-expiry answer (one token request per server-side token, with
8 threads sharing one Auth, counted at the server).

Time: the provider and the client share one fake clock where a test needs token lifetimes to pass, so
nothing sleeps; the real-clock test waits on the server's counters with a bounded deadline.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import m2mauth
from m2mauth.doctor import run_doctor
from m2mauth.testing import LocalProvider

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_lifecycle import FakeClock  # type: ignore[import-not-found, unused-ignore]
    from .conftest_local import (  # type: ignore[import-not-found, unused-ignore]
        Run,
        isolated_home,
        resource_ok,
        token_posts,
    )
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_lifecycle import FakeClock
    from conftest_local import Run, isolated_home, resource_ok, token_posts

TIMEOUT = 10
KEY = "eumetsat-consumer-key-0a1b"
SECRET = "eumetsat-Secret:%+é-DO-NOT-PRINT"  # raw Basic: ':' '%' '+' and non-ASCII pass unencoded


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No eumdac file or M2MAUTH_* credentials of the machine running the tests leak in."""
    return isolated_home(monkeypatch, tmp_path, "EUMDAC_CONFIG_DIR")


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600) as running:
        running.add_client("eumetsat", KEY, SECRET)
        yield running


def write_eumdac(folder: Path, text: str, mode: int = 0o600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "credentials"
    path.write_bytes(text.encode("utf-8"))
    path.chmod(mode)
    return path


def test_keywords_basic_raw_and_the_form(provider: LocalProvider) -> None:
    token = m2mauth.fetch_token(
        "eumetsat", client_id=KEY, client_secret=SECRET, token_url=provider.token_url("eumetsat")
    )
    assert resource_ok(provider, token)
    assert 590 <= (token.expires_in or 0) <= 600
    sent = token_posts(provider, "eumetsat")[-1]
    assert sent.form == (("grant_type", "client_credentials"),)
    assert sent.header("Authorization") == "Basic [REDACTED]"
    # The server decoded the header raw (as eumdac's requests.HTTPBasicAuth sends it): no form-encoding.
    plan = m2mauth.build_request("eumetsat", client_id=KEY, client_secret=SECRET)
    header = plan.request.header("Authorization") or ""
    assert base64.b64decode(header.split(" ", 1)[1]).decode("utf-8") == f"{KEY}:{SECRET}"
    assert plan.request.url == "https://api.eumetsat.int/token"


def test_validity_period_is_sent_and_honoured(provider: LocalProvider) -> None:
    url = provider.token_url("eumetsat")
    token = m2mauth.fetch_token("eumetsat", client_id=KEY, client_secret=SECRET, token_url=url, validity_period=86400)
    assert 86390 <= (token.expires_in or 0) <= 86400
    assert token_posts(provider, "eumetsat")[-1].form == (
        ("grant_type", "client_credentials"),
        ("validity_period", "86400"),
    )
    # R sends numbers as doubles: a whole 3600.0 is 3600.
    plan = m2mauth.build_request("eumetsat", client_id=KEY, client_secret=SECRET, validity_period=3600.0)
    assert plan.request.field("validity_period") == "3600"


@pytest.mark.parametrize("bad", [0, -5, 1.5, "86400", True])
def test_a_bad_validity_period_is_refused_before_sending(provider: LocalProvider, bad: Any) -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token(
            "eumetsat",
            client_id=KEY,
            client_secret=SECRET,
            token_url=provider.token_url("eumetsat"),
            validity_period=bad,
        )
    assert caught.value.code == "invalid_option" and "validity_period" in str(caught.value)
    assert token_posts(provider, "eumetsat") == []


def test_validity_period_is_refused_where_the_profile_does_not_take_it() -> None:
    for build in (
        lambda: m2mauth.build_request(
            "generic", client_id="a", client_secret="b", token_url="https://x.test/t", validity_period=60
        ),
        lambda: m2mauth.Auth(
            "generic", client_id="a", client_secret="b", token_url="https://x.test/t", validity_period=60
        ),
    ):
        with pytest.raises(m2mauth.ConfigError) as caught:
            build()
        assert caught.value.code == "invalid_option" and "validity_period" in (caught.value.hint or "")


def test_wrong_secret_is_explained_without_the_secret(provider: LocalProvider) -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token(
            "eumetsat", client_id=KEY, client_secret="wrong-" + SECRET, token_url=provider.token_url("eumetsat")
        )
    error = caught.value
    assert error.status == 401 and error.error == "invalid_client"
    assert error.error_description == "Client Authentication failed."
    assert "api.eumetsat.int/api-key" in (error.hint or "")
    assert SECRET not in f"{error} {error.hint} {error!r}"


def test_eumdac_file_in_home(provider: LocalProvider, isolated: Path) -> None:
    path = write_eumdac(isolated / ".eumdac", f"{KEY},{SECRET}\n")
    before = (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_mode)
    token = m2mauth.fetch_token("eumetsat", token_url=provider.token_url("eumetsat"))
    assert resource_ok(provider, token)
    assert (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_mode) == before  # read only
    creds = m2mauth.build_request("eumetsat").credentials
    assert creds.from_file == str(path) and creds.client_id == KEY


def test_eumdac_config_dir_wins_over_home(
    provider: LocalProvider, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_eumdac(isolated / ".eumdac", "other-key,other-secret\n")
    moved = write_eumdac(tmp_path / "eumdac-config", f"{KEY},{SECRET}")
    monkeypatch.setenv("EUMDAC_CONFIG_DIR", str(moved.parent))
    token = m2mauth.fetch_token("eumetsat", token_url=provider.token_url("eumetsat"))
    assert resource_ok(provider, token)


def test_keywords_and_m2mauth_variables_win_and_the_file_is_not_even_read(
    provider: LocalProvider, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file that would be refused (readable by others) is not touched when nothing is missing.
    write_eumdac(isolated / ".eumdac", "other-key,other-secret\n", mode=0o644)
    url = provider.token_url("eumetsat")
    assert resource_ok(provider, m2mauth.fetch_token("eumetsat", client_id=KEY, client_secret=SECRET, token_url=url))
    monkeypatch.setenv("M2MAUTH_CLIENT_ID", KEY)
    monkeypatch.setenv("M2MAUTH_CLIENT_SECRET", SECRET)
    assert resource_ok(provider, m2mauth.fetch_token("eumetsat", token_url=url))


def test_a_file_readable_by_others_is_refused_with_chmod_600(
    provider: LocalProvider, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_eumdac(isolated / ".eumdac", f"{KEY},{SECRET}\n", mode=0o640)
    caplog.set_level(logging.DEBUG, logger="m2mauth")
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("eumetsat", token_url=provider.token_url("eumetsat"))
    error = caught.value
    assert error.code == "credential_file_permissions"
    assert str(path) in error.message and f"chmod 600 {path}" in (error.hint or "")
    assert SECRET not in f"{error} {error.hint} {caplog.text}"
    assert token_posts(provider, "eumetsat") == []


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("", None, "is empty"),
        ("\n\n", None, "is empty"),
        (f"{KEY}{SECRET}\n", 1, "one comma"),
        (f"{KEY},{SECRET},extra\n", 1, "one comma"),
        (f",{SECRET}\n", 1, "is empty"),
        (f"{KEY},\n", 1, "is empty"),
        (f"\n{KEY},{SECRET}\n{KEY},{SECRET}\n", 3, "second line"),
    ],
)
def test_malformed_eumdac_files_name_the_file_and_line_never_the_secret(
    isolated: Path, text: str, line: int | None, what: str
) -> None:
    path = write_eumdac(isolated / ".eumdac", text)
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("eumetsat")
    error = caught.value
    assert error.code == "invalid_credential_file"
    assert str(path) in error.message and what in error.message
    assert (f"line {line}" in error.message) if line else ("line" not in error.message)
    assert "key,secret" in (error.hint or "")
    assert SECRET not in f"{error} {error.hint!r}" and KEY not in str(error)


def test_eumdac_file_with_bom_and_crlf(isolated: Path) -> None:
    path = isolated / ".eumdac" / "credentials"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbf" + f"{KEY},{SECRET}\r\n".encode())
    path.chmod(0o600)
    creds = m2mauth.build_request("eumetsat").credentials
    assert (creds.client_id, creds.client_secret) == (KEY, SECRET)


def test_no_file_and_no_keywords_names_the_file_in_the_hint(isolated: Path) -> None:
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("eumetsat")
    assert caught.value.code == "missing_credential"
    assert "~/.eumdac/credentials" in (caught.value.hint or "") and "EUMDAC_CONFIG_DIR" in (caught.value.hint or "")


def test_a_file_about_another_key_is_not_mixed_with_a_given_client_id(isolated: Path) -> None:
    write_eumdac(isolated / ".eumdac", "other-key,other-secret\n")
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.build_request("eumetsat", client_id=KEY)
    assert caught.value.code == "missing_credential"
    creds = m2mauth.build_request("eumetsat", client_id="other-key").credentials
    assert creds.client_secret == "other-secret"


# -- the same token until it expires ------------------------------------------------------------------------


def test_the_server_hands_back_the_same_token_until_it_expires() -> None:
    clock = FakeClock(1_900_000_000)
    with LocalProvider(token_lifetime=100, clock=clock) as provider:
        provider.add_client("eumetsat", KEY, SECRET)
        url = provider.token_url("eumetsat")
        first = m2mauth.fetch_token("eumetsat", client_id=KEY, client_secret=SECRET, token_url=url, clock=clock)
        clock.advance(60)
        again = m2mauth.fetch_token("eumetsat", client_id=KEY, client_secret=SECRET, token_url=url, clock=clock)
        assert again.access_token == first.access_token and again.expires_at == first.expires_at
        assert again.seconds_left(clock()) == 40
        clock.advance(40)
        new = m2mauth.fetch_token("eumetsat", client_id=KEY, client_secret=SECRET, token_url=url, clock=clock)
        assert new.access_token != first.access_token
        assert (provider.token_requests("eumetsat"), provider.tokens_issued("eumetsat")) == (3, 2)


def test_an_early_renewal_keeps_the_token_held_and_does_not_ask_again(caplog: pytest.LogCaptureFixture) -> None:
    """A profile that does not know the quirk (the same endpoint, no same_token_until_expiry) renews early
    once, gets its own token back, keeps it with the expiry the server states, and asks again only after
    that expiry: no loop, no error."""
    caplog.set_level(logging.INFO, logger="m2mauth")
    clock = FakeClock(1_900_000_000)
    profile = m2mauth.load_profile("eumetsat").__class__(
        **{**vars(m2mauth.load_profile("eumetsat")), "name": "eumetsat-unaware", "same_token_until_expiry": False}
    )
    with LocalProvider(token_lifetime=100, clock=clock) as provider:
        provider.add_client("eumetsat", KEY, SECRET)
        source = m2mauth.TokenSource(
            profile, client_id=KEY, client_secret=SECRET, token_url=provider.token_url("eumetsat"), clock=clock
        )
        first = source.token()
        clock.advance(80)  # past the 30 s renewal margin: stale
        for _ in range(5):
            assert source.token().access_token == first.access_token
        assert provider.token_requests("eumetsat") == 2 and provider.tokens_issued("eumetsat") == 1
        for _ in range(19):
            clock.advance(1)
            assert source.token().access_token == first.access_token
        assert provider.token_requests("eumetsat") == 2  # held to its expiry, nothing asked meanwhile
        clock.advance(1)  # the server's expiry: now it can issue a new one
        assert source.token().access_token != first.access_token
        assert (provider.token_requests("eumetsat"), provider.tokens_issued("eumetsat")) == (3, 2)
    assert "handed back the token already held" in caplog.text
    assert first.access_token not in caplog.text


def test_a_forced_renewal_after_a_401_with_the_same_token_back_does_not_loop() -> None:
    clock = FakeClock(1_900_000_000)
    with LocalProvider(token_lifetime=100, clock=clock) as provider:
        provider.add_client("eumetsat", KEY, SECRET)
        source = m2mauth.TokenSource(
            "eumetsat", client_id=KEY, client_secret=SECRET, token_url=provider.token_url("eumetsat"), clock=clock
        )
        first = source.token()
        again = source.token(force=True, rejected=first.access_token)
        assert again.access_token == first.access_token
        for _ in range(10):
            source.token()
        assert provider.token_requests("eumetsat") == 2


@contextlib.contextmanager
def threads_running(work: Callable[[], None], count: int, *, join_timeout: float) -> Iterator[None]:
    """``count`` threads run ``work`` during the block; after it, each must end within ``join_timeout``."""
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    yield
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads)


def one_request_per_server_token(provider: LocalProvider) -> int:
    """The tokens the server issued, each asked for by exactly one token request."""
    issued = provider.tokens_issued("eumetsat")
    assert provider.token_requests("eumetsat") == issued
    return issued


def test_eight_threads_one_auth_one_request_per_server_token_fake_clock() -> None:
    """The clock moves only while every worker waits at the barrier: deterministic periods."""
    clock = FakeClock(1_900_000_000)
    workers, rounds = 8, 14
    barrier = threading.Barrier(workers + 1, timeout=60)
    failures: list[str] = []
    with LocalProvider(token_lifetime=100, clock=clock) as provider:
        provider.add_client("eumetsat", KEY, SECRET)
        auth = m2mauth.Auth(
            "eumetsat", client_id=KEY, client_secret=SECRET, token_url=provider.token_url("eumetsat"), clock=clock
        )

        def work() -> None:
            with requests.Session() as http:
                for _ in range(rounds):
                    for _ in range(3):
                        answer = http.get(provider.resource_url, auth=auth, timeout=TIMEOUT)
                        if answer.status_code != 200:
                            failures.append(answer.text)
                    barrier.wait()
                    barrier.wait()

        with threads_running(work, workers, join_timeout=60):
            for _ in range(rounds):
                barrier.wait()  # every worker is done with this round
                clock.advance(25)
                barrier.wait()
        assert failures == []
        assert one_request_per_server_token(provider) >= 3  # 14 rounds x 25 s over 100 s tokens


def test_eight_threads_one_auth_one_request_per_server_token_real_clock() -> None:
    workers = 8
    stop = threading.Event()
    statuses: list[int] = []
    with LocalProvider(token_lifetime=2) as provider:
        provider.add_client("eumetsat", KEY, SECRET)
        auth = m2mauth.Auth("eumetsat", client_id=KEY, client_secret=SECRET, token_url=provider.token_url("eumetsat"))

        def work() -> None:
            with requests.Session() as http:
                while not stop.is_set():
                    statuses.append(http.get(provider.resource_url, auth=auth, timeout=TIMEOUT).status_code)

        with threads_running(work, workers, join_timeout=30):
            deadline = time.monotonic() + 30
            while provider.tokens_issued("eumetsat") < 4 and time.monotonic() < deadline:
                stop.wait(0.05)
            stop.set()
        assert one_request_per_server_token(provider) >= 4
        assert statuses and set(statuses) <= {200, 401}
        assert statuses.count(200) > len(statuses) // 2


# -- the CLI -------------------------------------------------------------------------------------------------


def test_cli_token_with_keywords_and_validity_period(run: Run, provider: LocalProvider) -> None:
    result = run(
        "token", "eumetsat", "--client-id", KEY, "--client-secret", "-", "--validity-period", "3600",
        "--token-url", provider.token_url("eumetsat"), "--no-store",
        stdin=SECRET + "\n",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert resource_ok(provider, m2mauth.Token(result.out.strip()))
    assert token_posts(provider, "eumetsat")[-1].field("validity_period") == "3600"
    assert SECRET not in result.both


def test_cli_token_from_the_eumdac_file_and_its_refusal(run: Run, provider: LocalProvider, isolated: Path) -> None:
    path = write_eumdac(isolated / ".eumdac", f"{KEY},{SECRET}\n")
    result = run("token", "eumetsat", "--token-url", provider.token_url("eumetsat"))
    assert result.code == 0, result.err
    assert resource_ok(provider, m2mauth.Token(result.out.strip()))
    path.chmod(0o644)
    result = run("token", "eumetsat", "--token-url", provider.token_url("eumetsat"), "--no-store")
    assert result.code != 0 and "chmod 600" in result.err and SECRET not in result.both


def test_doctor_names_the_eumdac_file(provider: LocalProvider, isolated: Path) -> None:
    path = write_eumdac(isolated / ".eumdac", f"{KEY},{SECRET}\n")
    report = run_doctor("eumetsat", token_url=provider.token_url("eumetsat"))
    lines = {check.name: check for check in report.checks}
    assert lines["credential_file"].status == "ok" and str(path) in lines["credential_file"].message
    assert lines["exchange"].status == "ok", report.render()
    assert report.ok
    path.chmod(0o604)
    report = run_doctor("eumetsat", token_url=provider.token_url("eumetsat"))
    line = next(check for check in report.checks if check.name == "credential_file")
    assert line.status == "fail" and "chmod 600" in (line.fix or "")
    assert SECRET not in report.render()
