"""Fixtures of the fault suite: a Bench (LocalProvider, FaultProxy in front of it, FileStore), no
ambient proxy, and a factory for providers with other options (a skewed clock).

Set ``M2MAUTH_FAULTS_TABLE=/some/file.md`` to have the run write the table of faults and outcomes
it observed (the one in README.md was made that way).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_bench import TABLE, Bench
from tcp_proxy import FaultProxy

from m2mauth.testing import LocalProvider


@pytest.fixture(autouse=True)
def no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the proxies a test passes explicitly: none from the environment, loopback never proxied."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    # requests still honours an explicit proxies= mapping for these hosts (the 407 tests check that
    # the proxy saw the request); NO_PROXY only keeps proxies from the environment away.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("M2MAUTH_FAULTS_TABLE")
    if target and TABLE.rows:
        TABLE.write(target)


@pytest.fixture
def bench(tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Bench]:
    with LocalProvider(token_lifetime=600) as provider, FaultProxy(provider.base_url) as proxy:
        yield Bench(provider, proxy, tmp_path / "store", caplog, capsys)


@pytest.fixture
def provider_factory() -> Iterator[Callable[..., LocalProvider]]:
    """``make(**options)`` starts a LocalProvider (a skewed clock, say); all are stopped at teardown."""
    started: list[LocalProvider] = []

    def make(**options: Any) -> LocalProvider:
        provider = LocalProvider(**options)
        provider.start()
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.stop()
