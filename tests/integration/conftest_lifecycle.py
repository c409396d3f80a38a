"""Fixtures and helpers for the token lifecycle tests (TokenSource, stores, retries, workers).

Every test talks real HTTP to :class:`m2mauth.testing.LocalProvider` on 127.0.0.1. Time is
either a :class:`FakeClock` shared by the provider and the client, or short real lifetimes
(2-3 s) with bounded waits. Worker processes come from a ``forkserver`` context that has
m2mauth imported already, so starting one costs milliseconds and no test thread is forked.

Import the fixtures from ``tests/integration/conftest.py`` (or from a test module)::

    from conftest_lifecycle import lifecycle_provider, mp, redis_url  # noqa: F401
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import multiprocessing.context
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from m2mauth.testing import LocalProvider

__all__ = [
    "HTTP_TIMEOUT",
    "captured_m2mauth_log",
    "child_environment",
    "PYTHON_DIR",
    "FakeClock",
    "ProviderFactory",
    "free_port",
    "lifecycle_provider",
    "mp",
    "read_record",
    "redis_url",
    "refresh_period",
    "run_workers",
    "token_requests_bound",
    "wait_until",
]

HTTP_TIMEOUT = 10.0
PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"
WORKER_TIMEOUT = 90.0  # no worker process may run longer than this


class FakeClock:
    """A clock the test moves by hand; picklable, so it can be shared with a TokenSource copy."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time())) if start is None else float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


ProviderFactory = Callable[..., LocalProvider]


@pytest.fixture
def lifecycle_provider() -> Iterator[ProviderFactory]:
    """``make(**options)`` starts a LocalProvider with those options; all are stopped at teardown."""
    started: list[LocalProvider] = []

    def make(**options: Any) -> LocalProvider:
        provider = LocalProvider(**options)
        provider.start()
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.stop()


def child_environment() -> None:
    # Children (forkserver, spawn, Dask's nannies) must import this checkout's m2mauth.
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(PYTHON_DIR) not in [str(Path(p).resolve()) for p in parts]:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), *parts])


@pytest.fixture(scope="session")
def mp() -> multiprocessing.context.BaseContext:
    """A multiprocessing context for worker processes: forkserver (m2mauth preloaded) where it
    exists, else spawn. Never plain fork: the test process runs the provider's threads."""
    child_environment()
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Children import pytest (the main module) and the test module: preload what they import.
        context.set_forkserver_preload(
            [
                "pytest",
                "requests",
                "m2mauth.source",
                "m2mauth.stores",
                "m2mauth.testing",
                "m2mauth.integrations.requests_auth",
            ]
        )
        return context
    return multiprocessing.get_context("spawn")


def run_workers(
    context: multiprocessing.context.BaseContext,
    target: Callable[..., Any],
    args_list: list[tuple[Any, ...]],
    timeout: float = WORKER_TIMEOUT,
) -> list[Any]:
    """Run ``target(queue, *args)`` in one process per args tuple; each puts exactly one result
    on the queue. Returns the results (a worker's exception text is raised here)."""
    queue = context.Queue()  # type: ignore[attr-defined]
    processes = [context.Process(target=target, args=(queue, *args), daemon=True) for args in args_list]  # type: ignore[attr-defined]
    for process in processes:
        process.start()
    results = []
    deadline = time.monotonic() + timeout
    try:
        for _ in processes:
            left = max(0.1, deadline - time.monotonic())
            results.append(queue.get(timeout=left))
    finally:
        for process in processes:
            process.join(timeout=max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    failures = [r for r in results if isinstance(r, dict) and r.get("error")]
    if failures:
        raise AssertionError(f"worker failed: {failures[0]['error']}")
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return results


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.01) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def refresh_period(lifetime: float, margin: float | None = None) -> float:
    """Seconds a token of ``lifetime`` is used before it is renewed (lifetime minus the margin)."""
    from m2mauth.source import refresh_margin

    return lifetime - refresh_margin(lifetime, margin)


def token_requests_bound(elapsed: float, lifetime: float, margin: float | None = None) -> int:
    """The most token requests one shared cache may make in ``elapsed`` seconds: one per refresh
    period begun, plus one for a boundary."""
    period = refresh_period(lifetime, margin)
    return int(elapsed // period) + 2


def read_record(folder: Path) -> dict[str, Any] | None:
    """The one token record of a FileStore folder, parsed (None when absent). A partial or
    unparsable file fails the test: atomic replace must make that impossible."""
    files = sorted((folder / "tokens").glob("*.json")) if (folder / "tokens").exists() else []
    files = [f for f in files if not f.name.startswith(".")]
    if not files:
        return None
    assert len(files) == 1, files
    text = files[0].read_text(encoding="utf-8")
    record: dict[str, Any] = json.loads(text)
    return record


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 (a free port, no persistence), stopped by pid at teardown.
    Skips when redis-server or the redis package is missing."""
    redis = pytest.importorskip("redis")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def ready() -> bool:
        if process.poll() is not None:
            return True
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError:
            return False

    try:
        wait_until(ready, timeout=20, step=0.05)
        if process.poll() is not None:
            pytest.skip(f"redis-server exited at start (status {process.returncode})")
        yield url
    finally:
        client.close()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextlib.contextmanager
def captured_m2mauth_log(level: int = logging.DEBUG) -> Iterator[list[logging.LogRecord]]:
    """Every record of the ``m2mauth`` logger (all levels), for secret checks."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("m2mauth")
    handler = Keep(level)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
