"""RedisStore against a real redis-server on 127.0.0.1 (issue 3, part 4).

The server is started by the ``redis_url`` fixture (conftest_lifecycle) on a free port without
persistence and stopped at teardown; the tests skip when redis-server or the redis package is
missing.
"""

from __future__ import annotations

import json
import multiprocessing.context
import os
import pickle
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from m2mauth import RedisStore, TokenSource, TransportError

try:
    from .conftest_lifecycle import (
        ProviderFactory,
        lifecycle_provider,
        mp,
        redis_url,
        refresh_period,
        run_workers,
        token_requests_bound,
    )
except ImportError:
    from conftest_lifecycle import (
        ProviderFactory,
        lifecycle_provider,
        mp,
        redis_url,
        refresh_period,
        run_workers,
        token_requests_bound,
    )

__all__ = ["lifecycle_provider", "mp", "redis_url"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

SECRET = "redis-canary-secret"
Context = multiprocessing.context.BaseContext


@pytest.fixture
def store(redis_url: str, request: pytest.FixtureRequest) -> RedisStore:
    """A RedisStore with a prefix of its own, so tests sharing the server do not meet."""
    return RedisStore(redis_url, prefix=f"m2mauth-test:{request.node.name}:")


def keys_of(store: RedisStore) -> list[bytes]:
    """The token keys (besides them a store holds its fingerprint key, shared by every worker)."""
    return sorted(store.client.scan_iter(match=store.prefix + "token:*"))


def generic_source(provider: Any, store: RedisStore, **options: Any) -> TokenSource:
    provider.add_client("generic", "redis-client", SECRET)
    return TokenSource(
        "generic",
        token_url=provider.token_url("generic"),
        client_id="redis-client",
        client_secret=SECRET,
        store=store,
        **options,
    )


def test_put_get_delete_and_ttl(lifecycle_provider: ProviderFactory, store: RedisStore) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = generic_source(provider, store)
    token = source.token()
    assert store.get(source.key) == token.__class__(
        token.access_token,
        token.token_type,
        token.expires_at,
        None,
        token.scope,
        None,
        None,
        token.issued_at,
    )
    (key,) = keys_of(store)
    assert 600 < store.client.ttl(key) <= 661  # no refresh token: the record expires with the token
    raw = store.client.get(key)
    assert SECRET.encode() not in raw
    assert set(json.loads(raw)) <= {
        "access_token",
        "token_type",
        "expires_at",
        "issued_at",
        "refresh_token",
        "refresh_expires_at",
        "id_token",
        "scope",
    }
    store.delete(source.key)
    assert store.get(source.key) is None and keys_of(store) == []


def test_refresh_tokens_are_kept_without_ttl(lifecycle_provider: ProviderFactory, store: RedisStore) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    source = TokenSource(
        "openaire",
        refresh_token=provider.issue_refresh_token("openaire"),
        token_url=provider.token_url("openaire", "refresh"),
        store=store,
    )
    token = source.token()
    (key,) = keys_of(store)
    assert store.client.ttl(key) == -1
    assert json.loads(store.client.get(key))["refresh_token"] == token.refresh_token


def test_redis_store_pickles_by_url(store: RedisStore) -> None:
    store.client.ping()
    copy = pickle.loads(pickle.dumps(store))
    assert (copy.url, copy.prefix) == (store.url, store.prefix)
    assert copy._client is None  # a new connection in the new process
    assert b"redis-canary" not in pickle.dumps(store)


def lifetime_worker(queue: Any, source: TokenSource, resource_url: str, duration: float) -> None:
    import requests

    try:
        calls = refused = 0
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            token = source.token()
            calls += 1
            if calls % 25 == 0:
                answer = requests.get(resource_url, headers={"Authorization": token.authorization}, timeout=10)
                refused += answer.status_code != 200
            time.sleep(0.005)
        queue.put({"calls": calls, "refused": refused, "requests": source.requests_made})
    except BaseException as error:
        queue.put({"error": repr(error)})


def test_four_processes_one_request_per_period(
    lifecycle_provider: ProviderFactory, mp: Context, store: RedisStore
) -> None:
    lifetime, duration = 2, 4.0
    provider = lifecycle_provider(token_lifetime=lifetime)
    source = generic_source(provider, store)
    started = time.monotonic()
    results = run_workers(mp, lifetime_worker, [(source, provider.resource_url, duration)] * 4)
    elapsed = time.monotonic() - started
    made = provider.token_requests()
    assert sum(r["requests"] for r in results) == made
    assert all(r["refused"] == 0 for r in results)
    assert 2 <= made <= token_requests_bound(elapsed, lifetime), (made, elapsed)
    assert made * 2 < 4 * max(elapsed, duration) / refresh_period(lifetime)  # not one per process per period


def rotate_worker(queue: Any, source: TokenSource, rounds: int) -> None:
    try:
        for _ in range(rounds):
            source.token(force=True)
        queue.put({"requests": source.requests_made})
    except BaseException as error:
        queue.put({"error": repr(error)})


def test_rotation_across_processes_never_reuses(
    lifecycle_provider: ProviderFactory, mp: Context, store: RedisStore
) -> None:
    provider = lifecycle_provider(token_lifetime=3600)
    source = TokenSource(
        "openaire",
        refresh_token=provider.issue_refresh_token("openaire"),
        token_url=provider.token_url("openaire", "refresh"),
        store=store,
    )
    results = run_workers(mp, rotate_worker, [(source, 15)] * 4)
    assert sum(r["requests"] for r in results) == provider.token_requests() == 60
    assert provider.refresh_token_reuses() == {"accepted": 0, "refused": 0}
    held = store.get(source.key)
    assert held is not None and held.refresh_token
    assert provider.refresh_token_accepted("openaire", held.refresh_token)


def lock_and_die(queue: Any, store: RedisStore, key: str, ttl: float) -> None:
    with store.lock(key, timeout=ttl):
        queue.put({"holding": os.getpid()})
        time.sleep(120)


def test_lock_expires_when_its_holder_dies(mp: Context, store: RedisStore, tmp_path: Path) -> None:
    queue = mp.Queue()  # type: ignore[attr-defined]
    holder = mp.Process(target=lock_and_die, args=(queue, store, "k", 2.0), daemon=True)  # type: ignore[attr-defined]
    holder.start()
    try:
        assert "holding" in queue.get(timeout=30)
        with pytest.raises(TransportError) as caught:
            with store.lock("k", timeout=0.2):
                pass
        assert caught.value.code == "lock_timeout"
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        holder.join(timeout=10)
        assert holder.exitcode == -signal.SIGKILL
        with store.lock("k", timeout=15):  # free once its 2-s expiry passes, though nobody released it
            pass
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join(timeout=10)


def test_redis_down_is_an_m2mauth_error_with_a_hint(lifecycle_provider: ProviderFactory) -> None:
    pytest.importorskip("redis")
    import socket

    from m2mauth import M2MAuthError

    # A loopback port that was free a moment ago and is closed now: connection refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = RedisStore(f"redis://:redis-canary-password@127.0.0.1:{port}/0")
    provider = lifecycle_provider(token_lifetime=600)
    for attempt in (
        lambda: generic_source(provider, store).token(),
        lambda: store.get("k"),
        lambda: store.delete("k"),
        lambda: store.lock("k", timeout=1).__enter__(),
    ):
        with pytest.raises(M2MAuthError) as caught:
            attempt()
        assert caught.value.code == "store_unavailable"
        assert f"127.0.0.1:{port}" in caught.value.message and "unreachable" in caught.value.message
        assert "Redis runs" in (caught.value.hint or "")
        assert "redis-canary-password" not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
