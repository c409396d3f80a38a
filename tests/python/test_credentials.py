"""Credentials as users give them: misspelt keywords, empty values, line breaks and stray whitespace.

Real token requests go to a LocalProvider on loopback, whose Climate Engine endpoint compares the
client secret byte for byte, so a secret sent with a line break would be refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import m2mauth
from m2mauth import ConfigError
from m2mauth.credentials import clean_secret, resolve_credentials
from m2mauth.testing import LocalProvider

SECRET = "Ce-s3cret:%+é"
CE = "climate-engine"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        running.add_client(CE, "ce-client", SECRET)
        yield running


@pytest.fixture(autouse=True)
def no_m2mauth_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("M2MAUTH_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("empty", ["", " ", "\n", "\t \r\n"])
def test_an_empty_secret_is_named_and_nothing_is_sent(provider: LocalProvider, empty: str) -> None:
    before = provider.token_requests(CE)
    with pytest.raises(ConfigError) as info:
        m2mauth.fetch_token(CE, client_id="ce-client", client_secret=empty, token_url=provider.token_url(CE))
    assert info.value.code == "empty_credential"
    assert info.value.message == "client_secret= is empty"
    assert "Sys.getenv()" in (info.value.hint or "")
    assert provider.token_requests(CE) == before


@pytest.mark.parametrize("name", ["client_id", "username", "password", "refresh_token", "private_key", "token_url"])
def test_every_empty_credential_is_named(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        m2mauth.build_request("generic", **{name: ""})
    assert info.value.code == "empty_credential"
    assert info.value.message.startswith(name)


def test_an_empty_scope_is_allowed() -> None:
    plan = m2mauth.build_request(
        CE, client_id="ce-client", client_secret=SECRET, scope="", token_url="https://auth.example.org/t"
    )
    assert plan.flow.name == "client_credentials"


def test_a_secret_from_the_environment_loses_its_line_break(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("M2MAUTH_CLIENT_SECRET", SECRET + "\n")  # as `export X=$(cat file)` would not, but files do
    monkeypatch.setenv("M2MAUTH_CLIENT_ID", "ce-client\r\n")
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        token = m2mauth.fetch_token(CE, token_url=provider.token_url(CE))
    assert token.access_token
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_environment_variable_of_whitespace_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2MAUTH_CLIENT_SECRET", "  \n")
    with pytest.raises(ConfigError) as info:
        m2mauth.build_request(CE, client_id="ce-client", token_url="https://auth.example.org/t")
    assert info.value.code == "empty_credential"
    assert "M2MAUTH_CLIENT_SECRET" in info.value.message


def test_an_empty_environment_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2MAUTH_CLIENT_SECRET", "")
    monkeypatch.setenv("M2MAUTH_PASSWORD", "\n")
    with pytest.raises(ConfigError) as info:
        m2mauth.build_request(CE, client_id="ce-client", token_url="https://auth.example.org/t")
    assert info.value.code == "missing_credential"


@pytest.mark.parametrize(
    ("given", "source"),
    [
        ({"client_secret": " " + SECRET}, "client_secret="),
        ({"client_secret": SECRET + "\n"}, "client_secret="),
        ({}, "M2MAUTH_CLIENT_SECRET"),
    ],
)
def test_surrounding_whitespace_is_warned_about_without_the_secret(
    provider: LocalProvider,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    given: dict[str, str],
    source: str,
) -> None:
    if not given:
        monkeypatch.setenv("M2MAUTH_CLIENT_SECRET", SECRET + " \n")
    with caplog.at_level(logging.DEBUG, logger="m2mauth"), pytest.raises(m2mauth.TokenEndpointError) as info:
        m2mauth.fetch_token(CE, client_id="ce-client", token_url=provider.token_url(CE), **given)
    assert info.value.status == 401  # sent as given: the provider decides
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"client_secret (from {source})")
    assert "whitespace" in warnings[0]
    assert all(SECRET not in r.getMessage() and "s3cret" not in r.getMessage() for r in caplog.records)


def test_a_pem_ending_with_a_line_break_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    from pathlib import Path

    pem = (Path(__file__).resolve().parents[2] / "spec" / "keys" / "test-rsa-2048.pkcs8.pem").read_text()
    assert pem.endswith("\n")
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        m2mauth.build_request("generic", client_id="c", private_key=pem, token_url="https://auth.example.org/t")
    assert not caplog.records


def test_clean_secret_for_other_readers(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="m2mauth"):
        assert clean_secret("abc\r\n", "client_secret", "stdin") == "abc"
        assert clean_secret("abc\n\n", "client_secret", "stdin") == "abc"
        assert not caplog.records
        assert clean_secret(" abc\n", "password", "stdin") == " abc"
    assert [r.getMessage().split(" with")[0] for r in caplog.records] == ["password (from stdin) starts"]


@pytest.mark.parametrize(
    ("keyword", "suggestion"),
    [
        ("client_secet", "client_secret"),
        ("clientid", "client_id"),
        ("refresh_tokn", "refresh_token"),
        ("auth_methods", "auth_method"),
        ("tokn_url", "token_url"),
    ],
)
def test_a_misspelt_keyword_gets_the_nearest_name(keyword: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as info:
        m2mauth.build_request(CE, client_id="ce-client", **{keyword: "x"})
    assert info.value.code == "unknown_credential"
    assert f"{keyword}= (did you mean {suggestion}?)" in info.value.message


def test_a_keyword_far_from_every_name_gets_the_list() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_credentials(m2mauth.load_profile(CE), {"zzz": "x"})
    assert info.value.message == "unknown credential keyword: zzz="
    assert "client_secret" in (info.value.hint or "")
