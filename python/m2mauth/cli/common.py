"""What every command shares: exit codes, the argument parser class, the output console that masks
secrets, reading secrets and JWTs from stdin, and the credential options turned into keywords."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import re
import sys
from typing import Any, NoReturn, TextIO

from .. import progress
from ..credentials import CREDENTIAL_NAMES, clean_secret
from ..errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_TRANSPORT = 4
EXIT_OTHER = 5

DEFAULT_TIMEOUT = 30.0
DOCTOR_TIMEOUT = 10.0
#: Options whose values are secrets: they may be read from stdin ('-') and are masked in all output.
SECRET_OPTIONS = (
    "client_secret",
    "secret",
    "password",
    "refresh_token",
    "key_password",
    "application_token",
    "access_token",
    "totp",
    "subject_token",
)
#: Secrets that are fine on the command line: a one-time code is spent and stale within a minute.
ONE_TIME_OPTIONS = ("totp",)
#: Secret values shorter than this are not masked in free text (they would garble it); none is that short in practice.
MIN_MASKED = 6
LABELS_FILE = "cli-labels.json"

EXIT_CODES_TEXT = """\
exit status:
  0  ok
  1  a check failed (doctor, inspect, vectors verify) or the token endpoint refused
  2  usage error
  3  configuration error (bad input, key file, credentials, profile)
  4  transport error (network, timeout, TLS, proxy)
  5  interrupted, or any other error
"""


class UsageError(Exception):
    """Bad command-line use: exit status 2."""

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


_UNRECOGNIZED = "unrecognized arguments: "
_OPTION_NAME = re.compile(r"--?[A-Za-z][A-Za-z0-9_-]*")


def _without_values(message: str) -> str:
    """argparse lists unrecognized arguments as given, and the value after a mistyped option name may be a
    secret (``--clientsecret S3CRET``): only option names are shown."""
    if not message.startswith(_UNRECOGNIZED):
        return message
    words: list[str] = []
    for word in message[len(_UNRECOGNIZED) :].split(" "):
        name, equals, _ = word.partition("=")
        shown = name + ("=<redacted>" if equals else "") if _OPTION_NAME.fullmatch(name) else "<redacted>"
        if not (shown == "<redacted>" and words and words[-1] == "<redacted>"):
            words.append(shown)
    return _UNRECOGNIZED + " ".join(words) + " (values are not shown)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become UsageError (so main() can print them its own way)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(_without_values(message), self.prog)


#: The library keywords that have a CLI option of the same name (dashes for underscores).
CLI_KEYWORDS = (
    *CREDENTIAL_NAMES,
    "auth_method",
    "flow",
    "timeout",
    "basic_encoding",
    "keep_refresh_token",
    "validity_period",
    "jwt",
    "send",
    "json_body",
)
# "name=" as hints write it ("pass token_url= (...)", "timeout=.", "basic_encoding='raw'"), but not inside a
# URL's query ("?client_id=x"): a space, '(' or '`' before it, and a literal or no value after it.
_KEYWORD_IN_HINT = re.compile(
    r"(?<![^\s(`])(" + "|".join(CLI_KEYWORDS) + r")=(?:'([^'\s]*)'|\"([^\"\s]*)\"|(True|False)\b|(?=[\s).,;:`]|$))"
)
_OPTION_TWICE = re.compile(r"(--[a-z][a-z-]*) \(\1\)")


def _as_option(match: re.Match[str]) -> str:
    option = "--" + match.group(1).replace("_", "-")
    value = match.group(2) if match.group(2) is not None else match.group(3)
    if match.group(4) == "False":
        return "--no-" + option[2:]
    return f"{option} {value}" if value else option


def cli_words(text: str) -> str:
    """Text written for Python callers ("pass key_password="), told the CLI way ("pass --key-password"):
    the CLI's hints name its options, not the library's keywords."""
    return _OPTION_TWICE.sub(r"\1", _KEYWORD_IN_HINT.sub(_as_option, text))


class Console:
    """Where the CLI writes: every line passes a filter that masks the secrets it knows of."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.command = "m2mauth"

    def add_secret(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= MIN_MASKED and value not in self.secrets:
            self.secrets.append(value)
            self.secrets.sort(key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    # Each write first erases a progress line on the terminal (m2mauth.progress), so the two never mix.
    def out(self, text: str = "") -> None:
        progress.clear()
        sys.stdout.write(writable(sys.stdout, self.scrub(text)) + "\n")

    def err(self, text: str) -> None:
        progress.clear()
        sys.stderr.write(writable(sys.stderr, self.scrub(text)) + "\n")

    def secret_out(self, text: str) -> None:
        """Write what the user asked for and may be a secret itself (the access token)."""
        progress.clear()
        sys.stdout.write(writable(sys.stdout, text) + "\n")

    def error(self, code: str, message: str, hint: str | None) -> None:
        self.err(f"error [{code}]: {cli_words(message)}")
        if hint:
            self.err(f"hint: {cli_words(hint)}")


def can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def writable(stream: TextIO, text: str) -> str:
    """Text the stream can encode: what it cannot (a path's undecodable bytes, kept by Python as lone
    surrogates; non-ASCII on an ASCII console) is backslash-escaped, as Python's own stderr does."""
    if can_encode(stream, text):
        return text
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=not can_encode(sys.stdout, "✓é"), default=str)


# -- reading arguments ---------------------------------------------------------------------------


def read_stdin_line(option: str) -> str:
    if sys.stdin is None:
        raise UsageError(f"{option} -: there is no stdin to read from")
    try:
        if sys.stdin.isatty():
            value = getpass.getpass(f"{option}: ")
        else:
            value = sys.stdin.readline()
    except UnicodeDecodeError:  # bytes that are not UTF-8
        raise UsageError(f"{option} -: stdin is not UTF-8 text") from None
    # The line break `echo` and files add is dropped; other whitespace is kept, with a warning (never the value).
    value = clean_secret(value, option[2:].replace("-", "_"), "stdin")
    if not value:
        raise UsageError(f"{option} -: stdin gave an empty line")
    return _utf8_text(value, f"{option} -")


def read_stdin_all(what: str) -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"{what}: give it as an argument, or pipe it to stdin with '-'")
    try:
        return _utf8_text(sys.stdin.read().strip(), what)
    except UnicodeDecodeError:
        raise UsageError(f"{what}: stdin is not UTF-8 text") from None


def _utf8_text(value: str, what: str) -> str:
    """Stdin text that can be sent: lone surrogates (undecodable bytes, PEP 383) are refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what}: stdin is not UTF-8 text") from None
    return value


def credentials_from(args: argparse.Namespace, console: Console, *, stdin_taken: str | None = None) -> dict[str, Any]:
    """The credential keywords given as options; '-' values read from stdin (only one may)."""
    found: dict[str, Any] = {}
    reader = stdin_taken
    for name in CREDENTIAL_NAMES:
        value = getattr(args, name, None)
        if value is None:
            continue
        option = "--" + name.replace("_", "-")
        if name in SECRET_OPTIONS and value == "-":
            if reader is not None:
                raise UsageError(f"{option} - and {reader} - both ask for stdin; only one value can come from stdin")
            value = read_stdin_line(option)
            reader = option
        elif name in SECRET_OPTIONS and name not in ONE_TIME_OPTIONS:
            console.err(
                f"warning: {option} on the command line is visible to other users (ps) and stays in your shell "
                f"history; prefer '{option} -' (stdin) or the provider's environment variable"
            )
        found[name] = value
        if name in SECRET_OPTIONS:
            console.add_secret(value)
    profile = getattr(args, "profile", None)
    register_environment_secrets(console, profile if isinstance(profile, str) else None)
    return found


def register_environment_secrets(console: Console, profile: str | None) -> None:
    """Mask the secrets the core may read from the environment, in case some text ever echoes one."""
    variables = [f"M2MAUTH_{name.upper()}" for name in SECRET_OPTIONS]
    if profile:
        from ..profiles import load_profile

        try:
            prof = load_profile(profile)
        except ConfigError:
            prof = None
        if prof is not None:
            variables += [v for name in SECRET_OPTIONS for v in prof.env.get(name, ())]
    for variable in variables:
        console.add_secret(os.environ.get(variable))


def timeout_from(args: argparse.Namespace, default: float) -> float:
    value = getattr(args, "timeout", None)
    if value is None:
        return default
    if not (value > 0 and math.isfinite(value)):  # inf would overflow the socket's timeout
        raise UsageError("--timeout must be a positive number of seconds")
    return float(value)


def duration(seconds: float) -> str:
    whole = int(abs(seconds))
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 3 * 86400:
        return f"{whole / 3600:.1f} h"
    return f"{whole / 86400:.1f} d"
