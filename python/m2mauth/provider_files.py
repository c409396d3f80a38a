"""Credentials from the files the provider's own tools keep (eumdac, maap_client; ``.netrc`` later).

"One call" should work for people who already set up the provider's tool: EUMETSAT's eumdac
keeps ``~/.eumdac/credentials`` (one line ``key,secret``), ESA MAAP's client keeps
``~/.maap/credentials.txt`` (``CLIENT_ID=``, ``CLIENT_SECRET=``, ``OFFLINE_TOKEN=`` lines). A
profile names its file with a ``credential_file`` member: the ``format`` (which parser), the
default ``path``, and the environment variable that moves it (``path_variable`` names the file,
``folder_variable`` the folder holding a file of the same name). A new format (``netrc``) is one
more parser in ``_PARSERS`` and one more word in the schema's enum.

The rules, as ``.netrc`` users expect them:

- read only, never written; used only for credentials no keyword and no environment variable
  gives (credentials.py decides that);
- a file that group or others may read (or that another user owns) is refused, with
  ``chmod 600`` in the hint;
- every malformed file is a ConfigError naming the file and the line, never a value.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

__all__ = ["FORMATS", "CredentialFile", "FileCredentials", "read_credential_file"]

log = logging.getLogger("m2mauth")

#: Larger files are not credential files (and are not read into memory).
MAX_SIZE = 64 * 1024
#: maap_client's names and the credential keyword each one gives.
MAAP_NAMES = {"CLIENT_ID": "client_id", "CLIENT_SECRET": "client_secret", "OFFLINE_TOKEN": "refresh_token"}


@dataclass(frozen=True)
class CredentialFile:
    """A profile's ``credential_file`` member: where the provider's tool keeps credentials, and how."""

    format: str
    path: str
    path_variable: str | None = None
    folder_variable: str | None = None

    @property
    def provides(self) -> tuple[str, ...]:
        """The credential keywords a file of this format can give."""
        return _PROVIDES[self.format]

    def location(self, environ: Mapping[str, str]) -> tuple[Path, str | None]:
        """The file to read, and the environment variable that chose it (None: the default path)."""
        if self.path_variable and environ.get(self.path_variable):
            return _expand(environ[self.path_variable], environ), self.path_variable
        default = _expand(self.path, environ)
        if self.folder_variable and environ.get(self.folder_variable):
            return _expand(environ[self.folder_variable], environ) / default.name, self.folder_variable
        return default, None


@dataclass(frozen=True, repr=False)
class FileCredentials:
    """What one file gave: credential keyword -> value, and the line each came from."""

    path: Path
    values: Mapping[str, str]
    lines: Mapping[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:  # values are secrets: only their names are shown
        return f"FileCredentials({str(self.path)!r}, {sorted(self.values)})"


def _expand(text: str, environ: Mapping[str, str]) -> Path:
    # "~" follows the HOME of the environment given (tests and callers pass their own).
    if text == "~" or text.startswith("~/"):
        home = environ.get("HOME") or os.path.expanduser("~")
        return Path(home, text[2:]) if len(text) > 1 else Path(home)
    return Path(text).expanduser()


def _malformed(path: Path, line: int | None, what: str, hint: str) -> ConfigError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return ConfigError(f"credential file {where}: {what}", code="invalid_credential_file", hint=hint)


def _check_private(path: Path, info: os.stat_result) -> None:
    """Refuse a file others may read, or one another user owns (POSIX only: Windows has ACLs)."""
    if os.name != "posix":
        return
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"credential file {path} may be read by other users (mode {stat.S_IMODE(info.st_mode):03o})",
            code="credential_file_permissions",
            hint=f"Make it private to you: chmod 600 {path} (m2mauth never uses a secret others can read).",
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(
            f"credential file {path} belongs to another user",
            code="credential_file_permissions",
            hint=f"Use a file you own (chown $(id -un) {path}; chmod 600 {path}), or pass the credentials as keywords.",
        )


def _read_text(path: Path) -> str | None:
    """The file's text after the privacy check on the opened file itself; None when it does not exist."""
    try:
        handle = open(path, "rb")  # closed by the with below; fstat needs the open file
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise _malformed(path, None, "is a folder", "Point the variable at the file, not its folder.") from None
    except OSError as exc:
        raise ConfigError(
            f"credential file {path} cannot be read ({exc.strerror or type(exc).__name__})",
            code="invalid_credential_file",
            hint="Check that the file is yours and readable by you (chmod 600).",
        ) from None
    with handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _malformed(path, None, "is not a regular file", "Point it at the credentials file itself.")
        _check_private(path, info)
        data = handle.read(MAX_SIZE + 1)
    if len(data) > MAX_SIZE:
        raise _malformed(path, None, f"is larger than {MAX_SIZE // 1024} KiB", "This is not a credentials file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _malformed(path, line, "is not UTF-8 text", "Save the file as UTF-8 (plain text).") from None


def _numbered(text: str) -> list[tuple[int, str]]:
    """Non-blank lines, stripped, with their 1-based numbers."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _parse_eumdac(path: Path, text: str) -> FileCredentials:
    hint = "eumdac writes one line: key,secret (run `eumdac set-credentials KEY SECRET`, or fix the file)."
    lines = _numbered(text)
    if not lines:
        raise _malformed(path, None, "is empty", hint)
    if len(lines) > 1:
        raise _malformed(path, lines[1][0], "a second line (expected one line: key,secret)", hint)
    number, line = lines[0]
    parts = line.split(",")
    if len(parts) != 2:
        raise _malformed(path, number, f"expected key,secret (one comma), found {len(parts) - 1} commas", hint)
    key, secret = parts[0].strip(), parts[1].strip()
    if not key or not secret:
        raise _malformed(path, number, "the key or the secret is empty", hint)
    values = {"client_id": key, "client_secret": secret}
    return FileCredentials(path, values, dict.fromkeys(values, number))


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _parse_maap(path: Path, text: str) -> FileCredentials:
    hint = "Each line is NAME=VALUE with NAME one of " + ", ".join(MAAP_NAMES) + " (as maap_client reads it)."
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in _numbered(text):
        if line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), _unquote(value.strip())
        if not sep or not name:
            raise _malformed(path, number, "expected NAME=VALUE", hint)
        keyword = MAAP_NAMES.get(name)
        if keyword is None:
            log.warning("credential file %s, line %d: unknown name %r is ignored", path, number, name[:40])
            continue
        if keyword in values:
            raise _malformed(path, number, f"{name} is given twice (first on line {lines[keyword]})", hint)
        if not value:
            raise _malformed(path, number, f"{name} is empty", hint)
        values[keyword], lines[keyword] = value, number
    if not values:
        raise _malformed(path, None, "holds no credentials", hint)
    return FileCredentials(path, values, lines)


_PARSERS: dict[str, Callable[[Path, str], FileCredentials]] = {"eumdac": _parse_eumdac, "maap": _parse_maap}
_PROVIDES: dict[str, tuple[str, ...]] = {
    "eumdac": ("client_id", "client_secret"),
    "maap": tuple(MAAP_NAMES.values()),
}
#: The formats a profile's credential_file may name (the schema's enum lists the same words).
FORMATS = tuple(_PARSERS)


def read_credential_file(spec: CredentialFile, environ: Mapping[str, str]) -> FileCredentials | None:
    """The credentials in the profile's file, or None when there is no file at the default path.

    A file named by an environment variable must exist (a wrong variable is a mistake to report).
    """
    path, variable = spec.location(environ)
    text = _read_text(path)
    if text is None:
        if variable is not None:
            raise ConfigError(
                f"credential file {path} (from {variable}) does not exist",
                code="invalid_credential_file",
                hint=f"Fix or unset {variable}, or pass the credentials as keywords.",
            )
        log.debug("no credential file at %s", path)
        return None
    found = _PARSERS[spec.format](path, text)
    log.debug("credentials %s read from %s", ", ".join(sorted(found.values)), path)
    return found
