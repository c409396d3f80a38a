"""The ``m2mauth`` command line: get a token, inspect a JWT, and find out why a token request fails.

Commands (``m2mauth COMMAND --help`` shows each one's options and an example)::

    m2mauth token    PROFILE [credentials] [--header | --json [--show-secrets]] [--no-store | --store DIR]
    m2mauth inspect  [JWT | -] [--profile P] [--token-url URL] [--json]
    m2mauth doctor   PROFILE [credentials] [--jwt JWT|- [--send [--json-body]]] [--no-exchange] [--json]
    m2mauth login    PROFILE [credentials] [--store DIR]
    m2mauth logout   PROFILE [credentials] [--store DIR]
    m2mauth status   [PROFILE [credentials]] [--store DIR] [--json]
    m2mauth keygen   --kid KID [--out DIR] [--bits 2048] [--force]
    m2mauth profiles [list | show NAME] [--json]
    m2mauth vectors  verify [PATH]

Credential options use the library's keywords with dashes (``--service-key``, ``--client-id``,
``--client-secret``, ``--private-key``, ``--key-id``, ``--secret``, ``--email``, ``--username``,
``--password``, ``--refresh-token``, ``--scope``, ``--token-url``, ``--issuer``, ``--audience``,
``--key-password``) plus ``--auth-method`` and ``--flow``. Missing ones come from the provider's
environment variables (e.g. ``DT_SERVICE_ACCOUNT_SECRET``), then ``M2MAUTH_<NAME>``. A secret
value (client secret, secret, password, refresh token, key password) given as ``-`` is read from
stdin (one line; typed without echo on a terminal), which keeps it out of the shell history and
the process list.

Exit status (stable; scripts may rely on it):

    0  ok
    1  a check failed (doctor, inspect, vectors verify) or the token endpoint refused (TokenEndpointError)
    2  usage error (unknown command or option, missing argument)
    3  configuration error (ConfigError: bad input, key file, credentials, profile)
    4  transport error (TransportError: network, timeout, TLS, proxy)
    5  interrupted (Ctrl-C) or any other error

Every error prints ``error [code]: message`` and ``hint: ...`` on stderr, never a traceback (set
``M2MAUTH_DEBUG=1`` to get the traceback of an unexpected error).

Secrets are never echoed: the only secret ever written is the access token ``m2mauth token``
was asked for (and, with ``--json --show-secrets``, its refresh token). Everything else passes
through a filter that masks every secret value given as an option, on stdin or in the
provider's environment variables.

Why argparse rather than click: it is in the standard library, so the command line adds no
dependency to a package that R users install through reticulate, where every extra wheel is one
more thing to fail; it has what the CLI needs (subcommands, per-command ``--help`` with examples
through ``RawDescriptionHelpFormatter`` epilogs, exit status 2 for usage errors); and the CLI is
tested in-process with ``main(argv)``, which argparse supports as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import math
import os
import re
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import __version__
from .client_auth import AUTH_METHODS
from .credentials import CREDENTIAL_NAMES
from .errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_OTHER",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_TRANSPORT = 4
EXIT_OTHER = 5

DEFAULT_TIMEOUT = 30.0
DOCTOR_TIMEOUT = 10.0
#: Options whose values are secrets: they may be read from stdin ('-') and are masked in all output.
SECRET_OPTIONS = ("client_secret", "secret", "password", "refresh_token", "key_password")
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


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become UsageError (so main() can print them its own way)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(_without_values(message), self.prog)


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

    def out(self, text: str = "") -> None:
        sys.stdout.write(_writable(sys.stdout, self.scrub(text)) + "\n")

    def err(self, text: str) -> None:
        sys.stderr.write(_writable(sys.stderr, self.scrub(text)) + "\n")

    def secret_out(self, text: str) -> None:
        """Write what the user asked for and may be a secret itself (the access token)."""
        sys.stdout.write(_writable(sys.stdout, text) + "\n")

    def error(self, code: str, message: str, hint: str | None) -> None:
        self.err(f"error [{code}]: {message}")
        if hint:
            self.err(f"hint: {hint}")


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _writable(stream: TextIO, text: str) -> str:
    """Text the stream can encode: what it cannot (a path's undecodable bytes, kept by Python as lone
    surrogates; non-ASCII on an ASCII console) is backslash-escaped, as Python's own stderr does."""
    if _can_encode(stream, text):
        return text
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=not _can_encode(sys.stdout, "✓é"), default=str)


# -- reading arguments ---------------------------------------------------------------------------


def _read_stdin_line(option: str) -> str:
    if sys.stdin is None:
        raise UsageError(f"{option} -: there is no stdin to read from")
    try:
        if sys.stdin.isatty():
            value = getpass.getpass(f"{option}: ")
        else:
            value = sys.stdin.readline().rstrip("\r\n")
    except UnicodeDecodeError:  # bytes that are not UTF-8
        raise UsageError(f"{option} -: stdin is not UTF-8 text") from None
    if not value:
        raise UsageError(f"{option} -: stdin gave an empty line")
    return _utf8_text(value, f"{option} -")


def _read_stdin_all(what: str) -> str:
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


def _credentials(args: argparse.Namespace, console: Console, *, stdin_taken: str | None = None) -> dict[str, Any]:
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
            value = _read_stdin_line(option)
            reader = option
        elif name in SECRET_OPTIONS:
            console.err(
                f"warning: {option} on the command line is visible to other users (ps) and stays in your shell "
                f"history; prefer '{option} -' (stdin) or the provider's environment variable"
            )
        found[name] = value
        if name in SECRET_OPTIONS:
            console.add_secret(value)
    profile = getattr(args, "profile", None)
    _register_environment_secrets(console, profile if isinstance(profile, str) else None)
    return found


def _register_environment_secrets(console: Console, profile: str | None) -> None:
    """Mask the secrets the core may read from the environment, in case some text ever echoes one."""
    variables = [f"M2MAUTH_{name.upper()}" for name in SECRET_OPTIONS]
    if profile:
        from .profiles import load_profile

        try:
            prof = load_profile(profile)
        except ConfigError:
            prof = None
        if prof is not None:
            variables += [v for name in SECRET_OPTIONS for v in prof.env.get(name, ())]
    for variable in variables:
        console.add_secret(os.environ.get(variable))


def _timeout(args: argparse.Namespace, default: float) -> float:
    value = getattr(args, "timeout", None)
    if value is None:
        return default
    if not (value > 0 and math.isfinite(value)):  # inf would overflow the socket's timeout
        raise UsageError("--timeout must be a positive number of seconds")
    return float(value)


def _duration(seconds: float) -> str:
    whole = int(abs(seconds))
    if whole < 120:
        return f"{whole} s"
    if whole < 7200:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 3 * 86400:
        return f"{whole / 3600:.1f} h"
    return f"{whole / 86400:.1f} d"


# -- token ---------------------------------------------------------------------------------------


def _store(args: argparse.Namespace) -> Any:
    from .stores import FileStore, MemoryStore

    if getattr(args, "no_store", False):
        return MemoryStore()
    return FileStore(args.store) if getattr(args, "store", None) else FileStore()


def _labels_path(store: Any) -> Path:
    return Path(store.path) / LABELS_FILE


def _read_labels(store: Any) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(_labels_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


def _remember_label(store: Any, key: str, profile: str, flow: str) -> None:
    """Note which profile and flow a stored token belongs to (the store's file names are digests).

    Best effort: a lost label only makes ``status`` show '?' for that token.
    """
    from .stores import FileStore, _file_name

    if not isinstance(store, FileStore):
        return
    labels = _read_labels(store)
    labels[_file_name(key)] = {"profile": profile, "flow": flow}
    with contextlib.suppress(OSError):
        store.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-labels-", suffix=".json", dir=store.path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(labels, handle, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, _labels_path(store))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def cmd_token(args: argparse.Namespace, console: Console) -> int:
    from .source import TokenSource

    if args.show_secrets and not args.json:
        raise UsageError("--show-secrets only applies to --json (the token itself is printed anyway)")
    credentials = _credentials(args, console)
    store = _store(args)
    source = TokenSource(
        args.profile,
        store=store,
        flow=args.flow,
        auth_method=args.auth_method,
        timeout=_timeout(args, DEFAULT_TIMEOUT),
        **credentials,
    )
    token = source.token()
    _remember_label(store, source.key, source.profile.name, source._flow.name)
    if args.json:
        record = token.to_dict(show_secrets=args.show_secrets)
        record["profile"] = source.profile.name
        if args.show_secrets:
            console.secret_out(_dumps(record))
        else:
            console.out(_dumps(record))
    elif args.header:
        console.secret_out(f"Authorization: {token.authorization}")
    else:
        console.secret_out(token.access_token)
    return EXIT_OK


# -- inspect -------------------------------------------------------------------------------------


def _when(value: Any, now: float) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        stamp = datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None
    delta = value - now
    return f"{stamp} ({'in ' + _duration(delta) if delta >= 0 else _duration(delta) + ' ago'})"


def cmd_inspect(args: argparse.Namespace, console: Console) -> int:
    from .diagnose import inspect

    jwt = args.jwt if args.jwt not in (None, "-") else _read_stdin_all("inspect JWT")
    _register_environment_secrets(console, args.profile)
    diagnosis = inspect(jwt, args.profile, token_url=args.token_url)
    if args.json:
        console.out(_dumps(diagnosis.to_dict()))
        return EXIT_OK if diagnosis.ok else EXIT_FAILED
    now = time.time()
    console.out("header: " + json.dumps(diagnosis.header, ensure_ascii=False))
    console.out("claims: " + json.dumps(diagnosis.claims, ensure_ascii=False))
    for name in ("iat", "nbf", "exp"):
        when = _when(diagnosis.claims.get(name), now)
        if when:
            console.out(f"  {name}: {when}")
    symbols = {"error": "✗", "warning": "!", "info": "·"}
    if not _can_encode(sys.stdout, "✗·"):
        symbols = {"error": "x", "warning": "!", "info": "-"}
    for finding in diagnosis.findings:
        console.out(f"{symbols.get(finding.severity, '-')} {finding.code}: {finding.message}")
        if finding.hint:
            console.out(f"    fix: {finding.hint}")
    if not diagnosis.findings:
        console.out("no problems found" + ("" if args.profile else " (add --profile to check it against a provider)"))
    return EXIT_OK if diagnosis.ok else EXIT_FAILED


# -- doctor --------------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from .doctor import run_doctor

    if args.json_body and not args.send:
        raise UsageError("--json-body needs --send (it says how the grant is sent)")
    if args.send and args.jwt is None:
        raise UsageError("--send needs --jwt (the grant to send); without --jwt doctor tries the exchange itself")
    jwt = args.jwt
    if jwt == "-":
        jwt = _read_stdin_all("--jwt")
    credentials = _credentials(args, console, stdin_taken="--jwt" if args.jwt == "-" else None)
    report = run_doctor(
        args.profile,
        jwt=jwt,
        send=args.send,
        json_body=args.json_body,
        flow=args.flow,
        auth_method=args.auth_method,
        try_exchange=not args.no_exchange,
        timeout=_timeout(args, DOCTOR_TIMEOUT),
        **credentials,
    )
    if args.json:
        console.out(_dumps(report.to_dict()))
    else:
        console.out(report.render(ascii_only=not _can_encode(sys.stdout, "✓✗·—§")))
    return EXIT_OK if report.ok else EXIT_FAILED


# -- login, logout, status -----------------------------------------------------------------------


def _show_device_prompt(authorization: Any) -> None:
    """Tell the user where to approve the login (stderr, so stdout stays clean for scripts)."""
    from .device import print_prompt

    print_prompt(authorization, sys.stderr)


def cmd_login(args: argparse.Namespace, console: Console) -> int:
    from .credentials import resolve_credentials
    from .device import login
    from .profiles import load_profile
    from .source import source_key

    credentials = _credentials(args, console)
    store = _store(args)
    token = login(
        args.profile,
        prompt=lambda authorization: _show_device_prompt(authorization),
        store=store,
        timeout=_timeout(args, DEFAULT_TIMEOUT),
        progress=sys.stderr,
        **credentials,
    )
    prof = load_profile(args.profile)
    device_flow = next((f for f in prof.flows if f.grant == "device_code"), None)
    if device_flow is not None:
        _remember_label(
            store, source_key(prof, resolve_credentials(prof, credentials), device_flow), prof.name, "device login"
        )
    left = token.seconds_left(time.time())
    valid = f", access token valid for {_duration(left)}" if left is not None else ""
    refresh = "refresh token stored" if token.refresh_token else "no refresh token was issued"
    console.out(f"logged in to {prof.name}{valid}; {refresh} in {store.path}")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace, console: Console) -> int:
    from .device import logout
    from .profiles import load_profile
    from .source import TokenSource

    credentials = _credentials(args, console)
    store = _store(args)
    prof = load_profile(args.profile)
    removed = False
    if any(f.grant == "device_code" for f in prof.flows):
        removed = logout(prof, store=store, **credentials)
    try:
        source = TokenSource(prof, store=store, flow=args.flow, **credentials)
    except ConfigError:
        source = None
    if source is not None and store.get(source.key) is not None:
        store.delete(source.key)
        removed = True
    if removed:
        console.out(f"forgot the stored token(s) of {prof.name} in {store.path}")
    else:
        console.out(
            f"no stored token for {prof.name} with these credentials in {store.path} "
            "(give the same credentials as for `m2mauth token`/`login`; `m2mauth status` lists what is stored)"
        )
    return EXIT_OK


def _entries(store: Any, now: float) -> Iterator[dict[str, Any]]:
    from .stores import token_from_record

    labels = _read_labels(store)
    folder = Path(store.path) / "tokens"
    try:
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    except OSError:  # a name too long, no permission: nothing to list
        paths = []
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
            continue
        token = token_from_record(record)
        if token is None:
            continue
        label = labels.get(path.stem, {})
        refresh_left = token.refresh_expires_at.timestamp() - now if token.refresh_expires_at else None
        yield {
            "id": path.stem,
            "profile": label.get("profile") or record.get("profile") or "?",
            "flow": label.get("flow") or "?",
            "expires_in": token.seconds_left(now),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "refresh_token": bool(token.refresh_token),
            "refresh_expires_in": int(refresh_left) if refresh_left is not None else None,
            "scope": token.scope,
        }


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    from .stores import _file_name

    store = _store(args)
    now = time.time()
    entries = list(_entries(store, now))
    if args.profile:
        from .profiles import load_profile
        from .source import TokenSource

        credentials = _credentials(args, console)
        prof = load_profile(args.profile)
        wanted: set[str] = set()
        try:
            wanted.add(_file_name(TokenSource(prof, store=store, flow=args.flow, **credentials).key))
        except ConfigError:
            if credentials:
                raise
        entries = [e for e in entries if e["id"] in wanted or e["profile"] == prof.name]
        for entry in entries:
            if entry["profile"] == "?":
                entry["profile"] = prof.name
    if args.json:
        console.out(_dumps({"store": str(store.path), "tokens": entries}))
        return EXIT_OK
    if not entries:
        what = f" for {args.profile}" if args.profile else ""
        console.out(f"no stored tokens{what} in {store.path}")
        return EXIT_OK
    console.out(f"stored tokens in {store.path}:")
    console.out(f"  {'PROFILE':<24} {'FLOW':<20} {'ACCESS TOKEN':<22} REFRESH TOKEN")
    for entry in entries:
        left = entry["expires_in"]
        if left is None:
            access = "no expiry given"
        elif left > 0:
            access = f"valid {_duration(left)}"
        else:
            access = f"expired {_duration(left)} ago"
        refresh = "yes" if entry["refresh_token"] else "no"
        if entry["refresh_token"] and entry["refresh_expires_in"] is not None:
            refresh += f" (valid {_duration(entry['refresh_expires_in'])})"
        console.out(f"  {entry['profile']:<24} {entry['flow']:<20} {access:<22} {refresh}")
    return EXIT_OK


# -- keygen --------------------------------------------------------------------------------------

_KID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
PUBLIC_JWK_MEMBERS = ("kty", "e", "kid", "alg", "n")
KEYSTORE_JWK_MEMBERS = ("p", "kty", "q", "d", "e", "kid", "qi", "dp", "alg", "dq", "n")


def _b64_int(value: int) -> str:
    from .jws import b64url_encode

    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _write_file(path: Path, data: bytes, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise ConfigError(
            f"{path} exists already", code="file_exists", hint="Pass --force to replace it, or --out another folder."
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}", code="file_unwritable") from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)  # also when --force replaced a file that had another mode
        os.write(fd, data)
    finally:
        os.close(fd)


def cmd_keygen(args: argparse.Namespace, console: Console) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from .keys import load_key

    kid: str = args.kid
    if not _KID.match(kid):
        raise UsageError(
            "--kid must be 1-128 characters: letters, digits and . _ : @ + - (starting with a letter or digit)"
        )
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", kid)
    try:
        folder = Path(args.out).expanduser() if args.out else Path.cwd()
    except RuntimeError:  # "~user" with no such user
        raise ConfigError(f"cannot expand {args.out!r}", code="file_unwritable") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {folder}: {exc.strerror}", code="file_unwritable") from None
    paths = {
        "private_key": folder / f"{stem}.private.pem",
        "keystore_jwk": folder / f"{stem}.keystore.jwk.json",
        "public_jwk": folder / f"{stem}.public.jwk.json",
    }
    if not args.force:
        for path in paths.values():
            if path.exists():
                raise ConfigError(
                    f"{path} exists already",
                    code="file_exists",
                    hint="Pass --force to replace it, or --out another folder.",
                )
    private = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_jwk = load_key(pem, kid=kid).public_jwk()
    if tuple(public_jwk) != PUBLIC_JWK_MEMBERS or public_jwk["alg"] != "RS256":
        raise M2MAuthError("the public JWK does not have the members OpenAIRE asks for", code="internal_error")
    numbers = private.private_numbers()
    members = {
        "p": _b64_int(numbers.p),
        "kty": "RSA",
        "q": _b64_int(numbers.q),
        "d": _b64_int(numbers.d),
        "e": public_jwk["e"],
        "kid": kid,
        "qi": _b64_int(numbers.iqmp),
        "dp": _b64_int(numbers.dmp1),
        "alg": "RS256",
        "dq": _b64_int(numbers.dmq1),
        "n": public_jwk["n"],
    }
    keystore = {name: members[name] for name in KEYSTORE_JWK_MEMBERS}
    _write_file(paths["private_key"], pem, 0o600, args.force)
    _write_file(paths["keystore_jwk"], (json.dumps(keystore, indent=2) + "\n").encode("ascii"), 0o600, args.force)
    _write_file(paths["public_jwk"], (json.dumps(public_jwk, indent=2) + "\n").encode("ascii"), 0o644, args.force)
    console.out(json.dumps(public_jwk, indent=2))
    console.err(f"private key:  {paths['private_key']} (mode 0600; keep it secret, never register or share it)")
    console.err(f"keystore JWK: {paths['keystore_jwk']} (mode 0600; the private key as a JWK, keep it secret)")
    console.err(f"public JWK:   {paths['public_jwk']} (the JSON above)")
    console.err(
        "Register the public JWK above with the provider (OpenAIRE: service registration, Advanced security), "
        f"then: m2mauth token openaire --client-id SERVICE_ID --private-key {paths['private_key']} --key-id {kid}"
    )
    return EXIT_OK


# -- profiles ------------------------------------------------------------------------------------


def _example(prof: Any) -> str:
    first = prof.flows[0]
    metavars = {"service_key": "FILE", "private_key": "FILE", "client_secret": "-", "secret": "-", "password": "-"}
    options = " ".join(f"--{n.replace('_', '-')} {metavars.get(n, n.upper())}" for n in first.requires)
    if not prof.token_url and not first.token_url:
        options += " --token-url URL"
    command = "login" if first.grant == "device_code" else "token"
    return f"m2mauth {command} {prof.name} {options}".rstrip()


def _profile_dict(prof: Any) -> dict[str, Any]:
    return {
        "name": prof.name,
        "title": prof.title,
        "documentation": prof.documentation,
        "token_url": prof.token_url,
        "issuer": prof.issuer,
        "device_authorization_url": prof.device_authorization_url,
        "default_token_lifetime": prof.default_token_lifetime,
        "flows": [
            {
                "name": f.name,
                "grant": f.grant,
                "requires": list(f.requires),
                "auth_methods": list(f.auth_methods),
                "token_url": f.token_url,
                "description": f.description,
                "assertion": None
                if f.assertion is None
                else {
                    "issuer": f.assertion.issuer,
                    "subject": f.assertion.subject,
                    "audience": f.assertion.audience,
                    "algorithms": list(f.assertion.algorithms),
                    "lifetime": f.assertion.lifetime,
                    "max_lifetime": f.assertion.max_lifetime,
                    "kid": f.assertion.kid,
                },
            }
            for f in prof.flows
        ],
        "environment": {name: [*prof.env.get(name, ()), f"M2MAUTH_{name.upper()}"] for name in CREDENTIAL_NAMES},
        "errors": [{"code": h.code, "match": h.match, "error": h.error, "status": h.status} for h in prof.error_hints],
        "example": _example(prof),
    }


def cmd_profiles(args: argparse.Namespace, console: Console) -> int:
    from .profiles import list_profiles, load_profile

    if getattr(args, "profiles_command", None) == "show":
        prof = load_profile(args.name)
        data = _profile_dict(prof)
        if args.json:
            console.out(_dumps(data))
            return EXIT_OK
        console.out(f"{prof.name}: {prof.title}")
        for label, value in (
            ("documentation", prof.documentation),
            ("token URL", prof.token_url or "(none: give --token-url or --issuer)"),
            ("issuer", prof.issuer),
            ("device authorization URL", prof.device_authorization_url),
            ("default token lifetime", f"{prof.default_token_lifetime} s" if prof.default_token_lifetime else None),
        ):
            if value:
                console.out(f"  {label}: {value}")
        console.out("flows (the first whose credentials are all given is used; --flow names one):")
        for flow in prof.flows:
            console.out(f"  {flow.name} ({flow.grant}): {flow.description}")
            console.out(f"      needs: {', '.join(flow.requires) or 'nothing'}")
            if flow.auth_methods:
                console.out(f"      client authentication: {', '.join(flow.auth_methods)}")
            if flow.token_url:
                console.out(f"      token URL: {flow.token_url}")
            if flow.assertion is not None:
                a = flow.assertion
                cap = f", at most {a.max_lifetime} s" if a.max_lifetime else ""
                kid = f", kid={a.kid}" if a.kid else ""
                sub = f", sub={a.subject}" if a.subject else ""
                console.out(
                    f"      grant: {'/'.join(a.algorithms)}; iss={a.issuer}{sub}, aud={a.audience}{kid}; "
                    f"lifetime {a.lifetime} s{cap}"
                )
        console.out("environment variables (used when the option is not given):")
        for name in CREDENTIAL_NAMES:
            own = prof.env.get(name, ())
            if own:
                console.out(f"  --{name.replace('_', '-')}: {', '.join(own)}, then M2MAUTH_{name.upper()}")
        console.out("  any other: M2MAUTH_<NAME> (e.g. M2MAUTH_CLIENT_ID)")
        if prof.error_hints:
            console.out("errors explained: " + ", ".join(dict.fromkeys(h.code for h in prof.error_hints)))
        console.out(f"example: {data['example']}")
        return EXIT_OK
    profiles = [load_profile(name) for name in list_profiles()]
    if args.json:
        console.out(_dumps([{"name": p.name, "title": p.title, "flows": [f.name for f in p.flows]} for p in profiles]))
        return EXIT_OK
    width = max(len(p.name) for p in profiles)
    for prof in profiles:
        console.out(f"{prof.name:<{width}}  {prof.title}  [flows: {', '.join(f.name for f in prof.flows)}]")
    console.out("`m2mauth profiles show NAME` gives the flows, credentials, environment variables and endpoints.")
    return EXIT_OK


# -- vectors -------------------------------------------------------------------------------------


class _Skip(Exception):
    """A vector that cannot be replayed here (a key file not shipped with the wheel)."""


class _VectorFailure(Exception):
    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage, self.detail = stage, detail


def _find_file(reference: str, start: Path) -> Path:
    from .profiles import spec_path

    for base in (*start.parents, spec_path()):
        candidate = base / reference
        if candidate.is_file():
            return candidate
    raise _Skip(f"{reference} not found (test keys ship with the source tree, not the wheel)")


def _resolve(value: Any, start: Path) -> Any:
    from .vectors import resolve_reference

    return resolve_reference(value, lambda name: _find_file(name, start))


def _group_key(group: dict[str, Any], start: Path) -> Any:
    from .keys import load_key, secret_key

    spec = group.get("key")
    if not isinstance(spec, dict):
        return None
    if isinstance(spec.get("jwk"), dict):
        return load_key(spec["jwk"])
    if isinstance(spec.get("file"), str):
        path = _find_file(spec["file"], start)
        if path.suffix == ".secret":
            return secret_key(path.read_text(encoding="utf-8"))
        return load_key(path)
    if isinstance(spec.get("publicJwk"), dict):
        return load_key(spec["publicJwk"])
    return None


def _check_signature(jwt: str, key: Any, reproducible: bool) -> None:
    from .jws import b64url_decode, sign

    head, body, signature = jwt.split(".")
    alg = json.loads(b64url_decode(head)).get("alg")
    if key is None:
        raise _VectorFailure("key", "the group has no key to check the signature with")
    if not key.verify(f"{head}.{body}".encode("ascii"), b64url_decode(signature), alg):
        raise _VectorFailure("signature", f"the {alg} signature does not verify with the group key")
    if reproducible and key.is_private and sign(f"{head}.{body}", key, alg) != jwt:
        raise _VectorFailure("signature", "re-signing gives other bytes")


def _replay_token_request(test: dict[str, Any], key: Any, start: Path) -> None:
    from .vectors import plan_for_vector

    try:
        plan = plan_for_vector(test["input"], lambda value: _resolve(value, start))
    except ConfigError as err:
        if test.get("result") == "invalid" and err.code == test.get("error_code"):
            return
        raise _VectorFailure("error_code", f"the core refused it with {err.code}") from None
    if test.get("result") == "invalid":
        raise _VectorFailure("error_code", f"expected {test.get('error_code')}, but the core built a request")
    expected = test.get("expected", {})
    reproducible = bool(expected.get("reproducible", True))
    jwt = plan.assertion.jwt if plan.assertion else plan.request.field("client_assertion")
    signing_input = test.get("intermediate", {}).get("signingInput")
    if signing_input and (jwt is None or jwt.rsplit(".", 1)[0] != signing_input):
        raise _VectorFailure("intermediate", "the header or claims differ (signing input)")
    if "jws" in expected:
        if jwt is None:
            raise _VectorFailure("jws", "the core built no JWT")
        if reproducible and jwt != expected["jws"]:
            raise _VectorFailure("jws", "the compact JWS differs")
        if not reproducible:
            _check_signature(jwt, key, reproducible=False)
    want = expected.get("tokenRequest")
    if want is not None:
        got = plan.request.to_dict()
        if not reproducible:
            got, want = _mask_jwts(got), _mask_jwts(want)
        for part in ("method", "url", "headers", "form", "body"):
            if got.get(part) != want.get(part):
                raise _VectorFailure("tokenRequest", f"the {part} differs")


def _mask_jwts(request: dict[str, Any]) -> dict[str, Any]:
    masked = dict(request)
    masked["form"] = [[k, "<jwt>" if k in ("assertion", "client_assertion") else v] for k, v in request["form"]]
    masked["body"] = None
    return masked


def _replay_jws(test: dict[str, Any], key: Any) -> None:
    from .diagnose import inspect
    from .jws import b64url_encode

    expected = test.get("expected", {})
    jwt = expected.get("jws")
    intermediate = test.get("intermediate", {})
    signing_input = intermediate.get("signingInput")
    if isinstance(intermediate.get("header"), str) and isinstance(intermediate.get("claims"), str):
        built = (
            b64url_encode(intermediate["header"].encode("utf-8"))
            + "."
            + b64url_encode(intermediate["claims"].encode("utf-8"))
        )
        if built != signing_input:
            raise _VectorFailure("intermediate", "base64url(header).base64url(claims) is not the signing input")
    if not isinstance(jwt, str) or jwt.count(".") != 2:
        raise _VectorFailure("jws", "no compact JWS")
    if jwt.rsplit(".", 1)[0] != signing_input:
        raise _VectorFailure("jws", "the JWS is not over the signing input")
    _check_signature(jwt, key, reproducible=bool(expected.get("reproducible", True)))
    inp = test.get("input", {})
    if test.get("result") == "invalid":
        diagnosis = inspect(jwt, inp.get("profile"), now=inp.get("now"), token_url=inp.get("token_url"))
        codes = [f.code for f in diagnosis.findings if f.severity == "error"]
        if test.get("error_code") not in codes:
            raise _VectorFailure("error_code", f"inspect found {', '.join(codes) or 'nothing'}")


def _replay_file(path: Path) -> tuple[int, list[str], list[str]]:
    """Replay one vector file: (tests passed, failures, skipped reasons)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        groups = data["testGroups"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return 0, [f"the file cannot be read as a vector file ({type(exc).__name__})"], []
    passed, failures, skipped = 0, [], []
    for group in groups:
        try:
            key = _group_key(group, path)
        except _Skip as skip:
            skipped.append(f"{len(group.get('tests', []))} test(s): {skip}")
            continue
        for test in group.get("tests", []):
            where = f"tcId {test.get('tcId')}"
            try:
                if group.get("type") == "JwsTest":
                    _replay_jws(test, key)
                else:
                    _replay_token_request(test, key, path)
                passed += 1
            except _Skip as skip:
                skipped.append(f"{where}: {skip}")
            except _VectorFailure as failure:
                failures.append(f"{where}: {failure.stage}: {failure.detail}")
            except M2MAuthError as err:
                failures.append(f"{where}: core: {err.code}")
            except Exception as exc:  # noqa: BLE001 - a malformed vector is a failure to report, not a crash
                failures.append(f"{where}: format: {type(exc).__name__}")
    return passed, failures, skipped


def cmd_vectors(args: argparse.Namespace, console: Console) -> int:
    from .profiles import spec_path

    try:
        root = Path(args.path).expanduser() if args.path else spec_path("vectors")
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = sorted(root.rglob("*.json"))
        else:
            raise ConfigError(f"no such file or folder: {root}", code="vectors_not_found")
    except (OSError, RuntimeError) as exc:  # a name too long, no permission, '~user' with no such user
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"cannot read {args.path!r} ({reason})", code="vectors_not_found") from None
    if not files:
        raise ConfigError(f"no vector files (*.json) in {root}", code="vectors_not_found")
    total_passed = total_failed = total_skipped = 0
    failed_files = 0
    for path in files:
        passed, failures, skipped = _replay_file(path)
        total_passed += passed
        total_failed += len(failures)
        total_skipped += len(skipped)
        name = path.relative_to(root).as_posix() if root.is_dir() else path.name
        status = "FAIL" if failures else "ok"
        extra = f", {len(skipped)} skipped" if skipped else ""
        console.out(
            f"{status:<4} {name} ({passed} passed{', ' + str(len(failures)) + ' failed' if failures else ''}{extra})"
        )
        for failure in failures:
            console.out(f"     {failure}")
        for reason in skipped:
            console.out(f"     skipped {reason}")
        failed_files += bool(failures)
    console.out(
        f"vectors: {total_passed} passed, {total_failed} failed, {total_skipped} skipped "
        f"in {len(files)} file(s), replayed through the m2mauth core"
    )
    console.out(
        "independent check (never imports m2mauth): python spec/verify/verify_vectors.py"
        + (f" {args.path}" if args.path else "")
    )
    return EXIT_FAILED if failed_files else EXIT_OK


# -- the parser ----------------------------------------------------------------------------------


def _help(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def _credential_options() -> argparse.ArgumentParser:
    parent = _Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group(
        "credentials",
        "The library's keywords with dashes. A missing one is read from the provider's environment variables "
        "(`m2mauth profiles show NAME` lists them), then M2MAUTH_<NAME>. Secret values may be '-': one line "
        "from stdin.",
    )
    group.add_argument("--service-key", metavar="FILE", help="CLMS service key JSON, as downloaded")
    group.add_argument("--client-id", metavar="ID", help="OAuth client id (OpenAIRE: the Service Id)")
    group.add_argument("--client-secret", metavar="SECRET", help="client secret, or '-' for stdin")
    group.add_argument("--private-key", metavar="FILE", help="private key: PEM (PKCS#1/PKCS#8) or JWK file")
    group.add_argument("--key-id", metavar="KID", help="the key id (JWS 'kid'; DT: the service account key id)")
    group.add_argument("--secret", metavar="SECRET", help="an HMAC secret (DT service account), or '-' for stdin")
    group.add_argument("--email", metavar="EMAIL", help="service account e-mail (DT)")
    group.add_argument("--username", metavar="NAME", help="user name (password grant)")
    group.add_argument("--password", metavar="PASSWORD", help="password (password grant), or '-' for stdin")
    group.add_argument("--refresh-token", metavar="TOKEN", help="a refresh token, or '-' for stdin")
    group.add_argument("--scope", metavar="SCOPE", help="space-separated scopes to ask for")
    group.add_argument("--token-url", metavar="URL", help="the token endpoint (overrides the profile's)")
    group.add_argument("--issuer", metavar="URL", help="an OIDC issuer: discovery finds the endpoints")
    group.add_argument("--audience", metavar="AUD", help="the grant's aud, where the profile lets you set it")
    group.add_argument("--key-password", metavar="PASSPHRASE", help="passphrase of an encrypted key, or '-'")
    group.add_argument("--auth-method", choices=AUTH_METHODS, help="client authentication, where a flow offers several")
    group.add_argument(
        "--flow", metavar="NAME", help="the profile's flow to use (default: chosen from the credentials)"
    )
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="seconds to wait for each answer")
    return parent


def _store_options(no_store: bool = False) -> argparse.ArgumentParser:
    parent = _Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group("token store")
    where = group.add_mutually_exclusive_group() if no_store else group
    where.add_argument(
        "--store", metavar="DIR", help="the token store folder (default: M2MAUTH_HOME or the user cache folder)"
    )
    if no_store:
        where.add_argument("--no-store", action="store_true", help="a one-off fetch: neither read nor fill the store")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``m2mauth`` (every command with --help and an example)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="m2mauth",
        description="OAuth2 machine-to-machine tokens for research and Earth-observation data APIs: "
        "get them, keep them, and find out why a request fails.",
        epilog=_help(
            """
            examples:
              m2mauth token clms --service-key ~/land-copernicus.json
              m2mauth doctor disruptive-technologies        # credentials from DT_SERVICE_ACCOUNT_* variables
              m2mauth inspect "$GRANT" --profile clms
              m2mauth profiles show openaire
            """
        )
        + "\n"
        + EXIT_CODES_TEXT,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"m2mauth {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    creds = _credential_options()

    def command(
        name: str, summary: str, epilog: str, handler: Callable[[argparse.Namespace, Console], int], *parents: Any
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=_help(epilog) + "\n" + EXIT_CODES_TEXT,
            formatter_class=formatter,
            parents=list(parents),
            allow_abbrev=False,
        )
        sub.set_defaults(handler=handler)
        return sub

    token = command(
        "token",
        "Print an access token (from the token store while it is valid; fetched and stored otherwise).",
        """
        examples:
          m2mauth token clms --service-key ~/land-copernicus.json
          curl -H "$(m2mauth token clms --service-key key.json --header)" https://land.copernicus.eu/api/...
          echo "$SECRET" | m2mauth token cdse-openeo --client-id sh-1234 --client-secret -
          m2mauth token openaire --refresh-token - --json < refresh-token.txt
        """,
        cmd_token,
        creds,
        _store_options(no_store=True),
    )
    token.add_argument("profile", metavar="PROFILE", help="a profile name (`m2mauth profiles`) or a profile JSON file")
    shape = token.add_mutually_exclusive_group()
    shape.add_argument("--header", action="store_true", help="print 'Authorization: Bearer ...'")
    shape.add_argument("--json", action="store_true", help="print the token record as JSON (secrets redacted)")
    token.add_argument("--show-secrets", action="store_true", help="with --json: show the access and refresh tokens")

    inspect_cmd = command(
        "inspect",
        "Decode a JWT without trusting it and list what is wrong with it, each with the fix.",
        """
        examples:
          m2mauth inspect eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImFsZy4xIjoiUlMyNTYifQ.eyJ... --profile clms
          pbpaste | m2mauth inspect - --profile disruptive-technologies --json
        """,
        cmd_inspect,
    )
    inspect_cmd.add_argument("jwt", nargs="?", metavar="JWT", help="the JWT; '-' or nothing reads it from stdin")
    inspect_cmd.add_argument("--profile", metavar="PROFILE", help="check it against this provider's rules")
    inspect_cmd.add_argument("--token-url", metavar="URL", help="the token URL its aud must name")
    inspect_cmd.add_argument("--json", action="store_true", help="the diagnosis as JSON")

    doctor = command(
        "doctor",
        "A checklist that says why a token request fails: key file, permissions, key and algorithm, claims, "
        "clock offset, proxy, endpoint, and the exchange with the provider's own hint.",
        """
        Each line is ✓ (ok), ! (warning), ✗ (failed, with the fix under it) or · (not checked).
        The exchange is tried once, without retries, and nothing is stored. With --jwt, a grant you
        made yourself (e.g. with httr2) is inspected, and with --send posted to the token URL.

        examples:
          m2mauth doctor clms --service-key ~/land-copernicus.json
          m2mauth doctor disruptive-technologies --key-id KID --email svc@example.com --secret -
          m2mauth doctor clms --service-key key.json --jwt "$GRANT" --send
          m2mauth doctor clms --service-key key.json --jwt "$GRANT" --send --json-body   # reproduce a JSON body
          m2mauth doctor cdse-openeo --client-id ID --client-secret - --json
        """,
        cmd_doctor,
        creds,
    )
    doctor.add_argument("profile", metavar="PROFILE", help="a profile name (`m2mauth profiles`) or a profile JSON file")
    doctor.add_argument("--jwt", metavar="JWT", help="diagnose this grant instead of m2mauth's own ('-': stdin)")
    doctor.add_argument("--send", action="store_true", help="with --jwt: POST it to the token URL, form-encoded")
    doctor.add_argument(
        "--json-body", action="store_true", help="with --send: send it as a JSON body instead (the classic mistake)"
    )
    doctor.add_argument("--no-exchange", action="store_true", help="do not try the token exchange")
    doctor.add_argument("--json", action="store_true", help="the report as JSON, for scripts")

    login_cmd = command(
        "login",
        "Log in once with the device flow (visit a URL, enter a code); the refresh token is stored so later "
        "`m2mauth token` runs are not interactive.",
        """
        examples:
          m2mauth login cdse-openeo --client-id cdse-public
          OPENEO_AUTH_CLIENT_ID=cdse-public m2mauth login cdse-openeo --store ~/.m2mauth
        """,
        cmd_login,
        creds,
        _store_options(),
    )
    login_cmd.add_argument("profile", metavar="PROFILE", help="a profile with a device flow (e.g. cdse-openeo)")

    logout_cmd = command(
        "logout",
        "Forget the stored tokens of a profile and credentials (the device login's refresh token included).",
        """
        examples:
          m2mauth logout cdse-openeo --client-id cdse-public
          m2mauth logout clms --service-key ~/land-copernicus.json
        """,
        cmd_logout,
        creds,
        _store_options(),
    )
    logout_cmd.add_argument("profile", metavar="PROFILE", help="the profile")

    status_cmd = command(
        "status",
        "List the stored tokens: profile, time left, whether a refresh token is kept (never the tokens).",
        """
        examples:
          m2mauth status
          m2mauth status cdse-openeo --client-id cdse-public --json
        """,
        cmd_status,
        creds,
        _store_options(),
    )
    status_cmd.add_argument("profile", nargs="?", metavar="PROFILE", help="only this profile's tokens")
    status_cmd.add_argument("--json", action="store_true", help="as JSON")

    keygen = command(
        "keygen",
        "Make an RSA key pair: the private key (PEM, mode 0600), the public JWK exactly as OpenAIRE's advanced "
        "service registration asks (kty, e, kid, alg, n) and the full keystore JWK (mode 0600).",
        """
        Prints the public JWK (to register with the provider) and the paths; never the private key.

        examples:
          m2mauth keygen --kid my-service-2025 --out ~/.config/m2mauth/keys
          m2mauth keygen --kid my-service --bits 3072 > my-service.public.jwk.json
        """,
        cmd_keygen,
    )
    keygen.add_argument("--kid", required=True, metavar="KID", help="the key id (registered with the public key)")
    keygen.add_argument("--out", metavar="DIR", help="folder for the files (default: the current folder)")
    keygen.add_argument("--bits", type=int, default=2048, choices=(2048, 3072, 4096), help="RSA key size")
    keygen.add_argument("--force", action="store_true", help="replace files that exist")

    profiles = command(
        "profiles",
        "List the provider profiles, or show one: flows, credentials, environment variables, endpoints.",
        """
        examples:
          m2mauth profiles
          m2mauth profiles show disruptive-technologies
          m2mauth profiles show clms --json
        """,
        cmd_profiles,
    )
    profiles.add_argument("--json", action="store_true", help="as JSON")
    which = profiles.add_subparsers(dest="profiles_command", metavar="{list,show}", parser_class=_Parser)
    listing = which.add_parser(
        "list",
        help="list the profiles (the default)",
        description="List the provider profiles.",
        epilog="example:\n  m2mauth profiles list --json\n",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    listing.add_argument("--json", action="store_true", help="as JSON")
    show = which.add_parser(
        "show",
        help="show one profile",
        description="Show one profile: flows, required credentials, environment variables, endpoints.",
        epilog="example:\n  m2mauth profiles show openaire\n",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    show.add_argument("name", metavar="NAME", help="the profile name (or a profile JSON file)")
    show.add_argument("--json", action="store_true", help="as JSON")

    vectors = command(
        "vectors",
        "Replay the spec's test vectors through the m2mauth core.",
        """
        examples:
          m2mauth vectors verify
          m2mauth vectors verify spec/vectors/clms-jwt-bearer.json
        The independent check, which never imports m2mauth: python spec/verify/verify_vectors.py
        """,
        cmd_vectors,
    )
    vector_commands = vectors.add_subparsers(
        dest="vectors_command", metavar="{verify}", required=True, parser_class=_Parser
    )
    verify = vector_commands.add_parser(
        "verify",
        help="replay the vectors (shipped with the package) through the core",
        description="Replay every vector file (or PATH) through the core: each test's token request, JWS and "
        "diagnosis must come out as the file says.",
        epilog="examples:\n  m2mauth vectors verify\n  m2mauth vectors verify path/to/vectors/\n",
        formatter_class=formatter,
        allow_abbrev=False,
    )
    verify.add_argument("path", nargs="?", metavar="PATH", help="a vector file or folder (default: the shipped ones)")
    return parser


# -- entry point ---------------------------------------------------------------------------------

_EXIT_FOR = ((TokenEndpointError, EXIT_FAILED), (ConfigError, EXIT_CONFIG), (TransportError, EXIT_TRANSPORT))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises, unless M2MAUTH_DEBUG is set)."""
    console = Console()
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args = parser.parse_args(list(argv) if argv is not None else None)
        console.command = f"m2mauth {args.command}"
        handler: Callable[[argparse.Namespace, Console], int] = args.handler
        return handler(args, console)
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else EXIT_OK if done.code is None else EXIT_USAGE
    except UsageError as exc:
        console.error("usage", str(exc), f"`{exc.prog or console.command} --help` shows the options and an example.")
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.error("interrupted", "interrupted", None)
        return EXIT_OTHER
    except M2MAuthError as exc:
        status = next((code for cls, code in _EXIT_FOR if isinstance(exc, cls)), EXIT_OTHER)
        console.error(exc.code, exc.message, exc.hint)
        if (
            args is not None
            and args.command in ("token", "login")
            and isinstance(exc, (TokenEndpointError, TransportError))
        ):
            console.err(f"see: `m2mauth doctor {args.profile} ...` with the same options runs a checklist")
        return status
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head -1`)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OTHER
    except Exception as exc:
        if os.environ.get("M2MAUTH_DEBUG"):
            raise
        console.error(
            "internal_error",
            f"unexpected {type(exc).__name__} (set M2MAUTH_DEBUG=1 to see the traceback)",
            "This is a bug in m2mauth; please report it with the command you ran (without secrets).",
        )
        return EXIT_OTHER


if __name__ == "__main__":
    sys.exit(main())
