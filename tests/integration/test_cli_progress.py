"""The CLI shows progress on slow waits: one updating line on a terminal, an INFO log line otherwise.

``m2mauth`` runs as a separate process (a terminal is a process-level thing) whose stderr is a
pseudo-terminal (the ``pty`` module) or a pipe, against the LocalProvider on 127.0.0.1 made slow
(``set_fault("slow")``) or answering 503 with ``Retry-After``. The waits last at least the
server's delay, which is over the 2 s after which progress shows; nothing measures time here.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from m2mauth.testing import LocalProvider

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "progress-client", "progress-client-secret-7d1e"
RUN_TIMEOUT = 90.0  # seconds: a bound on every process, never an expectation


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture()
def provider() -> Iterator[LocalProvider]:
    with LocalProvider(token_lifetime=600) as running:
        running.add_client("generic", CLIENT_ID, client_secret=CLIENT_SECRET)
        yield running


def environment(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("M2MAUTH_", "OPENEO_AUTH_", "DT_SERVICE_ACCOUNT_")) and "PROXY" not in k.upper()
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "python"), os.environ.get("PYTHONPATH")]))
    env["M2MAUTH_HOME"] = str(tmp_path / "home")
    env["TERM"] = "xterm"
    return env


def token_command(provider: LocalProvider, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "m2mauth", "token", "generic", "--client-id", CLIENT_ID, "--client-secret", "-",
        "--token-url", provider.token_url("generic"), "--no-store", "--timeout", "20", *extra,
    ]  # fmt: skip


def run_on_terminal(argv: list[str], env: dict[str, str], stdin: str) -> Ran:
    """Run with stderr on a pseudo-terminal; stdout and stdin stay pipes (as in `TOKEN=$(m2mauth token ...)`)."""
    master, slave = os.openpty()
    process = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(stdin.encode())
    process.stdin.close()
    chunks: list[bytes] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        out = process.stdout.read().decode()
        code = process.wait(timeout=RUN_TIMEOUT)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    return Ran(code, out, b"".join(chunks).decode(errors="replace"))


def run_on_pipe(argv: list[str], env: dict[str, str], stdin: str) -> Ran:
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


def works(provider: LocalProvider, token: str) -> bool:
    answer = requests.get(provider.resource_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return answer.status_code == 200


def test_a_slow_token_endpoint_shows_one_updating_line_on_a_terminal(provider: LocalProvider, tmp_path: Path) -> None:
    provider.set_fault("slow", delay=4.5)
    host = provider.token_url("generic").split("/")[2]
    ran = run_on_terminal(token_command(provider), environment(tmp_path), CLIENT_SECRET + "\n")
    assert ran.code == 0, ran.err
    assert works(provider, ran.out.strip())
    shown = re.findall(r"\r\x1b\[2Kwaiting for an answer from " + re.escape(host) + r" \((\d+) s\)", ran.err)
    assert shown, ran.err
    assert [int(s) for s in shown] == sorted(int(s) for s in shown)  # the same line, rewritten as time passes
    assert ran.err.endswith("\r\x1b[2K")  # erased when the answer came: the terminal is left clean
    assert "\n" not in ran.err  # one line, never scrolled
    assert CLIENT_SECRET not in ran.err and ran.out.strip() not in ran.err


def test_a_retry_after_backoff_is_shown_on_a_terminal(provider: LocalProvider, tmp_path: Path) -> None:
    provider.set_fault("503", retry_after="3")
    ran = run_on_terminal(token_command(provider), environment(tmp_path), CLIENT_SECRET + "\n")
    assert ran.code == 0, ran.err
    assert re.search(r"\r\x1b\[2Kgeneric token request failed \(\w+\); retrying in 3 s \(\d+ s\)", ran.err), ran.err
    assert provider.token_requests("generic") == 2


def test_quiet_shows_no_progress_on_a_terminal(provider: LocalProvider, tmp_path: Path) -> None:
    provider.set_fault("slow", delay=3.0)
    ran = run_on_terminal(token_command(provider, "--quiet"), environment(tmp_path), CLIENT_SECRET + "\n")
    assert ran.code == 0, ran.err
    assert ran.err == ""


def test_without_a_terminal_a_slow_wait_is_one_info_log_line(provider: LocalProvider, tmp_path: Path) -> None:
    provider.set_fault("503", retry_after="3")  # the first answer; the retry's answer is slow
    provider.set_fault("slow", delay=3.0)
    ran = run_on_pipe(token_command(provider), environment(tmp_path), CLIENT_SECRET + "\n")
    assert ran.code == 0, ran.err
    lines = ran.err.splitlines()
    host = provider.token_url("generic").split("/")[2]
    assert [line for line in lines if line.startswith(f"waiting for an answer from {host}")] == [
        next(line for line in lines if line.startswith("waiting for an answer"))
    ]  # one line for the slow answer, not one per second
    retry = r"generic token request failed \(\w+\); retrying in 3 s \(\d+ s so far\)"
    assert any(re.fullmatch(retry, line) for line in lines), ran.err
    assert "\r" not in ran.err and "\x1b" not in ran.err  # no terminal codes in a log
    assert works(provider, ran.out.strip())

    provider.set_fault("slow", delay=3.0)
    quiet = run_on_pipe(token_command(provider, "--quiet"), environment(tmp_path), CLIENT_SECRET + "\n")
    assert quiet.code == 0 and quiet.err == ""


def test_waiting_for_another_process_lock_is_shown(provider: LocalProvider, tmp_path: Path) -> None:
    """This test holds the token store's lock (as another `m2mauth token` would) until the CLI says it waits."""
    from m2mauth import FileStore, TokenSource

    store_dir = tmp_path / "store"
    store = FileStore(store_dir)
    key = TokenSource(
        "generic",
        store=store,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_url=provider.token_url("generic"),
    ).key
    argv = [*token_command(provider)[:-3], "--store", str(store_dir), "--timeout", "20"]
    with store.lock(key, timeout=30):
        process = subprocess.Popen(
            argv, env=environment(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert process.stdin is not None and process.stderr is not None and process.stdout is not None
        process.stdin.write(CLIENT_SECRET + "\n")
        process.stdin.close()
        process.stdin = None  # closed: communicate() below must not flush it
        line = process.stderr.readline()  # blocks until the CLI reports its wait (bounded by the lock timeout)
    out, rest = process.communicate(timeout=RUN_TIMEOUT)
    assert process.returncode == 0, line + rest
    assert line.startswith("waiting for another process's lock on the token store"), line
    assert works(provider, out.strip())
