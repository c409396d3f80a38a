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
import re
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
    machine: str | None = None  # netrc: the entry to read (EDL: urs.earthdata.nasa.gov)

    @property
    def provides(self) -> tuple[str, ...]:
        """The credential keywords a file of this format can give."""
        return _PROVIDES[self.format]

    def location(self, environ: Mapping[str, str]) -> tuple[Path, str | None]:
        """The file to read, and the environment variable that chose it (None: the default path)."""
        if self.path_variable and environ.get(self.path_variable):
            return _expand(environ[self.path_variable], environ), self.path_variable
        default = _expand(self.path, environ)
        if self.format == "netrc" and os.name == "nt" and default.name == ".netrc":
            default = default.with_name("_netrc")  # curl's and Python's name for it on Windows
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


def _netrc_tokens(text: str) -> list[tuple[int, str]]:
    """The words of a .netrc file with their line numbers (quoted words keep their spaces);
    ``macdef`` bodies (up to a blank line) are skipped, as ftp and curl do."""
    words: list[tuple[int, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number, line = index + 1, lines[index]
        index += 1
        for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\S+)', line):
            word = match.group(1) if match.group(1) is not None else match.group(2)
            if match.group(2) is not None and word.startswith("#") and not words_on_line(words, number):
                break  # a comment line
            words.append((number, word))
        if words and words[-2:-1] and words[-2][1] == "macdef" and words[-2][0] == number:
            while index < len(lines) and lines[index].strip():
                index += 1
    return words


def words_on_line(words: list[tuple[int, str]], number: int) -> bool:
    return bool(words) and words[-1][0] == number


def _parse_netrc(path: Path, text: str, machine: str | None) -> FileCredentials | None:
    """``login`` and ``password`` of ``machine`` (else of ``default``); None when neither is there."""
    hint = f"Each entry is: machine {machine} login NAME password PASSWORD (see `man netrc`)."
    words = _netrc_tokens(text)
    entries: dict[str, dict[str, tuple[int, str]]] = {}
    current: dict[str, tuple[int, str]] | None = None
    position = 0
    while position < len(words):
        number, word = words[position]
        if word == "machine" or word == "default":
            if word == "machine":
                if position + 1 >= len(words):
                    raise _malformed(path, number, "'machine' without a name", hint)
                name = words[position + 1][1]
                position += 1
            else:
                name = ""
            current = entries.setdefault(name, {})
        elif word in ("login", "password", "account"):
            if current is None:
                raise _malformed(path, number, f"'{word}' before any 'machine'", hint)
            if position + 1 >= len(words):
                raise _malformed(path, number, f"'{word}' without a value", hint)
            current.setdefault(word, (number, words[position + 1][1]))
            position += 1
        elif word == "macdef":
            position += 1  # its name; the body was skipped by the tokenizer
        position += 1
    entry = entries.get(machine or "") or entries.get("")
    if entry is None:
        return None
    if "login" not in entry or "password" not in entry:
        where = next(iter(entry.values()))[0] if entry else None
        raise _malformed(path, where, f"the entry for {machine} lacks its login or password", hint)
    values = {"username": entry["login"][1], "password": entry["password"][1]}
    return FileCredentials(path, values, {"username": entry["login"][0], "password": entry["password"][0]})


_PARSERS: dict[str, Callable[[Path, str], FileCredentials]] = {"eumdac": _parse_eumdac, "maap": _parse_maap}
_PROVIDES: dict[str, tuple[str, ...]] = {
    "eumdac": ("client_id", "client_secret"),
    "maap": tuple(MAAP_NAMES.values()),
    "netrc": ("username", "password"),
}
#: The formats a profile's credential_file may name (the schema's enum lists the same words).
FORMATS = (*_PARSERS, "netrc")


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
    if spec.format == "netrc":  # one file, many machines: the profile names its entry
        netrc_found = _parse_netrc(path, text, spec.machine)
        if netrc_found is None:
            log.debug("%s has no entry for %s", path, spec.machine)
            return None
        found = netrc_found
    else:
        found = _PARSERS[spec.format](path, text)
    log.debug("credentials %s read from %s", ", ".join(sorted(found.values)), path)
    return found
