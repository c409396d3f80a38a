"""Where tokens are kept between calls, threads, processes and machines.

A store holds token records only — access token, expiry, refresh token — never keys, client
secrets or passwords. Each store also offers a lock per key, so that one refresher at a time
works for everyone sharing it: threads (MemoryStore), processes on one machine (FileStore),
workers anywhere (RedisStore). Each also holds the random key that fingerprints secret material
in its cache keys (see fingerprint.py), so everyone sharing a store computes the same keys.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from . import progress
from .arguments import check_options
from .errors import ConfigError, M2MAuthError, TransportError
from .fingerprint import KEY_BYTES, key_from_file
from .folders import cache_dir, data_dir, make_private_dir, migrate_legacy, write_private
from .tokens import Token

__all__ = [
    "FileStore",
    "MemoryStore",
    "RedisStore",
    "Store",
    "data_store",
    "default_home",
    "store_fingerprint_key",
    "token_from_record",
    "token_to_record",
]

LOCK_TIMEOUT = 60.0
_PROCESS_KEY = secrets.token_bytes(KEY_BYTES)  # fingerprints in MemoryStore keys: nothing to share


def token_to_record(token: Token) -> dict[str, Any]:
    def epoch(value: datetime | None) -> float | None:
        return value.timestamp() if value is not None else None

    record: dict[str, Any] = {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_at": epoch(token.expires_at),
        "issued_at": epoch(token.issued_at),
        "refresh_token": token.refresh_token,
        "refresh_expires_at": epoch(token.refresh_expires_at),
        "scope": token.scope,
        "id_token": token.id_token,
        **({"issued_token_type": token.issued_token_type} if token.issued_token_type else {}),
    }
    if token.header_name != "Authorization":  # a profile's own header (presentation.py); else as before
        record["header_name"] = token.header_name
    return record


def token_from_record(record: Any) -> Token | None:
    """A Token from a stored record; None for anything unreadable (a store must never crash a caller)."""
    if not isinstance(record, dict) or not isinstance(record.get("access_token"), str):
        return None

    def when(name: str) -> datetime | None:
        value = record.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, tz=timezone.utc)
            except (OverflowError, OSError, ValueError):  # out of datetime's range, or NaN
                return None
        return None

    def text(name: str) -> str | None:
        value = record.get(name)
        return value if isinstance(value, str) else None

    token_type = text("token_type")
    if not token_type and not text("header_name"):
        token_type = "Bearer"  # an empty type stays empty only for a bare token in its own header (USGS M2M)
    return Token(
        access_token=record["access_token"],
        token_type=token_type or "",
        expires_at=when("expires_at"),
        refresh_token=text("refresh_token"),
        scope=text("scope"),
        id_token=text("id_token"),
        refresh_expires_at=when("refresh_expires_at"),
        issued_at=when("issued_at"),
        header_name=text("header_name") or "Authorization",
        issued_token_type=text("issued_token_type"),
    )


@runtime_checkable
class Store(Protocol):
    def get(self, key: str) -> Token | None: ...
    def put(self, key: str, token: Token) -> None: ...
    def delete(self, key: str) -> None: ...
    def lock(self, key: str, timeout: float = LOCK_TIMEOUT) -> contextlib.AbstractContextManager[None]: ...


class MemoryStore:
    """Tokens in this process's memory (the default). A pickled copy starts empty."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def fingerprint_key(self) -> bytes:
        return _PROCESS_KEY  # memory lives and dies with the process, and so may this key

    def get(self, key: str) -> Token | None:
        return self._tokens.get(key)

    def put(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    def delete(self, key: str) -> None:
        self._tokens.pop(key, None)

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=timeout):
            raise TransportError(f"timed out after {timeout:g} s waiting for the token lock", code="lock_timeout")
        try:
            yield
        finally:
            lock.release()

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._tokens)} token(s)>"


def default_home() -> Path:
    """The default FileStore folder: ``$M2MAUTH_HOME/cache``, else the platform's user cache folder."""
    return cache_dir()


def store_fingerprint_key(store: object) -> bytes:
    """The key that fingerprints secrets in ``store``'s cache keys: the store's own when it has one
    (so every process and machine sharing it agrees), else the data folder's."""
    own: Callable[[], bytes] | None = getattr(store, "fingerprint_key", None)
    if callable(own):
        return own()
    return key_from_file(data_dir())


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


#: flock answers these when the file system cannot lock at all (NFS without a lock manager,
#: some FUSE mounts): waiting cannot help, so the lock fails at once and says why.
LOCK_UNSUPPORTED = frozenset(
    {errno.ENOLCK, errno.ENOSYS, getattr(errno, "EOPNOTSUPP", -1), getattr(errno, "ENOTSUP", -1)}
)


class _FileLock:
    """An exclusive lock across processes and threads, by ``filelock`` (flock on POSIX, LockFileEx
    on Windows). The OS releases it when its holder dies, even by SIGKILL.

    What filelock leaves to its caller is turned into M2MAuthErrors: a lock file that cannot be
    opened, a file system without locks, a timeout.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        from filelock import FileLock

        self.path, self.timeout = path, timeout
        # thread_local: each thread opens its own descriptor, so flock also excludes threads.
        # No soft-lock fallback (filelock >= 4 offers one on ENOSYS): a lock file left by a killed
        # process would block everyone; a file system without locks is reported instead.
        options: dict[str, Any] = {"fallback_to_soft": False} if _HAS_SOFT_FALLBACK else {}
        self._lock = FileLock(str(path), timeout=timeout, mode=0o600, thread_local=True, **options)

    def __enter__(self) -> None:
        from filelock import Timeout

        try:
            with progress.waiting(f"waiting for another process's lock on the token store {self.path}"):
                self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise TransportError(
                f"timed out after {self.timeout:g} s waiting for the token store lock {self.path}",
                code="lock_timeout",
                hint="Another process holds it; it is released when that process ends.",
            ) from None
        except NotImplementedError:
            raise _unsupported(self.path, None) from None
        except OSError as exc:
            if exc.errno in LOCK_UNSUPPORTED:
                raise _unsupported(self.path, exc) from None
            raise ConfigError(
                f"cannot open the token store lock {self.path}: {exc.strerror or type(exc).__name__}",
                code="store_unwritable",
                hint="Use a folder you can write to (store=FileStore(path), --store DIR or M2MAUTH_HOME).",
            ) from None

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _has_soft_fallback() -> bool:
    import inspect

    from filelock import FileLock

    return "fallback_to_soft" in inspect.signature(FileLock.__init__).parameters


_HAS_SOFT_FALLBACK = _has_soft_fallback()


def _unsupported(path: Path, exc: OSError | None) -> TransportError:
    reason = f" ({exc.strerror})" if exc is not None and exc.strerror else ""
    return TransportError(
        f"the file system of {path.parent} does not support file locks{reason}",
        code="lock_unsupported",
        hint="Put the token store on a local disk (store=FileStore('/local/path'), --store DIR or "
        "M2MAUTH_HOME), or use RedisStore to share tokens between machines.",
    )


class FileStore:
    """Tokens in files (mode 0600, in a 0700 folder), replaced atomically, guarded by a cross-process lock.

    ``FileStore()`` is the user cache folder (``$M2MAUTH_HOME/cache``); it is a cache, so a rotated
    refresh token is also kept in the data folder (``durable`` is False). ``FileStore(path)`` is a
    folder you chose, trusted to keep refresh tokens. P processes sharing a FileStore make one
    token request per token lifetime between them.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        check_options(path=path)
        try:
            self.path = Path(path).expanduser() if path is not None else default_home()
        except RuntimeError:  # "~user" with no such user
            raise ConfigError(f"the token store path cannot be expanded: {path!r}", code="invalid_store") from None
        self.durable = path is not None
        self._default = path is None
        self._locks: dict[str, _FileLock] = {}
        self._guard = threading.Lock()
        self._ready = False
        self._migrated = False

    def fingerprint_key(self) -> bytes:
        self._prepare()
        return key_from_file(self.path)

    def _migrate(self) -> None:
        """Once per store object, before its first read or write: the default folders take over
        the files of m2mauth 0.1's single store (folders.migrate_legacy, itself once per home)."""
        if self._migrated:
            return
        self._migrated = True
        if self._default or self.path == data_dir():
            migrate_legacy()

    def _prepare(self) -> None:
        if self._ready:
            return
        self._migrate()
        try:
            for folder in (self.path, self.path / "tokens", self.path / "locks"):
                make_private_dir(folder)
        except OSError as exc:  # a file in the way, no permission, a name too long
            raise ConfigError(
                f"cannot create the token store {self.path}: {exc.strerror or type(exc).__name__}",
                code="store_unwritable",
                hint="Use a folder you can write to (store=FileStore(path), --store DIR or M2MAUTH_HOME).",
            ) from None
        self._ready = True

    def _token_path(self, key: str) -> Path:
        return self.path / "tokens" / f"{_file_name(key)}.json"

    def get(self, key: str) -> Token | None:
        self._migrate()
        try:
            text = self._token_path(key).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise ConfigError(
                f"cannot read the token store {self.path}: {exc.strerror}", code="store_unreadable"
            ) from None
        try:
            return token_from_record(json.loads(text))
        except (ValueError, RecursionError):
            return None  # never happens with atomic replace; a hand-edited file is treated as empty

    def put(self, key: str, token: Token) -> None:
        self._prepare()
        target = self._token_path(key)
        data = json.dumps({"key": _file_name(key), **token_to_record(token)}, indent=1).encode("utf-8")
        try:
            write_private(target, data)  # atomic: readers see the old record or the new one, never half
        except OSError as exc:
            raise ConfigError(
                f"cannot write to the token store {self.path}: {exc.strerror or type(exc).__name__}",
                code="store_unwritable",
                hint="Use a folder you can write to (store=FileStore(path), --store DIR or M2MAUTH_HOME).",
            ) from None
        _remove_stale_temporaries(target.parent)

    def delete(self, key: str) -> None:
        self._migrate()
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # as get(): nothing stored there
            self._token_path(key).unlink()

    def lock(self, key: str, timeout: float = LOCK_TIMEOUT) -> _FileLock:
        self._prepare()
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = _FileLock(self.path / "locks" / f"{_file_name(key)}.lock", timeout)
        lock.timeout = timeout
        return lock

    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path), "default": self._default}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]
        self._default = bool(state.get("default"))
        self.durable = not self._default

    def __repr__(self) -> str:
        return f"<FileStore {self.path}>"


STALE_TEMPORARY = 300.0  # seconds; no put keeps its temporary file open anywhere near this long


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a writer killed mid-put (they hold a token record)."""
    limit = time.time() - STALE_TEMPORARY
    for leftover in folder.glob(".tmp-*.json"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < limit:
                leftover.unlink()


def data_store() -> FileStore:
    """The FileStore in the user data folder (``$M2MAUTH_HOME/data``): where ``login()`` keeps its
    refresh token, so a cache clean never logs anyone out."""
    return FileStore(data_dir())


_T = TypeVar("_T")


class RedisStore:
    """Tokens in Redis, for workers on several machines; a Redis lock lets one worker refresh for all.

    Needs the optional extra ``m2mauth[redis]``. Redis unreachable or refusing is an M2MAuthError
    (``store_unavailable``) naming the URL's host, never the password in it.
    """

    durable = True

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "m2mauth:") -> None:
        # Checked here, not at first use: RedisStore(42) would otherwise fail later inside redis-py.
        if not isinstance(url, str) or not url.strip():
            given = "empty text" if isinstance(url, str) else type(url).__name__
            raise ConfigError(
                f"RedisStore url= must be a redis:// URL, not {given}",
                code="invalid_store",
                hint="Give a URL such as redis://host:6379/0 or rediss://:password@host:6380/0.",
            )
        if not isinstance(prefix, str):
            raise ConfigError(
                f"RedisStore prefix= must be text, not {type(prefix).__name__}",
                code="invalid_store",
                hint="Give a key prefix such as 'm2mauth:' (the default).",
            )
        self.url, self.prefix = url, prefix
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import redis  # type: ignore[import-not-found,unused-ignore]
            except ImportError:
                raise ConfigError(
                    "RedisStore needs the redis package", code="missing_dependency", hint="pip install 'm2mauth[redis]'"
                ) from None
            try:
                self._client = redis.Redis.from_url(self.url, socket_timeout=10, socket_connect_timeout=10)
            except ValueError:  # a URL redis cannot read; its message may quote the password
                raise ConfigError(
                    f"RedisStore cannot read its URL (host {self._where()})",
                    code="invalid_store",
                    hint="Give a URL such as redis://host:6379/0 or rediss://:password@host:6380/0.",
                ) from None
        return self._client

    def _where(self) -> str:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(self.url)
            return f"{parts.hostname or '?'}:{parts.port or 6379}"
        except ValueError:
            return "?"

    def _call(self, what: str, action: Callable[[], _T]) -> _T:
        """Run one Redis command; its failures become a store_unavailable M2MAuthError."""
        _ = self.client  # created (or refused with its own message) outside the Redis error translation
        try:
            return action()
        except M2MAuthError:
            raise
        except Exception as exc:
            import redis

            if not isinstance(exc, redis.exceptions.RedisError):
                raise
            down = isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))
            raise TransportError(
                f"the Redis token store at {self._where()} is {'unreachable' if down else 'refusing'} "
                f"({type(exc).__name__}) while trying to {what}",
                code="store_unavailable",
                hint="Check that Redis runs and the URL (host, port, password) is right, or pass another store= "
                "(FileStore() for one machine).",
            ) from None

    def fingerprint_key(self) -> bytes:
        # One random key per Redis prefix, set once (NX) by whoever comes first: every worker agrees.
        name = self.prefix + "fingerprint-key"
        self._call("create its fingerprint key", lambda: self.client.set(name, secrets.token_bytes(KEY_BYTES), nx=True))
        key = self._call("read its fingerprint key", lambda: self.client.get(name))
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise ConfigError(
                f"the Redis key {name} is not an m2mauth fingerprint key", code="invalid_store", hint=f"Delete {name}."
            )
        return key

    def _key(self, key: str) -> str:
        return self.prefix + "token:" + _file_name(key)

    def get(self, key: str) -> Token | None:
        raw = self._call("read a token", lambda: self.client.get(self._key(key)))
        if raw is None:
            return None
        try:
            return token_from_record(json.loads(raw))
        except (ValueError, RecursionError):
            return None

    def put(self, key: str, token: Token) -> None:
        record = token_to_record(token)
        ttl = None
        ends = [v for v in (record["expires_at"], record["refresh_expires_at"]) if v]
        if ends and not record["refresh_token"]:
            ttl = max(1, int(max(ends) - time.time()) + 60)
        self._call("store a token", lambda: self.client.set(self._key(key), json.dumps(record), ex=ttl))

    def delete(self, key: str) -> None:
        self._call("delete a token", lambda: self.client.delete(self._key(key)))

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        # The lock expires by itself if its holder dies (timeout), so a killed worker cannot block the rest.
        lock = self.client.lock(self.prefix + "lock:" + _file_name(key), timeout=timeout, blocking_timeout=timeout)
        if not self._call("take its lock", lock.acquire):
            raise TransportError(f"timed out after {timeout:g} s waiting for the Redis token lock", code="lock_timeout")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                lock.release()

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "prefix": self.prefix}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], prefix=state["prefix"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<RedisStore {self.prefix}*>"
