"""Bad input (issue 5, part 3): the command line's argument handling, profile and JWKS files on disk, and
token, error, discovery and device answers served over real HTTP, fuzzed with hypothesis.

The contract: ``m2mauth.cli.main(argv)`` returns one of the documented exit codes (0-5) and never shows
a traceback or an ``internal_error`` (an exception that is not an ``M2MAuthError``); the loaders and
``fetch_token`` give a result or an ``M2MAuthError``, never another exception. The parsers themselves
are fuzzed in ``tests/python/test_fuzz.py``; this file covers what is left: argv, files, and HTTP.

No test here reaches the network: every connection other than to this file's own loopback server is
refused at the socket (a guard), and URLs given to the CLI point at a closed loopback port.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import m2mauth
from m2mauth import cli, source, transport
from m2mauth.client_auth import AUTH_METHODS
from m2mauth.jws import b64url_encode
from m2mauth.profiles import list_profiles

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "spec" / "keys"
BUDGET = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
EXIT_CODES = {cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_CONFIG, cli.EXIT_TRANSPORT, cli.EXIT_OTHER}
CREDENTIAL_ENV = (
    "M2MAUTH_CLIENT_ID",
    "M2MAUTH_CLIENT_SECRET",
    "M2MAUTH_SECRET",
    "M2MAUTH_PASSWORD",
    "M2MAUTH_REFRESH_TOKEN",
    "M2MAUTH_KEY_PASSWORD",
    "M2MAUTH_SERVICE_KEY",
    "M2MAUTH_PRIVATE_KEY",
    "M2MAUTH_TOKEN_URL",
    "DT_SERVICE_ACCOUNT_KEY_ID",
    "DT_SERVICE_ACCOUNT_SECRET",
    "DT_SERVICE_ACCOUNT_EMAIL",
    "OPENEO_AUTH_CLIENT_ID",
    "OPENEO_AUTH_CLIENT_SECRET",
)


# -- no network ------------------------------------------------------------------------------------


def guard_network(monkeypatch: pytest.MonkeyPatch, allowed_port: int | None = None) -> None:
    """Refuse every connection, except to 127.0.0.1:allowed_port; resolve only loopback names."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if allowed_port is not None and isinstance(address, tuple) and address[:2] == ("127.0.0.1", allowed_port):
            real_connect(sock, address)
            return
        raise ConnectionRefusedError(111, "refused by the test's network guard")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", b"127.0.0.1", b"localhost"):
            raise socket.gaierror(socket.EAI_NONAME, "the test's network guard resolves loopback names only")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# -- files the fuzz points at ----------------------------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000
JUNK_CONTENT: dict[str, bytes] = {
    "empty.json": b"",
    "binary.pem": bytes(range(256)) * 4,
    "not-utf8.json": b'{"name": "\xff\xfe"}',
    "deep.json": DEEP.encode(),
    "deep-object.json": b'{"name": "x", "flows": ' + DEEP.encode() + b"}",
    "infinity.json": b'{"access_token": "t", "expires_in": Infinity, "interval": NaN}',
    "fake.pem": b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n",
    "public.pem": b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    "array.json": b"[1, 2, 3]",
    "service-key-ish.json": json.dumps(
        {"client_id": "c", "user_id": "u", "token_uri": "https://x", "private_key": 3}
    ).encode(),
    "jwks-empty.json": b'{"keys": []}',
    "profile-ish.json": json.dumps({"name": "p", "flows": [{"name": "f", "grant": "client_credentials",
                                                           "requires": ["client_id"]}]}).encode(),
    "bom.json": b"\xef\xbb\xbf" + json.dumps({"name": "bom"}).encode(),
    "jwt.txt": b"eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln\n",
}


JUNK_NAMES = list(JUNK_CONTENT)


@dataclass
class Junk:
    folder: Path
    files: list[str]
    dirs: list[str]
    store: str  # a token store whose files are junk
    real_keys: list[str]


@pytest.fixture(scope="session")
def junk(tmp_path_factory: pytest.TempPathFactory) -> Junk:
    folder = tmp_path_factory.mktemp("fuzz-files")
    files = []
    for name, content in JUNK_CONTENT.items():
        path = folder / name
        path.write_bytes(content)
        files.append(str(path))
    empty = folder / "empty-dir"
    empty.mkdir()
    store = folder / "junk-store"
    (store / "tokens").mkdir(parents=True)
    (store / "locks").mkdir()
    for name, content in JUNK_CONTENT.items():
        (store / "tokens" / (name.rsplit(".", 1)[0] + ".json")).write_bytes(content)
    (store / "tokens" / "record.json").write_text(json.dumps({"access_token": "t", "expires_at": 1e300,
                                                              "refresh_expires_at": -1e300, "issued_at": "x"}))
    (store / "cli-labels.json").write_bytes(DEEP.encode())
    real_keys = [str(KEYS / name) for name in ("test-rsa-2048.pkcs8.pem", "test-ec-p256.jwk.json", "test-hmac.secret")]
    return Junk(folder, files, [str(empty), str(folder), str(store)], str(store), real_keys)


# -- the argv strategy -----------------------------------------------------------------------------


def command_options() -> tuple[dict[str, list[str]], set[str]]:
    """Every (sub)command of the real parser, its option strings, and the options that take a value."""
    takes_value: set[str] = set()

    def options(parser: argparse.ArgumentParser) -> list[str]:
        found = []
        for action in parser._actions:
            found += action.option_strings
            if action.option_strings and action.nargs != 0:
                takes_value.update(action.option_strings)
        return found

    parser = cli.build_parser()
    out: dict[str, list[str]] = {}
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        out[name] = options(command)
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        for inner in nested:
            for inner_name, inner_parser in inner.choices.items():
                out[f"{name} {inner_name}"] = options(inner_parser)
    return out, takes_value


COMMANDS, TAKES_VALUE = command_options()
ALL_OPTIONS = sorted({option for options in COMMANDS.values() for option in options})
JUNK_OPTIONS = ["--", "-", "-x", "--nope", "--client_secret", "--clientsecret", "--json=1", "--timeout=", "---"]
PROFILE_NAMES = [*list_profiles(), "nope", "", "clms.json", "../generic"]

argv_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
#: What argv holds for bytes that are not UTF-8 (PEP 383): lone surrogates U+DC80..U+DCFF.
undecodable = st.binary(min_size=1, max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape")).filter(
    lambda s: "\x00" not in s
)
long_text = st.integers(min_value=300, max_value=20_000).map(lambda n: "A" * n)


def option_values(junk: Junk, closed: str) -> dict[str, list[str]]:
    secret_values = ["-", "s3cret-value", "", " "]
    url_values = [closed + "/token", closed, "https://127.0.0.1:9/token", "http://example.org/token", "ftp://x/y",
                  "not a url", "http://[::1", "http://127.0.0.1:99999/x", "https://", "http://user:pw@127.0.0.1:9/t"]
    files = [*junk.files, *junk.real_keys, "no/such/file.pem", "missing.json", "~/nope.pem", *junk.dirs]
    return {
        "--token-url": url_values,
        "--issuer": url_values,
        "--client-id": ["client", "", "ü-client", "cdse-public"],
        "--client-secret": secret_values,
        "--secret": secret_values,
        "--password": secret_values,
        "--refresh-token": secret_values,
        "--key-password": secret_values,
        "--service-key": files,
        "--private-key": files,
        "--store": [*junk.dirs, junk.store, junk.files[0], "new-store", "~/store"],
        "--out": [*junk.dirs, junk.files[0], "new-keys", "nested/new/keys"],
        "--kid": ["kid-1", "", "bad kid!", "k" * 200, "-"],
        "--bits": ["2048", "1024", "x", "-1"],
        "--timeout": ["1", "0", "-1", "nan", "inf", "1e309", "abc", "0.5", "1e-9"],
        "--auth-method": [*AUTH_METHODS, "bogus"],
        "--flow": ["client_credentials", "refresh_token", "device_code", "service_key", "personal_refresh", "nope"],
        "--jwt": ["-", "a.b.c", "x", *JUNK_CONTENT["jwt.txt"].decode().split()],
        "--profile": [*PROFILE_NAMES, *junk.files],
        "--email": ["a@b.c", ""],
        "--username": ["user", ""],
        "--key-id": ["kid", ""],
        "--scope": ["openid", ""],
        "--audience": ["https://x", ""],
    }


def percent(draw: st.DrawFn, chance: int) -> bool:
    return draw(st.integers(min_value=0, max_value=99)) < chance


def templates(junk: Junk, closed: str) -> list[list[str]]:
    """Command lines complete enough to get as far as sending (to the closed port) or writing files."""
    url = ["--token-url", closed + "/token", "--timeout", "1"]
    client = ["--client-id", "c", "--client-secret", "-"]
    dt = ["--key-id", "k", "--email", "e@example.org", "--secret", "-"]
    return [
        ["token", "generic", *url, *client],
        ["token", "generic", *url, *client, "--store", junk.store],
        ["token", "openaire", *url, "--refresh-token", "-", "--json"],
        ["token", "disruptive-technologies", *url, *dt, "--header"],
        ["token", "generic", *url, "--client-id", "c", "--private-key", junk.real_keys[0]],
        ["token", "clms", "--service-key", junk.files[0], "--no-store"],
        ["doctor", "generic", *url, *client],
        ["doctor", "disruptive-technologies", *url, *dt, "--json"],
        ["doctor", "clms", "--service-key", junk.real_keys[0], "--jwt", "-", "--send", *url],
        ["login", "cdse-openeo", "--issuer", closed, "--client-id", "c", "--timeout", "1"],
        ["login", "generic", *url, "--client-id", "c"],
        ["logout", "generic", *url, *client, "--store", junk.store],
        ["status", "--store", junk.store, "--json"],
        ["status", "generic", *url, *client, "--store", junk.store],
        ["keygen", "--kid", "fuzz-kid", "--out", "keys"],
        ["vectors", "verify", str(junk.folder)],
        ["inspect", "-", "--profile", "clms", "--json"],
        ["profiles", "show", junk.files[0]],
    ]


@st.composite
def argvs(draw: st.DrawFn, junk: Junk, closed: str) -> list[str]:
    """Mostly command lines that parse (so the commands themselves run), some that do not."""
    pools = option_values(junk, closed)
    anything = st.one_of(argv_text, undecodable, long_text, st.sampled_from([*junk.files, *junk.dirs, "-", ""]))
    if percent(draw, 35):
        argv = list(draw(st.sampled_from(templates(junk, closed))))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):  # a few changes to a valid command line
            at = draw(st.integers(min_value=1, max_value=len(argv) - 1))
            choice = draw(st.integers(min_value=0, max_value=2))
            if choice == 0:
                del argv[at]
            elif choice == 1:
                argv[at] = draw(st.sampled_from(pools.get(argv[at - 1], ALL_OPTIONS)) | anything)
            else:
                argv.insert(at, draw(st.sampled_from(ALL_OPTIONS + JUNK_OPTIONS)))
        return argv
    if percent(draw, 90):
        command = draw(st.sampled_from(sorted(COMMANDS)))
    else:
        command = draw(st.sampled_from(["nosuchcommand", "", "--help", "--version", "-h"]) | argv_text)
    argv = command.split(" ") if command else []
    if command in ("token", "doctor", "login", "logout", "status", "profiles show"):
        if percent(draw, 70):
            argv.append(draw(st.sampled_from(list_profiles())))
        else:
            argv.append(draw(st.sampled_from([*PROFILE_NAMES, *junk.files, *junk.dirs]) | anything))
    elif command in ("inspect", "vectors verify") and draw(st.booleans()):
        argv.append(draw(st.sampled_from([*junk.files, *junk.dirs, "-"]) | anything))
    own = COMMANDS.get(command) or ALL_OPTIONS
    for _ in range(draw(st.integers(min_value=0, max_value=7))):
        option = draw(st.sampled_from(own if percent(draw, 85) else ALL_OPTIONS + JUNK_OPTIONS))
        argv.append(option)
        if option in TAKES_VALUE:
            pool = pools.get(option)
            argv.append(draw(st.sampled_from(pool)) if pool and percent(draw, 75) else draw(anything))
        elif percent(draw, 10):
            argv.append(draw(anything))
    if percent(draw, 5):
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--help", "-h", "--version", "--"])))
    return argv


class Terminal:
    """stdin, stdout and stderr as a UTF-8 terminal has them: stdout strict, stderr backslashreplace."""

    def __init__(self, stdin: str | bytes) -> None:
        self.stdin: io.TextIOBase = (
            io.StringIO(stdin) if isinstance(stdin, str) else io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        )
        self.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
        self.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)

    def text(self, stream: io.TextIOWrapper) -> str:
        stream.flush()
        buffer = stream.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue().decode("utf-8", "replace")


@pytest.fixture()
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path) -> Path:
    """The CLI runs in tmp_path, with HOME there too (so '~' stays inside), and no network."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    guard_network(monkeypatch)
    # The CLI retries connection errors with backoff (3.5 s in all): one quick retry keeps the budget.
    monkeypatch.setattr(source, "RetryPolicy", lambda: m2mauth.RetryPolicy(attempts=2, backoff=0.01, jitter=0.0))
    return tmp_path


@BUDGET
@given(data=st.data())
def test_cli_never_raises_and_never_shows_a_traceback(
    data: st.DataObject, junk: Junk, closed_port: int, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = data.draw(argvs(junk, f"http://127.0.0.1:{closed_port}"), label="argv")
    stdin = data.draw(st.sampled_from(["", "\n", "s3cret\n", "a.b.c\n", "\udcff\n", "x" * 5000, b"\xff\xfe\n"]),
                      label="stdin")
    env = data.draw(st.dictionaries(st.sampled_from(CREDENTIAL_ENV), st.sampled_from(
        ["", "x", "s3cret", f"http://127.0.0.1:{closed_port}/t", *junk.files]), max_size=3), label="env")
    terminal = Terminal(stdin)
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setattr(sys, "stdin", terminal.stdin)
        patch.setattr(sys, "stdout", terminal.stdout)
        patch.setattr(sys, "stderr", terminal.stderr)
        code = cli.main(argv)
    out, err = terminal.text(terminal.stdout), terminal.text(terminal.stderr)
    assert isinstance(code, int) and code in EXIT_CODES, (code, argv)
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert "[internal_error]" not in err, (argv, err)
    if code != cli.EXIT_OK:
        assert (out + err).strip(), (argv, code)  # a failure always says why
    if code == cli.EXIT_USAGE:
        assert "error [usage]" in err


UNDECODABLE = b"st\xffore".decode("utf-8", "surrogateescape")  # a file name that is not UTF-8, as argv has it


def found_by_the_fuzz(junk: Junk, closed: str) -> list[tuple[list[str], str | bytes]]:
    """Inputs that once escaped as untyped errors (internal_error, exit 5), kept as fixed cases."""
    token = ["token", "generic", "--token-url", closed + "/token", "--client-id", "c", "--timeout", "1"]
    doctor_send = ["doctor", "clms", "--service-key", junk.real_keys[0], "--jwt", "-", "--send", "--token-url", closed]
    with_stdin: list[tuple[list[str], str | bytes]] = [
        (doctor_send, "\udcff\n"),  # UnicodeEncodeError sending the grant
        ([*token, "--client-secret", "-"], b"\xff\xfe\n"),  # UnicodeDecodeError reading stdin
        (["inspect", "-"], b"\xff\xfe\n"),
    ]
    return with_stdin + [(argv, "") for argv in [
        [*token, "--client-secret", "x" + UNDECODABLE],  # UnicodeEncodeError in the Basic header
        ["logout", "generic", "--email", UNDECODABLE],  # UnicodeEncodeError in the store key
        ["status", "--store", UNDECODABLE],  # UnicodeEncodeError printing the path to stdout
        ["status", "--store", junk.store],  # RecursionError: deeply nested token and labels files
        ["vectors", "verify", str(junk.folder)],  # RecursionError: a deeply nested vector file
        ["vectors", "verify", "A" * 5000],  # OSError: file name too long
        ["vectors", "verify", "~no-such-user-m2mauth/x"],  # RuntimeError from expanduser
        ["profiles", "show", junk.files[JUNK_NAMES.index("deep.json")]],  # RecursionError in load_profile
        [*token, "--client-secret", "s", "--store", junk.files[0]],  # FileExistsError creating the store
        [*token, "--client-secret", "s", "--timeout", "inf"],  # OverflowError in the socket timeout
        ["keygen", "--kid", "k", "--out", "~no-such-user-m2mauth/keys"],  # RuntimeError from expanduser
        ["doctor", "generic", "--token-url", closed, "--client-id", "c", "--private-key", "~no-such-user-m2mauth/k",
         "--timeout", "1"],  # RuntimeError from expanduser
        ["token", "generic", "--client-id", "c", "--clientsecret", "s3cret"],  # the secret echoed in the usage error
        ["logout", "generic", "--store", junk.files[0]],  # NotADirectoryError deleting from a store that is a file
    ]]


@pytest.mark.parametrize("index", range(17))
def test_cli_inputs_found_by_the_fuzz(index: int, junk: Junk, closed_port: int, sandbox: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    argv, stdin = found_by_the_fuzz(junk, f"http://127.0.0.1:{closed_port}")[index]
    terminal = Terminal(stdin)
    monkeypatch.setattr(sys, "stdin", terminal.stdin)
    monkeypatch.setattr(sys, "stdout", terminal.stdout)
    monkeypatch.setattr(sys, "stderr", terminal.stderr)
    code = cli.main(argv)
    out, err = terminal.text(terminal.stdout), terminal.text(terminal.stderr)
    assert code in EXIT_CODES and code != cli.EXIT_OTHER, (code, out, err)
    assert "Traceback" not in err and "[internal_error]" not in err
    assert "s3cret" not in out + err


def test_cli_fuzz_reaches_the_real_commands(junk: Junk, closed_port: int) -> None:
    """The strategy is not degenerate: every real command and option can be drawn."""
    assert {"token", "inspect", "doctor", "login", "logout", "status", "keygen", "profiles", "vectors"} <= set(COMMANDS)
    assert {"--client-secret", "--private-key", "--token-url", "--store", "--kid", "--json"} <= set(ALL_OPTIONS)
    assert set(option_values(junk, "http://127.0.0.1:9")) <= set(ALL_OPTIONS)


# -- profile and JWKS files on disk ----------------------------------------------------------------

_counter = itertools.count()

scalar = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | argv_text
json_value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(argv_text, inner, max_size=3), max_leaves=12
)
template = st.sampled_from(["{client_id}", "{token_url}", "{username|client_id}", "{nope}", "{", "}", "x", ""])
flows = st.fixed_dictionaries(
    {"name": st.sampled_from(["f", "g", ""]) | json_value,
     "grant": st.sampled_from(["jwt_bearer", "client_credentials", "password", "refresh_token", "get_refresh",
                               "device_code", "nope"])},
    optional={
        "requires": st.lists(st.sampled_from(["client_id", "client_secret", "private_key", "secret", "x"]), max_size=3)
        | json_value,
        "auth_methods": st.lists(st.sampled_from([*AUTH_METHODS, "bogus"]), max_size=3) | json_value,
        "token_url": st.sampled_from(["http://127.0.0.1:9/t", "https://x", "nope"]) | json_value,
        "scope": argv_text | json_value,
        "refresh_parameter": argv_text | json_value,
        "client_assertion_algorithms": st.lists(st.sampled_from(["RS256", "HS256", "XX"]), max_size=2) | json_value,
        "assertion": st.fixed_dictionaries(
            {"issuer": template, "audience": template},
            optional={"subject": template, "algorithms": st.lists(st.sampled_from(["RS256", "HS256", "ES256", "x"]),
                                                                  max_size=3) | json_value,
                      "lifetime": st.integers(-5, 10**12) | json_value, "max_lifetime": st.integers(-5, 10**6),
                      "kid": template, "jti": json_value, "nbf": json_value},
        ) | json_value,
    },
)
profiles = st.fixed_dictionaries(
    {"name": st.sampled_from(["fuzz", "", "generic"]) | json_value, "flows": st.lists(flows, max_size=3) | json_value},
    optional={
        "title": json_value,
        "token_url": st.sampled_from(["http://127.0.0.1:9/token", "https://x/t", ""]) | json_value,
        "issuer": json_value,
        "env": st.dictionaries(st.sampled_from(["client_id", "client_secret", "x"]),
                               st.lists(argv_text, max_size=2) | json_value, max_size=2) | json_value,
        "error_hints": st.lists(st.dictionaries(st.sampled_from(["match", "hint", "code", "error", "status"]),
                                                json_value, max_size=5), max_size=2) | json_value,
        "basic_encoding": st.sampled_from(["rfc", "raw", "x"]) | json_value,
        "default_token_lifetime": st.integers(-5, 10**12) | json_value,
    },
)
nested = st.integers(min_value=1, max_value=60_000).map(lambda n: ("[" * n + "]" * n).encode())
file_bytes = (
    profiles.map(lambda p: json.dumps(p).encode("utf-8"))
    | profiles.map(lambda p: b"\xef\xbb\xbf" + json.dumps(p).encode("utf-8"))
    | json_value.map(lambda v: json.dumps(v).encode("utf-8"))
    | st.binary(max_size=300)
    | nested
    | st.sampled_from(list(JUNK_CONTENT.values()))
)


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-disk")


@BUDGET
@given(content=file_bytes, suffix=st.sampled_from([".json", ".profile", ""]), as_path=st.booleans())
def test_profile_files_load_or_raise_m2mauth_error(disk: Path, content: bytes, suffix: str, as_path: bool) -> None:
    path = disk / f"profile-{next(_counter)}{suffix}"
    path.write_bytes(content)
    try:
        profile = m2mauth.load_profile(path if as_path else str(path))
    except m2mauth.M2MAuthError as err:
        assert err.code in ("invalid_profile", "unknown_profile"), err.code
        return
    assert isinstance(profile, m2mauth.Profile) and profile.flows
    # A loaded profile is usable: planning a request gives a Plan or an M2MAuthError.
    try:
        plan = m2mauth.plan_request(profile, environ={}, token_url="http://127.0.0.1:9/token", client_id="c",
                                    client_secret="s3cret", secret="hmac-secret", username="u", password="p",
                                    refresh_token="r", now=1_767_225_600)
    except m2mauth.M2MAuthError:
        return
    assert isinstance(plan, m2mauth.Plan)


REAL_JWKS = [
    json.loads((KEYS / name).read_text(encoding="utf-8"))
    for name in ("test-rsa-2048.jwk.json", "test-ec-p256.jwk.json", "test-rsa-2048.public.jwk.json")
]
b64ish = st.binary(max_size=40).map(b64url_encode) | argv_text


def mutate(jwk: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda drop, change: {**{k: v for k, v in jwk.items() if k not in drop}, **change},
        st.sets(st.sampled_from(sorted(jwk)), max_size=3),
        st.dictionaries(st.sampled_from(sorted(jwk)), b64ish | json_value, max_size=2),
    )


jwk_values = (
    st.sampled_from(REAL_JWKS).flatmap(mutate)
    | st.fixed_dictionaries({"kty": st.sampled_from(["RSA", "EC", "oct", "OKP"]) | json_value},
                            optional={m: b64ish | json_value for m in ("n", "e", "d", "crv", "x", "y", "k", "kid")})
    | json_value
)
jwks_bytes = (
    st.builds(lambda keys: json.dumps({"keys": keys}).encode(), st.lists(jwk_values, max_size=4))
    | st.builds(lambda keys: json.dumps({"keys": keys}).encode(), json_value)
    | jwk_values.map(lambda k: json.dumps(k).encode())
    | nested
    | st.binary(max_size=200)
)


@BUDGET
@given(content=jwks_bytes, kid=st.none() | st.sampled_from(["test-rsa-2048", "test-ec-p256", "nope", ""]),
       password=st.none() | st.sampled_from(["pw", ""]), as_path=st.booleans())
def test_jwks_files_load_or_raise_m2mauth_error(
    disk: Path, content: bytes, kid: str | None, password: str | None, as_path: bool
) -> None:
    path = disk / f"jwks-{next(_counter)}.json"
    path.write_bytes(content)
    try:
        key = m2mauth.load_key(path if as_path else str(path), kid=kid, password=password)
    except m2mauth.M2MAuthError:
        return
    assert isinstance(key, m2mauth.Key) and key.kind in ("RSA", "EC", "oct")
    assert key.algorithms and key.default_algorithm
    repr(key)


# -- token, error, discovery and device answers over real HTTP -------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    mode: str = "normal"  # normal | truncated (Content-Length larger than the body) | close (no answer)


@dataclass
class Script:
    """What the loopback server answers, per path."""

    answers: dict[str, Answer] = field(default_factory=dict)
    default: Answer = field(default_factory=lambda: Answer(404, b'{"error": "not_found"}'))


class FuzzHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: ClassVar[Script] = Script()

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.script.answers.get(self.path.split("?", 1)[0], self.script.default)
        self.close_connection = True
        if answer.mode == "close":
            return
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.content_type is not None:
            self.send_header("Content-Type", answer.content_type)
        extra = 100 if answer.mode == "truncated" else 0
        self.send_header("Content-Length", str(len(answer.body) + extra))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_HEAD = _answer


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FuzzHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture()
def only_server(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    guard_network(monkeypatch, int(server.rsplit(":", 1)[1]))
    return server


numbers = (
    st.integers(-(10**6), 10**12)
    | st.floats()
    | st.sampled_from(["3600", "1e400", "-1", "", "NaN"])
    | st.integers(min_value=10**18, max_value=10**400)
)
token_json = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.sampled_from(["tok", "", "a.b.c"]) | json_value,
        "token_type": st.sampled_from(["Bearer", "bearer", "mac", ""]) | json_value,
        "expires_in": numbers | json_value,
        "expires_at": numbers,
        "refresh_token": st.sampled_from(["r", ""]) | json_value,
        "refresh_expires_in": numbers,
        "scope": json_value,
        "id_token": json_value,
        "error": st.sampled_from(["invalid_grant", "invalid_client", "slow_down", "authorization_pending",
                                  "too_many_requests", ""]) | json_value,
        "error_description": json_value,
    },
)
#: JSON with the literals Python's json module accepts but JSON does not (NaN, Infinity) and huge numbers.
loose_json = token_json.map(lambda d: json.dumps(d).replace('"NaN"', "NaN").replace('"1e400"', "1e400"))
bodies = (
    token_json.map(lambda d: json.dumps(d).encode())
    | loose_json.map(str.encode)
    | json_value.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=400)
    | nested
    | argv_text.map(lambda t: f"<html><body><h1>{t}</h1></body></html>".encode())
    | st.sampled_from([b'{"access_token": "t", "expires_in": Infinity}', b'{"access_token": "t"', b"\xff\xfe{}"])
)
answers = st.builds(
    Answer,
    status=st.sampled_from([200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 407, 408, 429, 500, 502, 503])
    | st.integers(200, 599),
    body=bodies,
    content_type=st.sampled_from([None, "application/json", "text/html", "text/plain; charset=latin-1", "", "x/y"]),
    headers=st.lists(
        st.tuples(st.sampled_from(["Retry-After", "Location", "WWW-Authenticate", "Date", "X-Junk"]),
                  st.sampled_from(["0", "1", "-1", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon",
                                   "/elsewhere", "http://127.0.0.1:9/x", ""])),
        max_size=3,
    ).map(tuple),
    mode=st.sampled_from(["normal"] * 8 + ["truncated", "close"]),
)


def outcome(call: Callable[[], object]) -> object:
    """The call's result, or the M2MAuthError it raised; any other exception fails the test."""
    try:
        return call()
    except m2mauth.M2MAuthError as err:
        assert err.code and isinstance(str(err), str) and repr(err)
        return err


@BUDGET
@given(answer=answers, grant=st.sampled_from(["post", "get"]))
def test_token_and_error_answers_over_http(only_server: str, answer: Answer, grant: str) -> None:
    FuzzHandler.script = Script({"/token": answer, "/getAccessToken": answer})
    if grant == "post":
        result = outcome(lambda: m2mauth.fetch_token("generic", token_url=only_server + "/token", client_id="c",
                                                     client_secret="s", timeout=5))
    else:
        result = outcome(lambda: m2mauth.fetch_token("openaire", token_url=only_server + "/getAccessToken",
                                                     refresh_token="r", timeout=5))
    if isinstance(result, m2mauth.Token):
        assert answer.mode == "normal" and 200 <= answer.status < 300
        assert result.access_token and repr(result)
        result.to_dict()
        result.is_expired()


@BUDGET
@given(discovery=answers, endpoint=st.sampled_from(["/token", "relative", "http://example.org/t", "https://x/t", ""]),
       valid=st.booleans(), token=answers)
def test_discovery_answers_over_http(only_server: str, discovery: Answer, endpoint: str, valid: bool,
                                     token: Answer) -> None:
    transport._discovery_cache.clear()
    if valid:
        target = only_server + endpoint if endpoint.startswith("/") else endpoint
        discovery = Answer(200, json.dumps({"issuer": only_server, "token_endpoint": target}).encode())
    FuzzHandler.script = Script({"/.well-known/openid-configuration": discovery, "/token": token})
    outcome(lambda: m2mauth.fetch_token("generic", issuer=only_server, client_id="c", client_secret="s", timeout=5))


@BUDGET
@given(device=answers, device_json=st.fixed_dictionaries(
    {},
    optional={"device_code": st.sampled_from(["dc", ""]) | json_value,
              "user_code": st.sampled_from(["ABCD-EFGH", ""]) | json_value,
              "verification_uri": st.sampled_from(["http://127.0.0.1/device", ""]) | json_value,
              "verification_url": json_value,
              "verification_uri_complete": json_value,
              "expires_in": numbers | json_value,
              "interval": numbers | json_value},
), as_json=st.booleans())
def test_device_authorization_answers_over_http(only_server: str, device: Answer, device_json: dict[str, Any],
                                                as_json: bool) -> None:
    transport._discovery_cache.clear()
    if as_json:
        body = json.dumps(device_json).replace('"NaN"', "NaN").replace('"1e400"', "1e400").encode()
        device = Answer(200, body)
    metadata = {"issuer": only_server, "token_endpoint": only_server + "/token",
                "device_authorization_endpoint": only_server + "/device"}
    FuzzHandler.script = Script({
        "/.well-known/openid-configuration": Answer(200, json.dumps(metadata).encode()),
        "/device": device,
        "/token": Answer(400, b'{"error": "access_denied"}'),
    })
    result = outcome(lambda: m2mauth.login("generic", issuer=only_server, client_id="c", store=m2mauth.MemoryStore(),
                                           prompt=lambda authorization: None, sleep=lambda seconds: None,
                                           progress=io.StringIO(), timeout=5))
    assert isinstance(result, m2mauth.M2MAuthError)  # the poll answers access_denied: never a token
