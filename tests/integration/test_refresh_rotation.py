"""A rotated refresh token is never lost across runs (issue 8, part 1).

A strictly rotating LocalProvider (a spent refresh token is refused at once) runs in this
process; the user's script runs as a SEPARATE PROCESS, three times, each time with the same
ORIGINAL refresh token, as it would come from the user's configuration. Every entry point that
takes a refresh token is driven this way. Before part 1 the second run failed with
``invalid_grant``: the rotated token lived only in the first process's memory.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from m2mauth.testing import LocalProvider

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")

CLIENT_ID = "rotation-client"
CLIENT_SECRET = "rotation-canary-client-secret"
RUNS = 3
RUN_TIMEOUT = 120  # seconds for one script run (bounded, never waited on in the normal case)

# One script, many entry points: each prints one JSON line saying whether the data API took its token.
SCRIPT = r"""
import json, os, sys
import requests
import m2mauth

mode, resource = sys.argv[1], sys.argv[2]
options = json.loads(os.environ["ROTATION_OPTIONS"])
profile = options.pop("profile")
status = None
if mode == "fetch_token":
    token = m2mauth.fetch_token(profile, **options)
    status = requests.get(resource, headers={"Authorization": token.authorization}, timeout=30).status_code
elif mode == "token_source":
    token = m2mauth.TokenSource(profile, **options).token()
    status = requests.get(resource, headers={"Authorization": token.authorization}, timeout=30).status_code
elif mode == "auth":
    status = requests.get(resource, auth=m2mauth.Auth(profile, **options), timeout=30).status_code
elif mode == "session":
    status = m2mauth.session(profile, **options).get(resource, timeout=30).status_code
elif mode == "httpx":
    import httpx
    status = httpx.get(resource, auth=m2mauth.HttpxAuth(profile, **options), timeout=30).status_code
print(json.dumps({"status": status}))
"""


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600) as server:  # refresh_reuse_interval 0: strict rotation
        server.add_client("generic", CLIENT_ID, CLIENT_SECRET)
        yield server


def run_script(tmp_path: Path, home: Path, mode: str, resource: str, options: dict[str, Any]) -> tuple[int, str, str]:
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "M2MAUTH_HOME": str(home), "ROTATION_OPTIONS": json.dumps(options)}
    for variable in ("M2MAUTH_REFRESH_TOKEN", "M2MAUTH_CLIENT_SECRET"):
        env.pop(variable, None)
    done = subprocess.run(
        [sys.executable, str(script), mode, resource],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def options_for(provider: LocalProvider, profile: str) -> dict[str, Any]:
    """The user's configuration: the ORIGINAL refresh token, the same in every run."""
    if profile == "openaire":  # the GET refresh endpoint, no client
        return {
            "profile": "openaire",
            "refresh_token": provider.issue_refresh_token("openaire"),
            "token_url": provider.token_url("openaire", "refresh"),
        }
    return {  # the RFC 6749 refresh_token grant, confidential client
        "profile": "generic",
        "refresh_token": provider.issue_refresh_token("generic", CLIENT_ID),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_url": provider.token_url("generic"),
    }


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_data_folder(home: Path, forbidden: list[str]) -> list[Path]:
    """The kept files: 0600 in 0700 folders, holding no client secret (or any other forbidden text)."""
    data = home / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    assert files, "nothing was kept in the data folder"
    for folder in [data, *(p for p in data.rglob("*") if p.is_dir())]:
        assert mode_of(folder) == 0o700, folder
    for file in files:
        assert mode_of(file) == 0o600, file
        content = file.read_bytes()
        for secret in forbidden:
            assert secret.encode() not in content, (file, "holds a secret")
    for file in (home / "cache").rglob("*") if (home / "cache").exists() else []:
        if file.is_file():
            assert CLIENT_SECRET.encode() not in file.read_bytes()
    return files


@pytest.mark.parametrize(
    ("mode", "profile"),
    [
        ("fetch_token", "openaire"),
        ("fetch_token", "generic"),
        ("token_source", "openaire"),
        ("token_source", "generic"),
        ("auth", "openaire"),
        ("session", "generic"),
        ("httpx", "generic"),
    ],
)
def test_three_runs_with_the_original_refresh_token(
    provider: LocalProvider, tmp_path: Path, mode: str, profile: str
) -> None:
    home = tmp_path / "home"
    options = options_for(provider, profile)
    original = options["refresh_token"]
    for run in range(RUNS):
        code, out, err = run_script(tmp_path, home, mode, provider.resource_url, options)
        assert code == 0, f"run {run + 1} failed:\n{err[-2000:]}"
        assert json.loads(out.strip().splitlines()[-1]) == {"status": 200}, f"run {run + 1}"
        assert original not in out + err
    # The server rotated on every run and never saw a spent token.
    assert provider.refresh_token_reuses()["refused"] == 0
    assert not provider.refresh_token_accepted(profile, original)
    files = check_data_folder(home, [CLIENT_SECRET])
    records = [json.loads(p.read_text()) for p in files if p.suffix == ".json" and not p.name.startswith(".")]
    kept = [r for r in records if r.get("refresh_token")]
    assert len(kept) == 1, "one chain, one record"
    assert kept[0]["access_token"] == ""  # tokens only: the refresh token, no access token, no secret
    assert provider.refresh_token_accepted(profile, kept[0]["refresh_token"])  # the newest, still live
    assert original not in json.dumps(kept[0])


def test_the_cli_keeps_the_newest_refresh_token(provider: LocalProvider, tmp_path: Path) -> None:
    home = tmp_path / "home"
    original = provider.issue_refresh_token("openaire")
    env = {**os.environ, "M2MAUTH_HOME": str(home)}
    for run in range(RUNS):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "m2mauth",
                "token",
                "openaire",
                "--refresh-token",
                "-",
                "--token-url",
                provider.token_url("openaire", "refresh"),
            ],
            input=original + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"run {run + 1}: {done.stderr[-2000:]}"
        # Clean the cache between runs: a cache clean must not log anyone out.
        for file in (home / "cache").rglob("*.json") if (home / "cache").exists() else []:
            file.unlink()
    assert provider.refresh_token_reuses()["refused"] == 0
    check_data_folder(home, [original])


def test_keep_refresh_token_false_turns_it_off(provider: LocalProvider, tmp_path: Path) -> None:
    home = tmp_path / "home"
    options = {**options_for(provider, "openaire"), "keep_refresh_token": False}
    code, _, err = run_script(tmp_path, home, "fetch_token", provider.resource_url, options)
    assert code == 0, err[-2000:]
    code, _, err = run_script(tmp_path, home, "fetch_token", provider.resource_url, options)
    assert code != 0 and "invalid_grant" in err  # the user manages rotation: the spent token is refused
    assert not [p for p in (home / "data").rglob("*.json")] if (home / "data").exists() else True


def test_a_refused_kept_token_is_named_and_forgotten(provider: LocalProvider, tmp_path: Path) -> None:
    home = tmp_path / "home"
    options = options_for(provider, "openaire")
    assert run_script(tmp_path, home, "fetch_token", provider.resource_url, options)[0] == 0
    (record,) = [p for p in (home / "data" / "tokens").glob("*.json")]
    assert json.loads(record.read_text())["refresh_token"]
    # The server forgets the kept token (revoked): the next run says which token was refused.
    with LocalProvider(token_lifetime=600) as other:  # a fresh server knows no token of this chain
        moved = {**options, "token_url": other.token_url("openaire", "refresh")}
        code, _, err = run_script(tmp_path, home, "fetch_token", other.resource_url, moved)
    assert code != 0
    assert "invalid_grant" in err and "kept" in err
    assert not record.exists()


def test_a_device_login_lives_in_the_data_folder_and_later_runs_rotate_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import threading

    import requests

    import m2mauth

    home = tmp_path / "home"
    monkeypatch.setenv("M2MAUTH_HOME", str(home))
    with LocalProvider(token_lifetime=600, device_interval=1) as server:
        approved = threading.Event()

        def approve(authorization: Any) -> None:  # the user, approving in a browser
            def click() -> None:
                requests.post(
                    f"{server.base_url}/device/approve", data={"user_code": authorization.user_code}, timeout=30
                )
                approved.set()

            threading.Thread(target=click, daemon=True).start()

        def wait(seconds: float) -> None:
            assert approved.wait(timeout=30), "nobody approved"

        options = {"issuer": server.issuer_url(), "client_id": "cdse-public"}
        token = m2mauth.login("cdse-openeo", prompt=approve, sleep=wait, progress=io.StringIO(), **options)
        assert token.refresh_token
        # login() with no store= keeps its record in the data folder, never in the cache.
        assert not (home / "cache" / "tokens").exists() or not list((home / "cache" / "tokens").glob("*.json"))
        check_data_folder(home, [])
        for run in range(RUNS):  # later scripts name no store: they renew the login's record
            code, out, err = run_script(
                tmp_path, home, "token_source", server.resource_url, {"profile": "cdse-openeo", **options}
            )
            assert code == 0, f"run {run + 1}: {err[-2000:]}"
            assert json.loads(out.strip().splitlines()[-1]) == {"status": 200}
        assert server.refresh_token_reuses()["refused"] == 0
        refreshes = [r for r in server.requests_log if r.field("grant_type") == "refresh_token"]
        assert [r.status for r in refreshes] == [200] * RUNS  # one rotation per run, none refused
        assert not server.refresh_token_accepted("cdse-openeo", token.refresh_token)
        assert m2mauth.logout("cdse-openeo", **options) is True


def test_an_unwritable_data_folder_is_named_before_any_request(
    provider: LocalProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import m2mauth

    blocked = tmp_path / "home"
    blocked.write_text("a file where the folder should be")  # unwritable even for root
    monkeypatch.setenv("M2MAUTH_HOME", str(blocked))
    options = options_for(provider, "openaire")
    options.pop("profile")
    with pytest.raises(m2mauth.ConfigError) as caught:
        m2mauth.fetch_token("openaire", **options)
    assert caught.value.code == "store_unwritable" and "keep_refresh_token=False" in (caught.value.hint or "")
    assert provider.refresh_token_accepted("openaire", options["refresh_token"])  # not spent: nothing was sent
    assert m2mauth.fetch_token("openaire", keep_refresh_token=False, **options).access_token
