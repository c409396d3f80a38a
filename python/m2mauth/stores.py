"""Where tokens are kept between calls, threads, processes and machines.

A store holds token records only — access token, expiry, refresh token — never keys, client
secrets or passwords. Each store also offers a lock per key, so that one refresher at a time
works for everyone sharing it: threads (MemoryStore), processes on one machine (FileStore),
workers anywhere (RedisStore).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .arguments import check_options
from .errors import ConfigError, TransportError
from .tokens import Token

__all__ = ["FileStore", "MemoryStore", "RedisStore", "Store", "default_home", "token_from_record", "token_to_record"]

LOCK_TIMEOUT = 60.0


def token_to_record(token: Token) -> dict[str, Any]:
    def epoch(value: datetime | None) -> float | None:
        return value.timestamp() if value is not None else None

    return {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_at": epoch(token.expires_at),
        "issued_at": epoch(token.issued_at),
        "refresh_token": token.refresh_token,
        "refresh_expires_at": epoch(token.refresh_expires_at),
        "scope": token.scope,
    }


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

    return Token(
        access_token=record["access_token"],
        token_type=text("token_type") or "Bearer",
        expires_at=when("expires_at"),
        refresh_token=text("refresh_token"),
        scope=text("scope"),
        refresh_expires_at=when("refresh_expires_at"),
        issued_at=when("issued_at"),
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
    """M2MAUTH_HOME, else the user cache directory of the platform."""
    if os.environ.get("M2MAUTH_HOME"):
        return Path(os.environ["M2MAUTH_HOME"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "m2mauth" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "m2mauth"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "m2mauth"


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class _FileLock:
    """An exclusive lock on a file, held across processes (fcntl on POSIX, msvcrt on Windows).

    The OS releases it when the holder dies, even by SIGKILL: no stale lock files to clean up.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        self.fd: int | None = None
        self._thread_lock = threading.Lock()  # flock is per open file: threads need their own guard

    def __enter__(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not self._thread_lock.acquire(timeout=self.timeout):
            raise TransportError("timed out waiting for the token store lock", code="lock_timeout")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        delay = 0.001
        while True:
            try:
                _lock_fd(fd)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    self._thread_lock.release()
                    raise TransportError(
                        f"timed out after {self.timeout:g} s waiting for the token store lock {self.path}",
                        code="lock_timeout",
                        hint="Another process holds it; it is released when that process ends.",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                _unlock_fd(fd)
            finally:
                os.close(fd)
                self._thread_lock.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]

    def _unlock_fd(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileStore:
    """Tokens in files (mode 0600, in a 0700 folder), replaced atomically, guarded by a cross-process lock.

    P processes sharing a FileStore make one token request per token lifetime between them.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        check_options(path=path)
        try:
            self.path = Path(path).expanduser() if path is not None else default_home()
        except RuntimeError:  # "~user" with no such user
            raise ConfigError(f"the token store path cannot be expanded: {path!r}", code="invalid_store") from None
        self._locks: dict[str, _FileLock] = {}
        self._guard = threading.Lock()
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        try:
            for folder in (self.path, self.path / "tokens", self.path / "locks"):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                if sys.platform != "win32" and folder.stat().st_mode & 0o077:
                    os.chmod(folder, 0o700)
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
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target.parent)
        try:
            os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(tmp, target)  # atomic: readers see the old record or the new one, never half
            _fsync_dir(target.parent)
        finally:
            if fd != -1:
                os.close(fd)
            if os.path.exists(tmp):
                os.unlink(tmp)
        _remove_stale_temporaries(target.parent)

    def delete(self, key: str) -> None:
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
        return {"path": str(self.path)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

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


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RedisStore:
    """Tokens in Redis, for workers on several machines; a Redis lock lets one worker refresh for all.

    Needs the optional extra ``m2mauth[redis]``.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "m2mauth:") -> None:
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
            self._client = redis.Redis.from_url(self.url, socket_timeout=10, socket_connect_timeout=10)
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + "token:" + _file_name(key)

    def get(self, key: str) -> Token | None:
        raw = self.client.get(self._key(key))
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
        self.client.set(self._key(key), json.dumps(record), ex=ttl)

    def delete(self, key: str) -> None:
        self.client.delete(self._key(key))

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        # The lock expires by itself if its holder dies (timeout), so a killed worker cannot block the rest.
        lock = self.client.lock(self.prefix + "lock:" + _file_name(key), timeout=timeout, blocking_timeout=timeout)
        if not lock.acquire():
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
