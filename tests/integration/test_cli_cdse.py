"""``m2mauth token`` and ``m2mauth doctor`` for the ``cdse`` and ``sentinel-hub`` profiles (issue 11).

In-process through ``m2mauth.cli.main(argv)`` against the local provider on 127.0.0.1, stdin and
stdout captured; every request has a timeout (the CLI's ``--timeout``, ``timeout=`` here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from m2mauth import cli
from m2mauth.testing import LocalProvider, new_totp_secret, totp_code

try:  # tests/integration as a package (an __init__.py exists)
    from .conftest_local import Run, clean_environment, resource_ok  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # rootdir-style import: this folder is on sys.path
    from conftest_local import Run, clean_environment, resource_ok

TIMEOUT = "10"
USER = "eo-user@example.org"
PASSWORD = "cdse-Cli-Password-51ab"
SH_ID, SH_SECRET = "sh-cli-client", "sh-Cli-Secret-0f9e"
PREFIXES = ("M2MAUTH_", "SH_CLIENT_", "EODAG__", "OPENEO_AUTH_")


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_environment(monkeypatch, tmp_path, PREFIXES, m2mauth_home="home")


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600, cdse_session_cap=2) as running:
        yield running


def test_totp_from_stdin_password_from_eodag_variable(
    run: Run, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    monkeypatch.setenv("EODAG__COP_DATASPACE__AUTH__CREDENTIALS__PASSWORD", PASSWORD)
    url = provider.token_url("cdse")
    code = totp_code(seed, provider.now())
    argv = ("token", "cdse", "--username", USER, "--token-url", url, "--timeout", TIMEOUT, "--no-store")
    result = run(*argv, "--totp", "-", stdin=code + "\n")
    assert result.code == cli.EXIT_OK, result.err
    assert resource_ok(provider, result.out.strip())
    assert code not in result.err and PASSWORD not in result.out + result.err
    sent = [r for r in provider.requests_log if r.token_endpoint][-1]
    assert sent.field("totp") == "[REDACTED]" and sent.field("client_id") == "cdse-public"

    # The same code again: refused, and the hint names both causes and the option.
    again = run(*argv, "--totp", "-", stdin=code + "\n")
    assert again.code == cli.EXIT_FAILED
    assert "Invalid user credentials" in again.err and "--totp -" in again.err and "password" in again.err
    assert code not in again.err

    # A code given as a value works too, without the "visible in ps" warning of real secrets.
    fresh = totp_code(seed, provider.now() + 30)
    by_value = run(*argv, "--totp", fresh)
    assert by_value.code == cli.EXIT_OK, by_value.err
    assert "visible to other users" not in by_value.err and fresh not in by_value.err


def test_password_from_stdin_and_the_store_shares_one_session(
    run: Run, provider: LocalProvider, tmp_path: Path
) -> None:
    provider.add_user("cdse", USER, PASSWORD)
    store = str(tmp_path / "cdse-store")
    argv = ("token", "cdse", "--username", USER, "--password", "-", "--token-url", provider.token_url("cdse"))
    tokens = set()
    for _ in range(4):  # four "runs" of a script: one session, one token, from the store
        result = run(*argv, "--store", store, "--timeout", TIMEOUT, stdin=PASSWORD + "\n")
        assert result.code == cli.EXIT_OK, result.err
        tokens.add(result.out.strip())
    assert len(tokens) == 1 and provider.cdse_sessions(USER)["opened"] == 1

    # Without a store every run opens a session: past the cap (2 here, 100 at CDSE) the hint says why.
    for _ in range(2):
        run(*argv, "--no-store", "--timeout", TIMEOUT, stdin=PASSWORD + "\n")
    refused = run(*argv, "--no-store", "--timeout", TIMEOUT, stdin=PASSWORD + "\n")
    assert refused.code == cli.EXIT_FAILED
    assert "100 active sessions" in refused.err and "--store" in refused.err and "FileStore" in refused.err
    assert PASSWORD not in refused.err


def test_sentinel_hub_from_sentinelhub_py_variables(
    run: Run, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.add_client("sentinel-hub", SH_ID, SH_SECRET)
    monkeypatch.setenv("SH_CLIENT_ID", SH_ID)
    monkeypatch.setenv("SH_CLIENT_SECRET", SH_SECRET)
    url = provider.token_url("sentinel-hub")
    body = run("token", "sentinel-hub", "--token-url", url, "--no-store", "--timeout", TIMEOUT, "--json")
    assert body.code == cli.EXIT_OK, body.err
    record = json.loads(body.out)
    assert record["profile"] == "sentinel-hub" and record["access_token"] == "<redacted>"
    basic = run(
        "token", "sentinel-hub", "--token-url", url, "--no-store", "--auth-method", "client_secret_basic",
        "--timeout", TIMEOUT,
    )  # fmt: skip
    assert basic.code == cli.EXIT_OK and resource_ok(provider, basic.out.strip())
    assert [r.header("Authorization") for r in provider.requests_log if r.token_endpoint] == [None, "Basic [REDACTED]"]
    assert SH_SECRET not in body.out + body.err + basic.err


def test_doctor_passes_for_cdse_and_sentinel_hub(
    run: Run, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = new_totp_secret()
    provider.add_user("cdse", USER, PASSWORD, totp_secret=seed)
    provider.add_client("sentinel-hub", SH_ID, SH_SECRET)
    cdse = ("doctor", "cdse", "--username", USER, "--password", "-", "--token-url", provider.token_url("cdse"))
    healthy = run(*cdse, "--totp", totp_code(seed, provider.now()), "--timeout", TIMEOUT, "--json", stdin=PASSWORD)
    assert healthy.code == cli.EXIT_OK, healthy.out + healthy.err
    report = json.loads(healthy.out)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["credentials"] == "ok" and statuses["exchange"] == "ok", report
    assert report["flow"] == "password"

    missing = run(*cdse, "--timeout", TIMEOUT, stdin=PASSWORD)  # a two-factor account without --totp
    assert missing.code == cli.EXIT_FAILED
    assert "Invalid user credentials" in missing.out and "totp" in missing.out

    monkeypatch.setenv("SH_CLIENT_ID", SH_ID)
    monkeypatch.setenv("SH_CLIENT_SECRET", SH_SECRET)
    hub = run("doctor", "sentinel-hub", "--token-url", provider.token_url("sentinel-hub"), "--timeout", TIMEOUT)
    assert hub.code == cli.EXIT_OK, hub.out + hub.err
    assert "SH_CLIENT_ID" in hub.out and SH_SECRET not in hub.out + hub.err
