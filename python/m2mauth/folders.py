"""Where m2mauth keeps files: the user cache folder (access tokens) and the user data folder
(refresh tokens, keys for fingerprints), found with platformdirs.

Access tokens are a cache: deleting them costs one token request. Refresh tokens are
credentials (a rotated one cannot be fetched again), so they live in the data folder, which
"clean the cache" tools leave alone. ``M2MAUTH_HOME`` overrides both: ``$M2MAUTH_HOME/cache``
and ``$M2MAUTH_HOME/data``.

Before platformdirs, ``M2MAUTH_HOME`` (or the cache folder) held the token store directly;
:func:`migrate_legacy` moves those files once, on first use, without overwriting anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "MIGRATED_MARKER", "cache_dir", "data_dir", "legacy_dir", "migrate_legacy", "write_private"]

APP_NAME = "m2mauth"
MIGRATED_MARKER = ".migrated-from-legacy-v1"


def _home() -> Path | None:
    value = os.environ.get("M2MAUTH_HOME")
    if not value:
        return None
    try:
        return Path(value).expanduser().absolute()
    except RuntimeError:  # "~user" with no such user: used as written
        return Path(value).absolute()


def _xdg(found: str, variable: str, default: Path) -> Path:
    """platformdirs' answer, unless it came from a relative XDG variable: the XDG Base Directory
    spec says such a value is invalid and must be ignored (else tokens would land under the cwd)."""
    path = Path(found)
    if path.is_absolute():
        return path
    if sys.platform not in ("win32", "darwin") and os.environ.get(variable):
        return default / APP_NAME
    return path.absolute()


def cache_dir() -> Path:
    """The folder for access tokens: ``$M2MAUTH_HOME/cache``, else the platform's user cache folder."""
    home = _home()
    if home is not None:
        return home / "cache"
    found = platformdirs.user_cache_dir(APP_NAME, appauthor=False)
    return _xdg(found, "XDG_CACHE_HOME", Path.home() / ".cache")


def data_dir() -> Path:
    """The folder for refresh tokens: ``$M2MAUTH_HOME/data``, else the platform's user data folder."""
    home = _home()
    if home is not None:
        return home / "data"
    found = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return _xdg(found, "XDG_DATA_HOME", Path.home() / ".local" / "share")


def legacy_dir() -> Path:
    """Where m2mauth up to 0.x kept its one token store (``M2MAUTH_HOME`` itself, or the cache folder)."""
    home = _home()
    if home is not None:
        return home
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    xdg = os.environ.get("XDG_CACHE_HOME") or ""
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / APP_NAME


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` mode 0700, and any missing parent 0700 too (e.g. ``M2MAUTH_HOME`` itself;
    a parent that exists is not ours to change); tighten ``folder`` if it exists with wider rights."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    for parent in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            parent.mkdir(mode=0o700)
    if sys.platform != "win32" and folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)


def write_private(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (a temporary file renamed over it), mode 0600.

    Readers see the old content or the new one, never half; a crash leaves at most a ``.tmp-``
    file, which FileStore removes later.
    """
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if fd != -1:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _holds_refresh_token(path: Path) -> bool:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(record, dict) and isinstance(record.get("refresh_token"), str) and bool(record["refresh_token"])


def migrate_legacy() -> None:
    """Move the files of the old single store into the new folders, once, losing none.

    Every token file goes to the cache folder (unless that is where it already is); a record
    holding a refresh token is also copied to the data folder, where ``login()`` now keeps
    them. Nothing existing is overwritten (a newer file wins); a file that cannot be moved
    stays where it was. A marker in the data folder says it is done.
    """
    from filelock import FileLock, Timeout

    legacy, cache, data = legacy_dir(), cache_dir(), data_dir()
    old_tokens = legacy / "tokens"
    if (data / MIGRATED_MARKER).exists() or not old_tokens.is_dir():
        return
    try:
        for folder in (cache, cache / "tokens", data, data / "tokens"):
            make_private_dir(folder)
        lock = FileLock(str(data / ".migrate.lock"), timeout=30, mode=0o600)
        with lock:
            if (data / MIGRATED_MARKER).exists():
                return  # another process did it while we waited
            moved = old_tokens.resolve() != (cache / "tokens").resolve()
            for old in sorted(old_tokens.glob("*.json")):
                if old.name.startswith(".tmp-"):
                    continue
                if _holds_refresh_token(old) and not (data / "tokens" / old.name).exists():
                    write_private(data / "tokens" / old.name, old.read_bytes())
                if moved:
                    new = cache / "tokens" / old.name
                    if not new.exists():
                        shutil.move(str(old), str(new))
            if moved:
                for extra in legacy.glob("*.json"):  # the CLI's labels of stored tokens
                    if not (cache / extra.name).exists():
                        shutil.move(str(extra), str(cache / extra.name))
            write_private(data / MIGRATED_MARKER, b"{}\n")
    except (OSError, Timeout):
        # A read-only or locked old folder must not stop anyone from getting a token: the old
        # files stay where they are and the next run tries again.
        with contextlib.suppress(Exception):
            import logging

            logging.getLogger("m2mauth").warning("could not move the old token store %s; will retry", legacy)
