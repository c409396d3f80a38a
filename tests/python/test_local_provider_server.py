"""LocalProvider, the local token server: lifecycle, concurrency and the command line.

The tests build every request by hand, as local_provider_helpers.py explains."""

from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from local_provider_helpers import (
    TIMEOUT,
    basic,
    clms_grant,
    post_clms,
    resource,
)

from m2mauth.testing import LocalProvider

# -- lifecycle and common behaviour ----------------------------------------------------------


def test_binds_loopback_and_stops_cleanly() -> None:
    provider = LocalProvider()
    with pytest.raises(RuntimeError):
        provider.token_url("clms")
    with provider:
        assert provider.base_url.startswith("http://127.0.0.1:")
        assert provider.resource_url == provider.base_url + "/api/resource"
        assert provider.running
        assert resource(provider, None).status_code == 401
    assert not provider.running
    with pytest.raises(requests.ConnectionError):
        requests.get(provider.resource_url, timeout=2)
    provider.stop()  # idempotent


def test_token_urls_mirror_the_real_paths(provider: LocalProvider) -> None:
    base = provider.base_url
    assert provider.token_url("clms") == base + "/@@oauth2-token"
    assert provider.token_url("disruptive-technologies") == base + "/oauth2/token"
    assert provider.token_url("openaire") == base + "/oidc/token"
    assert provider.token_url("openaire", "refresh_token") == (base + "/uoa-user-management/api/users/getAccessToken")
    assert provider.token_url("climate-engine") == base + "/api/v1/auth/jwt/token"
    assert provider.token_url("cdse-openeo") == base + "/auth/realms/CDSE/protocol/openid-connect/token"
    assert provider.token_url("generic") == base + "/oauth/token"
    with pytest.raises(ValueError):
        provider.token_url("nonsense")


def test_unknown_path_and_wrong_method(provider: LocalProvider) -> None:
    assert requests.get(provider.base_url + "/nothing", timeout=TIMEOUT).status_code == 404
    answer = requests.get(provider.token_url("generic"), timeout=TIMEOUT)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


# -- concurrency -----------------------------------------------------------------------------


def test_many_concurrent_clients(provider: LocalProvider) -> None:
    provider.add_client("generic", "busy", "busy-secret")

    def fetch(_: int) -> str:
        with requests.Session() as session:
            answer = session.post(
                provider.token_url("generic"),
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic("busy", "busy-secret")},
                timeout=TIMEOUT,
            )
            assert answer.status_code == 200
            token: str = answer.json()["access_token"]
            assert (
                session.get(
                    provider.resource_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
                ).status_code
                == 200
            )
            return token

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        tokens = list(pool.map(fetch, range(48)))
    assert len(set(tokens)) == 48
    assert provider.token_requests("generic") == 48
    assert len(provider.requests_log) == 96


@pytest.mark.parametrize("clients", [64, 200])
def test_clients_connecting_at_the_same_instant(provider: LocalProvider, clients: int) -> None:
    """Many clients connect at one instant (a barrier releases them together), as a user's
    parallel pipeline does. With socketserver's default listen backlog of 5 the kernel
    overflowed into SYN cookies and reset most of these connections (ConnectionResetError 104)."""
    provider.add_client("generic", "burst", "burst-secret")
    start = threading.Barrier(clients)

    def fetch(_: int) -> str:
        start.wait(timeout=60)
        with requests.Session() as session:
            answer = session.post(
                provider.token_url("generic"),
                data={"grant_type": "client_credentials"},
                headers={"Authorization": basic("burst", "burst-secret")},
                timeout=TIMEOUT * 3,
            )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        tokens = list(pool.map(fetch, range(clients)))
    assert len(set(tokens)) == clients
    assert provider.token_requests("generic") == clients


# -- command line ----------------------------------------------------------------------------


def test_command_line_server() -> None:
    import m2mauth.testing

    python_dir = str(Path(m2mauth.testing.__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (python_dir, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2mauth.testing", "--lifetime", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the server printed nothing within 30 s"
        info = json.loads(proc.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        key_file = Path(info["service_key_file"])
        key = json.loads(key_file.read_text(encoding="utf-8"))
        assert key["token_uri"] == info["base_url"] + "/@@oauth2-token"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        answer = post_clms(key, clms_grant(key, time.time()))
        assert answer.status_code == 200, answer.text
        assert answer.json()["expires_in"] == 120
        creds = json.loads(Path(info["credentials_file"]).read_text(encoding="utf-8"))
        dt = creds["disruptive-technologies"]
        assert set(dt) == {"key_id", "secret", "email"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == 0
    assert not key_file.exists()
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert key["private_key"] not in stderr
    proc.stdout.close()
    proc.stderr.close()


def read_first_steps(proc: subprocess.Popen[str], timeout: float) -> tuple[dict[str, Any], str]:
    """The JSON line, then the human text through the last profile's commands. A reader thread
    feeds a queue, so each wait is bounded (select() cannot see lines already buffered)."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not (len(seen) >= 3 and seen[-3].startswith("# generic")):
        try:
            seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
        except queue.Empty:
            raise AssertionError(f"the server printed only {seen!r} within {timeout} s") from None
    return json.loads(seen[0]), "".join(seen[1:])


def printed_commands(text: str) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    profile = None
    for line in text.splitlines():
        if line.startswith("# "):
            profile = line[2:].strip()
        elif line.startswith("$ ") and profile is not None:
            commands.setdefault(profile, []).append(line[2:])
    return commands


@pytest.mark.parametrize("kind", ["cli", "python"])
def test_command_line_server_prints_commands_that_get_tokens(tmp_path: Path, kind: str) -> None:
    """The first hour: every printed command (CLI and Python, one per profile) gets a token that the
    server's protected resource accepts, and none of them shows a secret. Each kind runs against a
    server of its own: OpenAIRE's refresh token rotates, and keeping the newest one across runs is
    tested where it is implemented."""
    import m2mauth.testing

    python_dir = str(Path(m2mauth.testing.__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("M2MAUTH_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (python_dir, env.get("PYTHONPATH")) if p)
    env["M2MAUTH_HOME"] = str(tmp_path / "home")  # the commands' token cache and kept refresh tokens
    proc = subprocess.Popen(
        [sys.executable, "-m", "m2mauth.testing", "--lifetime", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        info, text = read_first_steps(proc, 30)
        assert info["token_urls"]["openaire"] == info["base_url"] + "/uoa-user-management/api/users/getAccessToken"
        assert info["openaire_service_token_url"] == info["base_url"] + "/oidc/token"
        creds = json.loads(Path(info["credentials_file"]).read_text(encoding="utf-8"))
        secret_names = ("secret", "client_secret", "password", "refresh_token", "subject_token")
        shown = [v for c in creds.values() for k, v in c.items() if k in secret_names and v in text]
        assert shown == []
        commands = printed_commands(text)
        assert set(commands) == set(creds) | {"clms"}
        for profile, pair in commands.items():
            assert len(pair) == 2, (profile, pair)
            assert " -m m2mauth token " in pair[0] and "m2mauth.fetch_token(" in pair[1]
            command = pair[0] if kind == "cli" else pair[1]
            run = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=60)
            assert run.returncode == 0, (profile, command, run.stderr)
            token = run.stdout.strip()
            assert token and "\n" not in token, (profile, run.stdout)
            answer = requests.get(info["resource_url"], headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
            assert answer.status_code == 200, (profile, command, answer.text)
            assert answer.json()["profile"] == profile
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
