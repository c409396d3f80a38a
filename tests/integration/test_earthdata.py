"""earthdata against the local EDL emulation over loopback: Basic find_or_create_token, reuse, the
two-token cap, credentials from keywords / EARTHDATA_* / .netrc, EARTHDATA_TOKEN as is, and 8
processes sharing a FileStore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import m2mauth
from m2mauth.testing import LocalProvider

TIMEOUT = 10
USER, PASSWORD = "edl-user", "pw:%+é-DO-NOT-PRINT"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_machine_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's own EARTHDATA_* and ~/.netrc never leak in."""
    for name in ("EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EARTHDATA_TOKEN", "M2MAUTH_USERNAME", "M2MAUTH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider() as running:
        running.add_earthdata_user(USER, PASSWORD)
        yield running


def url(provider: LocalProvider) -> str:
    return provider.token_url("earthdata")


def use_netrc(monkeypatch: pytest.MonkeyPatch, path: Path, text: str, mode: int = 0o600) -> Path:
    """Write a .netrc with this text and mode, and point NETRC at it."""
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    monkeypatch.setenv("NETRC", str(path))
    return path


def cmr_ok(provider: LocalProvider, token: m2mauth.Token) -> bool:
    answer = requests.get(provider.resource_url, headers={"Authorization": token.authorization}, timeout=TIMEOUT)
    return answer.status_code == 200


def test_keywords_get_a_bearer_token_that_expires_before_its_day(provider: LocalProvider) -> None:
    token = m2mauth.fetch_token("earthdata", username=USER, password=PASSWORD, token_url=url(provider))
    assert token.token_type == "Bearer" and cmr_ok(provider, token)
    assert token.expires_at is not None and token.expires_at.hour == 0 and token.expires_at.minute == 0
    assert 59 * 86400 - 1 < token.expires_at.timestamp() - time.time() <= 60 * 86400


def test_find_or_create_reuses_the_valid_token_never_mints_a_second(provider: LocalProvider) -> None:
    first = m2mauth.fetch_token("earthdata", username=USER, password=PASSWORD, token_url=url(provider))
    second = m2mauth.fetch_token("earthdata", username=USER, password=PASSWORD, token_url=url(provider))
    assert first.access_token == second.access_token
    assert provider.earthdata_counts(USER)["valid_tokens"] == 1


def test_environment_variables_then_netrc(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EARTHDATA_USERNAME", USER)
    monkeypatch.setenv("EARTHDATA_PASSWORD", PASSWORD)
    assert cmr_ok(provider, m2mauth.fetch_token("earthdata", token_url=url(provider)))
    monkeypatch.delenv("EARTHDATA_USERNAME")
    monkeypatch.delenv("EARTHDATA_PASSWORD")
    use_netrc(
        monkeypatch,
        tmp_path / "my-netrc",
        "machine other.example login x password y\n"
        f'machine urs.earthdata.nasa.gov login {USER} password "{PASSWORD}"\n',
    )
    assert cmr_ok(provider, m2mauth.fetch_token("earthdata", token_url=url(provider)))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_netrc_others_may_read_is_refused_naming_the_file_not_the_secret(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    entry = f"machine urs.earthdata.nasa.gov login {USER} password {PASSWORD}\n"
    netrc = use_netrc(monkeypatch, tmp_path / ".netrc", entry, mode=0o644)
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("earthdata", token_url=url(provider))
    text = str(caught.value) + (caught.value.hint or "")
    assert caught.value.code == "credential_file_permissions" and "chmod 600" in text and str(netrc) in text
    assert PASSWORD not in text and provider.token_requests("earthdata") == 0
    assert netrc.read_text(encoding="utf-8").endswith(f"{PASSWORD}\n")  # read only: untouched


def test_a_netrc_entry_without_password_names_the_line(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_netrc(monkeypatch, tmp_path / ".netrc", f"# mine\n\nmachine urs.earthdata.nasa.gov login {USER}\n")
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("earthdata", token_url=url(provider))
    assert caught.value.code == "invalid_credential_file" and "line 3" in str(caught.value)


def test_earthdata_token_is_used_as_is_with_its_jwt_expiry(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = provider.mint_earthdata_token(USER)
    monkeypatch.setenv("EARTHDATA_TOKEN", ready)
    before = provider.token_requests("earthdata")
    token = m2mauth.fetch_token("earthdata", token_url=url(provider))
    assert token.access_token == ready and token.expires_at is not None and cmr_ok(provider, token)
    assert provider.token_requests("earthdata") == before


def test_wrong_password_is_explained(provider: LocalProvider) -> None:
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        m2mauth.fetch_token("earthdata", username=USER, password="wrong-DO-NOT-PRINT", token_url=url(provider))
    assert caught.value.status == 401 and caught.value.provider_code == "earthdata_credentials_rejected"
    # EDL's own answer (earthaccess-dev/earthaccess#453), which the emulation copies.
    assert (caught.value.error, caught.value.error_description) == ("invalid_credentials", "Invalid user credentials")
    assert "DO-NOT-PRINT" not in str(caught.value)


def test_the_two_token_cap_gets_the_revoke_hint(provider: LocalProvider) -> None:
    provider.mint_earthdata_token(USER)
    provider.mint_earthdata_token(USER)
    with pytest.raises(m2mauth.TokenEndpointError) as caught:
        # POST /api/users/token always mints: what a tool that mints on every run does.
        m2mauth.fetch_token("earthdata", username=USER, password=PASSWORD, token_url=provider.earthdata_url("token"))
    assert caught.value.provider_code == "earthdata_token_limit" and "two" in (caught.value.hint or "")
    assert caught.value.error == "max_token_limit"  # EDL's code (podaac/data-subscriber checks for it)
    # find_or_create_token still works: it hands back one of the two.
    token = m2mauth.fetch_token("earthdata", username=USER, password=PASSWORD, token_url=url(provider))
    assert cmr_ok(provider, token) and provider.earthdata_counts(USER)["valid_tokens"] == 2


WORKER = """
import json, sys
import m2mauth
store = m2mauth.FileStore(sys.argv[1])
user, password, url = sys.argv[2:5]
source = m2mauth.TokenSource("earthdata", store=store, username=user, password=password, token_url=url)
seen = {source.token().access_token for _ in range(20)}
print(json.dumps(sorted(seen)))
"""


def test_eight_processes_sharing_a_filestore_make_one_call_and_one_token(
    provider: LocalProvider, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "python"), os.environ.get("PYTHONPATH")])),
    }
    argv = [sys.executable, "-c", WORKER, str(tmp_path / "store"), USER, PASSWORD, url(provider)]
    workers = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True) for _ in range(8)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    tokens = {token for out in outputs for token in json.loads(out)}
    assert len(tokens) == 1
    counts = provider.earthdata_counts(USER)
    assert counts["find_or_create_calls"] == 1 and counts["valid_tokens"] == 1


def test_renewal_on_the_expiry_day_reuses_the_token_then_gets_a_new_one_after_it_ends() -> None:
    """The token's day has begun (our renewal point) but EDL still calls it valid: the same token
    comes back and is kept until the day ends; once EDL lets it expire, renewal gets a new one."""
    offset = [0.0]

    def clock() -> float:
        return time.time() + offset[0]

    with LocalProvider(clock=clock) as provider:
        provider.add_earthdata_user(USER, PASSWORD)
        source = m2mauth.TokenSource(
            "earthdata", username=USER, password=PASSWORD, token_url=url(provider), clock=clock
        )
        issued = clock()
        first = source.token()
        assert first.expires_at is not None
        real_end = issued + 60 * 86400
        day_start = first.expires_at.timestamp()
        offset[0] += (day_start + real_end) / 2 - issued  # within the day, before EDL's own expiry
        again = source.token()
        assert again.access_token == first.access_token and again.expires_at is not None
        assert again.expires_at.timestamp() == day_start + 86400
        assert provider.earthdata_counts(USER)["created"] == 1
        offset[0] += real_end - clock() + 1  # EDL's expiry has passed
        renewed = source.token(force=True, rejected=again.access_token)  # as Auth does after CMR's 401
        assert renewed.access_token != first.access_token and cmr_ok(provider, renewed)
        counts = provider.earthdata_counts(USER)
        assert counts["created"] == 2 and counts["valid_tokens"] == 1
