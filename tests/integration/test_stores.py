"""Token stores (issue 3, part 4): what a FileStore writes, with which modes, how atomically,
and what its cross-process lock does when a holder dies. MemoryStore for contrast.

RedisStore has its own file (test_redis.py); many processes sharing a store are in
test_workers.py.
"""

from __future__ import annotations

import errno
import json
import multiprocessing.context
import os
import pickle
import stat
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from m2mauth import FileStore, M2MAuthError, MemoryStore, TokenSource, TransportError
from m2mauth.fingerprint import FINGERPRINT_KEY_FILE
from m2mauth.folders import cache_dir, data_dir
from m2mauth.stores import default_home, token_from_record, token_to_record
from m2mauth.testing import LocalProvider
from m2mauth.tokens import Token

try:
    from .conftest_lifecycle import ProviderFactory, lifecycle_provider, mp, read_record, run_workers, wait_until
except ImportError:
    from conftest_lifecycle import ProviderFactory, lifecycle_provider, mp, read_record, run_workers, wait_until

__all__ = ["lifecycle_provider", "mp"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and signals")

CLIENT_SECRET = "store-canary-client-secret"
DT_SECRET = "store-canary-dt-secret"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def sample_token(size: int = 40, refresh: str | None = "refresh-value") -> Token:
    now = datetime.now(timezone.utc)
    return Token(
        "a" * size,
        expires_at=now + timedelta(seconds=600),
        refresh_token=refresh,
        scope="openid",
        issued_at=now,
        refresh_expires_at=now + timedelta(days=30),
    )


# -- modes ------------------------------------------------------------------------------------


def test_file_store_modes_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = FileStore(tmp_path / "cache" / "m2mauth")
        with store.lock("k"):
            store.put("k", sample_token())
    finally:
        os.umask(old)
    root = tmp_path / "cache" / "m2mauth"
    for folder in (root, root / "tokens", root / "locks"):
        assert mode(folder) == 0o700, folder
    files = all_files(root)
    assert len(files) == 2  # one token record, one lock file
    for file in files:
        assert mode(file) == 0o600, file


def test_an_existing_open_folder_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    FileStore(root).put("k", sample_token())
    assert mode(root) == 0o700


def test_m2mauth_home_overrides_the_cache_and_data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("M2MAUTH_HOME", str(tmp_path / "home"))
    assert default_home() == cache_dir() == tmp_path / "home" / "cache"
    assert data_dir() == tmp_path / "home" / "data"
    FileStore().put("k", sample_token())
    assert read_record(tmp_path / "home" / "cache") is not None
    monkeypatch.delenv("M2MAUTH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    if sys.platform.startswith("linux"):
        assert default_home() == tmp_path / "xdg" / "m2mauth"
        assert data_dir() == tmp_path / "xdg-data" / "m2mauth"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG variables apply on Linux")
def test_a_relative_xdg_folder_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The XDG spec: a relative path is invalid and ignored. Before, tokens landed under the cwd.
    monkeypatch.delenv("M2MAUTH_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-cache")
    monkeypatch.setenv("XDG_DATA_HOME", "relative-data")
    monkeypatch.chdir(tmp_path)
    assert default_home() == tmp_path / "user" / ".cache" / "m2mauth"
    assert data_dir() == tmp_path / "user" / ".local" / "share" / "m2mauth"
    FileStore().put("k", sample_token())
    assert not (tmp_path / "relative-cache").exists()
    assert read_record(tmp_path / "user" / ".cache" / "m2mauth") is not None


# -- tokens only ------------------------------------------------------------------------------


def test_stores_hold_tokens_only(lifecycle_provider: ProviderFactory, tmp_path: Path) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    store = FileStore(tmp_path / "store")
    service_key = provider.make_clms_service_key()
    provider.add_client("generic", "store-client", CLIENT_SECRET)
    provider.add_dt_service_account("dt-kid", DT_SECRET, "sa@example.org")
    provider.add_user("generic", "ada", "store-canary-password")
    sources = [
        TokenSource("clms", service_key=service_key, store=store),
        TokenSource(
            "generic",
            token_url=provider.token_url("generic"),
            client_id="store-client",
            client_secret=CLIENT_SECRET,
            store=store,
        ),
        TokenSource(
            "disruptive-technologies",
            key_id="dt-kid",
            secret=DT_SECRET,
            email="sa@example.org",
            token_url=provider.token_url("dt"),
            store=store,
        ),
        TokenSource(
            "generic",
            token_url=provider.token_url("generic"),
            username="ada",
            password="store-canary-password",
            store=store,
        ),
    ]
    tokens = [s.token() for s in sources]
    key_file = tmp_path / "store" / FINGERPRINT_KEY_FILE  # the random key of the secrets' fingerprints
    assert mode(key_file) == 0o600 and len(bytes.fromhex(key_file.read_text())) == 32
    files = [p for p in all_files(tmp_path / "store") if p != key_file]
    records = [json.loads(p.read_text()) for p in files if p.suffix == ".json"]
    assert len(records) == 4
    assert {r["access_token"] for r in records} == {t.access_token for t in tokens}
    blob = b"".join(p.read_bytes() for p in files)
    pem_body = [line for line in service_key["private_key"].splitlines() if line and "-----" not in line]
    forbidden = [CLIENT_SECRET, DT_SECRET, "store-canary-password", "PRIVATE KEY", "-----BEGIN", *pem_body[:3]]
    for secret in forbidden:
        assert secret.encode() not in blob, secret
    for record in records:
        assert set(record) <= {
            "key",
            "access_token",
            "token_type",
            "expires_at",
            "issued_at",
            "refresh_token",
            "refresh_expires_at",
            "scope",
            "id_token",
        }
    # File names and keys say nothing secret either.
    for source in sources:
        for secret in forbidden[:3]:
            assert secret not in source.key
    assert all(len(p.stem) == 32 for p in files)


def test_store_key_separates_profile_url_client_and_scope(lifecycle_provider: ProviderFactory) -> None:
    provider = lifecycle_provider(token_lifetime=600)
    base = {"token_url": provider.token_url("generic"), "client_id": "a", "client_secret": "s"}
    keys = {
        TokenSource("generic", **base).key,
        TokenSource("generic", **{**base, "scope": "read"}).key,
        TokenSource("generic", **{**base, "client_id": "b"}).key,
        TokenSource("generic", **{**base, "token_url": provider.token_url("openaire")}).key,
        TokenSource("climate-engine", **base).key,
    }
    assert len(keys) == 5
    # Same credentials, same key; another secret, another key (issue 8 part 2) -- never the secret itself.
    assert TokenSource("generic", **base).key == TokenSource("generic", **base).key
    assert TokenSource("generic", **base).key != TokenSource("generic", **{**base, "client_secret": "other"}).key
    assert "|s|" not in TokenSource("generic", **base).key and not TokenSource("generic", **base).key.endswith("|s")


def test_record_round_trip_and_garbage(tmp_path: Path) -> None:
    token = sample_token()
    assert token_from_record(json.loads(json.dumps(token_to_record(token)))) == Token(
        token.access_token,
        token.token_type,
        token.expires_at,
        token.refresh_token,
        token.scope,
        None,
        token.refresh_expires_at,
        token.issued_at,
    )
    for garbage in (None, [], {"access_token": 3}, "text"):
        assert token_from_record(garbage) is None
    store = FileStore(tmp_path / "s")
    store.put("k", token)
    (record_path,) = (tmp_path / "s" / "tokens").glob("*.json")
    record_path.write_text("{not json")  # a hand-edited file reads as empty, never crashes
    assert store.get("k") is None
    store.delete("k")
    store.delete("k")
    assert store.get("k") is None


# -- atomic replace ---------------------------------------------------------------------------


def rewriter(queue: Any, folder: str, rounds: int) -> None:
    try:
        store = FileStore(folder)
        for number in range(rounds):
            size = 300_000 if number % 2 else 50  # big and small records in turn
            store.put("k", sample_token(size=size, refresh=f"refresh-{number}"))
        queue.put({"rounds": rounds})
    except BaseException as error:
        queue.put({"error": repr(error)})


def test_concurrent_readers_never_see_half_a_file(mp: multiprocessing.context.BaseContext, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    store = FileStore(folder)
    store.put("k", sample_token())
    (target,) = (folder / "tokens").glob("*.json")
    queue = mp.Queue()  # type: ignore[attr-defined]
    writers = [mp.Process(target=rewriter, args=(queue, str(folder), 150), daemon=True) for _ in range(2)]  # type: ignore[attr-defined]
    for writer in writers:
        writer.start()
    reads = sizes = 0
    seen_sizes = set()
    deadline = time.monotonic() + 60
    while any(w.is_alive() for w in writers) and time.monotonic() < deadline:
        record = json.loads(target.read_text())  # raises on a partial file
        token = store.get("k")
        assert token is not None
        seen_sizes.add(len(record["access_token"]))
        reads += 1
        sizes += len(record["access_token"])
    results = [queue.get(timeout=30) for _ in writers]
    for writer in writers:
        writer.join(timeout=10)
    assert all("error" not in r for r in results), results
    assert reads > 10
    assert seen_sizes & {300_000}, "the readers never saw a big record: the test proved nothing"
    assert not list((folder / "tokens").glob(".tmp-*")), "temporary files left behind"


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s")
    store.put("k", sample_token())
    old = tmp_path / "s" / "tokens" / ".tmp-killed-writer.json"
    young = tmp_path / "s" / "tokens" / ".tmp-busy-writer.json"
    old.write_text('{"access_token": "half')
    young.write_text('{"access_token": "half')
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    store.put("k", sample_token())
    assert not old.exists()
    assert young.exists()  # may belong to a writer at work


# -- the lock ---------------------------------------------------------------------------------


def lock_holder(queue: Any, folder: str, hold: float) -> None:
    store = FileStore(folder)
    with store.lock("k", timeout=5):
        queue.put({"holding": os.getpid()})
        time.sleep(hold)
    queue.put({"released": True})


def test_lock_times_out_and_is_released_when_the_holder_is_killed(
    mp: multiprocessing.context.BaseContext, tmp_path: Path
) -> None:
    folder = tmp_path / "s"
    store = FileStore(folder)
    queue = mp.Queue()  # type: ignore[attr-defined]
    holder = mp.Process(target=lock_holder, args=(queue, str(folder), 60), daemon=True)  # type: ignore[attr-defined]
    holder.start()
    assert "holding" in queue.get(timeout=30)
    with pytest.raises(TransportError) as caught:
        with store.lock("k", timeout=0.2):
            pass
    assert caught.value.code == "lock_timeout"
    holder.kill()  # SIGKILL: no cleanup code runs in the holder
    holder.join(timeout=10)
    assert holder.exitcode == -9
    with store.lock("k", timeout=10):  # the OS dropped the dead holder's lock
        store.put("k", sample_token())
    assert store.get("k") is not None


def test_lock_serialises_threads_of_one_process(tmp_path: Path) -> None:
    import threading

    store = FileStore(tmp_path / "s")
    inside = []
    overlap = []

    def work() -> None:
        for _ in range(20):
            with store.lock("k", timeout=20):
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlap == []


def test_file_store_pickles_by_path(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s")
    store.put("k", sample_token())
    copy = pickle.loads(pickle.dumps(store))
    assert copy.path == store.path
    assert copy.get("k") == store.get("k")


def test_memory_store_pickles_empty_and_locks(tmp_path: Path) -> None:
    store = MemoryStore()
    store.put("k", sample_token())
    assert pickle.loads(pickle.dumps(store)).get("k") is None
    import threading

    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.lock("k"):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(10)
    with pytest.raises(TransportError):
        with store.lock("k", timeout=0.05):
            pass
    release.set()
    thread.join(10)
    with store.lock("k", timeout=1):
        pass


def shared_store_worker(queue: Any, source: TokenSource, calls: int) -> None:
    try:
        tokens = {source.token().access_token for _ in range(calls)}
        queue.put({"tokens": sorted(tokens), "requests": source.requests_made})
    except BaseException as error:
        queue.put({"error": repr(error)})


def test_processes_sharing_a_file_store_make_one_request(
    lifecycle_provider: ProviderFactory, mp: multiprocessing.context.BaseContext, tmp_path: Path
) -> None:
    provider: LocalProvider = lifecycle_provider(token_lifetime=600)
    provider.add_client("generic", "store-client", CLIENT_SECRET)
    source = TokenSource(
        "generic",
        token_url=provider.token_url("generic"),
        client_id="store-client",
        client_secret=CLIENT_SECRET,
        store=FileStore(tmp_path / "s"),
    )
    results = run_workers(mp, shared_store_worker, [(source, 20)] * 4)
    assert provider.token_requests() == 1
    assert len({t for r in results for t in r["tokens"]}) == 1
    assert sum(r["requests"] for r in results) == 1
    assert wait_until(lambda: source.token() is not None)


# -- the cross-process lock (filelock) and where files live (platformdirs): issue 8, part 3 ------


def test_a_lock_file_that_cannot_be_opened_is_an_m2mauth_error(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s")
    store.put("k", sample_token())
    lock_path = next((tmp_path / "s" / "locks").glob("*.lock"), None) or (
        tmp_path / "s" / "locks" / (store._token_path("k").stem + ".lock")
    )
    if lock_path.exists():
        lock_path.unlink()
    lock_path.mkdir()  # a folder where the lock file should be: open() fails (even as root)
    with pytest.raises(M2MAuthError) as caught:
        with store.lock("k", timeout=5):
            pass
    assert caught.value.code == "store_unwritable"
    lock_path.rmdir()
    # Nothing stays held: another thread of this process takes the same lock at once.
    taken: list[bool] = []

    def take() -> None:
        with store.lock("k", timeout=5):
            taken.append(True)

    worker = threading.Thread(target=take)
    worker.start()
    worker.join(30)
    assert taken == [True]


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.ENOSYS])
def test_a_file_system_without_locks_fails_fast_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    # Mock: NFS without a lock manager cannot be mounted here; flock answers ENOLCK (or ENOSYS) there.
    import fcntl

    real = fcntl.flock

    def no_locks(fd: int, operation: int) -> None:
        if operation & fcntl.LOCK_UN:
            return real(fd, operation)
        raise OSError(code, os.strerror(code))

    store = FileStore(tmp_path / "s")
    store.put("k", sample_token())
    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(TransportError) as caught:
        with store.lock("k", timeout=20):
            pass
    assert caught.value.code == "lock_unsupported"  # not "lock_timeout" after the full wait
    assert "does not support file locks" in caught.value.message and "local disk" in (caught.value.hint or "")


def write_legacy_store(folder: Path) -> dict[str, dict[str, Any]]:
    """The layout m2mauth 0.1 wrote: <folder>/tokens/<digest>.json, plus the CLI's labels."""
    (folder / "tokens").mkdir(parents=True)
    records = {
        "a" * 32 + ".json": token_to_record(sample_token(refresh=None)),
        "b" * 32 + ".json": token_to_record(sample_token(refresh="login-refresh-token")),
    }
    for name, record in records.items():
        (folder / "tokens" / name).write_text(json.dumps(record))
    (folder / "cli-labels.json").write_text("{}")
    return records


def test_an_old_m2mauth_home_is_migrated_once_without_loss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("M2MAUTH_HOME", str(home))
    records = write_legacy_store(home)
    FileStore().get("anything")  # first use
    for name, record in records.items():
        assert json.loads((home / "cache" / "tokens" / name).read_text()) == record  # moved to the cache
        assert not (home / "tokens" / name).exists()
    assert (home / "cache" / "cli-labels.json").exists()
    # The record with a refresh token (a device login) is also in the data folder, where login() looks.
    assert json.loads((home / "data" / "tokens" / ("b" * 32 + ".json")).read_text())["refresh_token"]
    assert not (home / "data" / "tokens" / ("a" * 32 + ".json")).exists()
    assert mode(home / "data" / "tokens" / ("b" * 32 + ".json")) == 0o600
    # Once: a later old-layout file (another tool, a downgrade) is left alone and nothing is overwritten.
    (home / "data" / "tokens" / ("b" * 32 + ".json")).write_text(json.dumps({"access_token": "newer"}))
    write_legacy_store(tmp_path / "again")
    FileStore().get("anything")
    assert json.loads((home / "data" / "tokens" / ("b" * 32 + ".json")).read_text()) == {"access_token": "newer"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG cache folder")
def test_the_default_cache_folder_keeps_its_files_and_copies_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("M2MAUTH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    records = write_legacy_store(tmp_path / "xdg-cache" / "m2mauth")  # old and new cache: the same folder
    assert FileStore().get("anything") is None
    for name, record in records.items():
        assert json.loads((tmp_path / "xdg-cache" / "m2mauth" / "tokens" / name).read_text()) == record
    login = tmp_path / "xdg-data" / "m2mauth" / "tokens" / ("b" * 32 + ".json")
    assert json.loads(login.read_text())["refresh_token"] == "login-refresh-token"
    assert mode(login.parent.parent) == 0o700


def test_stores_keep_the_id_token(lifecycle_provider: ProviderFactory, tmp_path: Path) -> None:
    # OpenAIRE's refresh endpoint answers with an id_token; before issue 8 a store dropped it.
    provider = lifecycle_provider(token_lifetime=600)
    source = TokenSource(
        "openaire",
        refresh_token=provider.issue_refresh_token("openaire"),
        token_url=provider.token_url("openaire", "refresh"),
        store=FileStore(tmp_path / "s"),
    )
    token = source.token()
    assert token.id_token
    assert FileStore(tmp_path / "s").get(source.key).id_token == token.id_token  # type: ignore[union-attr]
    assert token_from_record(token_to_record(token)).id_token == token.id_token  # type: ignore[union-attr]
    assert MemoryStore().get("k") is None


def test_a_rotated_refresh_token_from_before_the_upgrade_is_not_lost(
    lifecycle_provider: ProviderFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # m2mauth 0.1 (e.g. `m2mauth token openaire --refresh-token R`) kept the rotated successor of R in
    # M2MAUTH_HOME/tokens, under a key naming R by a bare hash. After the upgrade, R (spent) plus
    # that record must still work: the file moves to the cache and the chain is adopted.
    import hashlib

    import m2mauth

    provider = lifecycle_provider(token_lifetime=600)
    url = provider.token_url("openaire", "refresh")
    original = provider.issue_refresh_token("openaire")
    successor = m2mauth.fetch_token("openaire", refresh_token=original, token_url=url, keep_refresh_token=False)
    assert successor.refresh_token and not provider.refresh_token_accepted("openaire", original)
    old_key = "|".join(
        ("m2mauth-v1", "openaire", url, "refresh=" + hashlib.sha256(original.encode()).hexdigest()[:16], "")
    )
    home = tmp_path / "home"
    (home / "tokens").mkdir(parents=True)
    name = hashlib.sha256(old_key.encode()).hexdigest()[:32] + ".json"
    (home / "tokens" / name).write_text(json.dumps(token_to_record(successor)))
    monkeypatch.setenv("M2MAUTH_HOME", str(home))
    for _ in range(2):  # the first run adopts the old record, the second uses what the first kept
        token = TokenSource("openaire", refresh_token=original, token_url=url, store=FileStore()).token(force=True)
        assert token.access_token
    assert provider.refresh_token_reuses()["refused"] == 0
    assert not (home / "cache" / "tokens" / name).exists()  # adopted, then removed
