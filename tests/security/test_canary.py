"""Secrets never leak (issue 5, part 4): a canary run through every flow, error path and CLI command.

Recognisable canaries stand in for every kind of secret a user hands to m2mauth: a client secret, an
HMAC secret, a password, a refresh token, a key passphrase and a freshly generated RSA private key
(each line of its PEM body, and its ``d``, ``p`` and ``q`` as base64url, are canaries). The access,
refresh and ID tokens and the device codes the local provider issues are canaries too: they are read
from the provider's side (its state) and from the returned Tokens.

Every flow of every profile runs through ``fetch_token``, ``TokenSource`` (with a FileStore), ``Auth``,
``session`` (and ``HttpxAuth``), ``login``/``logout``; every error path is provoked; every CLI command
runs in-process and once in a subprocess. Logs are captured at DEBUG for all loggers (urllib3 too),
stdout and stderr at the file-descriptor level (capfd) for the library and through capsys for the CLI,
plus the repr and str of every object returned and the str, repr and full formatted traceback of every
error. A canary may appear nowhere, in any of the forms it can take on the way out (as is, percent- or
JSON-escaped, inside base64 such as a Basic header). The only exceptions are the tokens a user asked
for: the access token ``m2mauth token`` prints (and its refresh token with ``--json --show-secrets``)
and the token records in the token store, whose files must hold tokens only, with mode 0600 in 0700
folders.

The canaries are built from short runs between punctuation, so ``redact_text`` (which masks long
base64url runs) cannot hide a leak that the code's structure lets through.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import secrets
import stat
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import m2mauth
from m2mauth import cli
from m2mauth.credentials import resolve_credentials
from m2mauth.testing import LocalProvider

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0
QUICK = m2mauth.RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.05, deadline=5.0, jitter=0.0)
LOGGERS = ("", "m2mauth", "m2mauth.testing", "urllib3", "requests", "httpx", "httpcore")
#: What a token store file may hold: the record of one token, never a credential.
TOKEN_RECORD_KEYS = frozenset(
    {
        "key",
        "access_token",
        "token_type",
        "expires_at",
        "issued_at",
        "refresh_token",
        "refresh_expires_at",
        "scope",
        "id_token",  # stores keep the ID token (issue 8 part 8); the watch still scans it
    }
)

try:
    import httpx
except ImportError:  # pragma: no cover - httpx is a test dependency
    httpx = None  # type: ignore[assignment]


# -- canaries and the forms they take on the way out ----------------------------------------------


def canary(kind: str) -> str:
    """A recognisable secret; its runs of [A-Za-z0-9_-] stay short (see the module docstring)."""
    return f"CANARY~{kind}~{secrets.token_hex(4)}!{secrets.token_hex(3)}"


def b64_cores(data: bytes) -> set[str]:
    """The base64 text of ``data`` that does not depend on its neighbours, for each of the 3 alignments."""
    out: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
        out |= {core, core.translate(str.maketrans("+/", "-_"))}
    return out


def text_needles(value: str) -> set[str]:
    """A text secret as it could show up: as is, escaped for URLs, JSON or repr, and inside base64."""
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
    }
    out = set(forms)
    for form in forms:
        out |= b64_cores(form.encode("utf-8"))
    return {needle for needle in out if len(needle) >= 12}


def b64url_int(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def pem_lines(pem: str | bytes) -> set[str]:
    text = pem.decode("ascii") if isinstance(pem, bytes) else pem
    return {line.strip() for line in text.splitlines() if "-----" not in line and len(line.strip()) >= 16}


def private_pem_lines(key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat) -> set[str]:
    """The PEM body lines that encode a byte of a private number (lines holding only n and e are public:
    they may appear, e.g. as the n of a public JWK)."""
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode("ascii")
    lines = [line for line in pem.splitlines() if "-----" not in line]
    der = base64.b64decode("".join(lines))
    numbers = key.private_numbers()
    spans: list[tuple[int, int]] = []
    for number in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        at = der.find(raw)
        assert at >= 0
        spans.append((at, at + len(raw)))
    per_line = 48  # 64 base64 characters
    return {
        line
        for index, line in enumerate(lines)
        if len(line) >= 16 and any(start < (index + 1) * per_line and index * per_line < end for start, end in spans)
    }


def key_needles(key: rsa.RSAPrivateKey) -> set[str]:
    """Private key material: the PEM body lines (PKCS#8 and PKCS#1) and the private numbers."""
    out: set[str] = set()
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        out |= private_pem_lines(key, fmt)
    numbers = key.private_numbers()
    for number in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
        out |= {b64url_int(number), str(number), format(number, "x")}
    return out


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs8(key: rsa.RSAPrivateKey, passphrase: str | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if passphrase is not None:
        encryption = serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


@dataclass(frozen=True)
class Canaries:
    client_secret: str
    hmac_secret: str
    password: str
    refresh_token: str
    key_passphrase: str
    wrong_secret: str  # what a user mistypes: a secret too, never to be shown
    key: rsa.RSAPrivateKey  # registered with the provider (OpenAIRE advanced, generic private_key_jwt)
    other_key: rsa.RSAPrivateKey  # a key nobody registered (wrong-key paths)
    pem: str
    encrypted_pem: str
    other_pem: str

    @classmethod
    def make(cls) -> Canaries:
        key, other = new_rsa(), new_rsa()
        passphrase = canary("key passphrase")
        return cls(
            client_secret=canary("client.secret"),
            hmac_secret=canary("hmac.secret"),
            password=canary("pass word"),  # a space: form-encoded as '+'
            refresh_token=canary("refresh.token"),
            key_passphrase=passphrase,
            wrong_secret=canary("wrong.secret"),
            key=key,
            other_key=other,
            pem=pkcs8(key),
            encrypted_pem=pkcs8(key, passphrase),
            other_pem=pkcs8(other),
        )

    def needles(self) -> dict[str, set[str]]:
        texts = {
            "client secret": self.client_secret,
            "HMAC secret": self.hmac_secret,
            "password": self.password,
            "refresh token": self.refresh_token,
            "key passphrase": self.key_passphrase,
            "wrong secret": self.wrong_secret,
        }
        out = {label: text_needles(value) for label, value in texts.items()}
        out["private key"] = key_needles(self.key) | pem_lines(self.encrypted_pem)
        out["other private key"] = key_needles(self.other_key)
        return out


# -- the local provider and what is registered with it --------------------------------------------


@dataclass
class World:
    provider: LocalProvider
    c: Canaries
    folder: Path
    service_key: dict[str, str]
    service_key_file: Path
    key_file: Path  # the canary key, PKCS#8, encrypted with the canary passphrase (mode 0600)
    plain_key_file: Path  # the same key unencrypted (mode 0600)
    closed_port: int  # a loopback port nobody listens on
    device_codes: set[str] = field(default_factory=set)

    def url(self, profile: str, flow: str | None = None) -> str:
        return self.provider.token_url(profile, flow)

    def refresh(self, profile: str, client_id: str | None = None) -> str:
        return self.provider.issue_refresh_token(profile, client_id)

    def needles(self) -> dict[str, set[str]]:
        out = self.c.needles()
        service_pem = self.service_key["private_key"]
        service = serialization.load_pem_private_key(service_pem.encode(), None)
        assert isinstance(service, rsa.RSAPrivateKey)
        out["CLMS service key"] = key_needles(service)
        return out


def private_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, closed_port: int) -> Iterator[World]:
    c = Canaries.make()
    folder = tmp_path_factory.mktemp("canary")
    with LocalProvider(token_lifetime=600, device_interval=1) as provider:
        service_key = provider.make_clms_service_key()
        provider.add_dt_service_account("dt-canary-kid", c.hmac_secret, "svc@canary.serviceaccount.example")
        public_jwk = m2mauth.load_key(c.pem).public_jwk()
        provider.add_client("openaire", "oa-basic", client_secret=c.client_secret)
        provider.add_client("openaire", "oa-advanced", public_jwk={**public_jwk, "kid": "oa-kid"})
        provider.add_client("climate-engine", "ce-client", client_secret=c.client_secret)
        provider.add_user("climate-engine", "ce-user@example.org", c.password)
        provider.add_client("cdse-openeo", "cdse-svc", client_secret=c.client_secret)
        provider.add_client("generic", "gen-secret", client_secret=c.client_secret)
        provider.add_client("generic", "gen-key", public_jwk={**public_jwk, "kid": "gen-kid"})
        provider.add_user("generic", "gen-user", c.password)
        yield World(
            provider=provider,
            c=c,
            folder=folder,
            service_key=service_key,
            service_key_file=private_file(folder / "land-copernicus.json", json.dumps(service_key)),
            key_file=private_file(folder / "service.encrypted.pem", c.encrypted_pem),
            plain_key_file=private_file(folder / "service.pem", c.pem),
            closed_port=closed_port,
        )


def issued_by(provider: LocalProvider) -> set[str]:
    """Every access token, refresh token (live or spent) and pending device code the provider knows of."""
    state = provider._state  # the test provider's memory: the other side of every exchange
    with state.lock:
        return set(state._tokens) | set(state._refresh) | set(state._rotated) | set(state._devices)


@contextlib.contextmanager
def auto_approve(world: World) -> Iterator[None]:
    """A user who approves every pending device login at once (and whose device codes are canaries)."""
    stop = threading.Event()
    state = world.provider._state

    def loop() -> None:
        while not stop.wait(0.05):
            with state.lock:
                pending = [grant for grant in state._devices.values() if grant.status == "pending"]
            for grant in pending:
                world.device_codes.add(grant.device_code)
                with contextlib.suppress(LookupError):
                    world.provider.approve_device(grant.user_code)

    thread = threading.Thread(target=loop, name="canary-approver", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


# -- the watch: everything that was shown, and the check that no canary is in it ------------------


@dataclass
class Shown:
    where: str
    text: str
    allowed: frozenset[str] = frozenset()  # tokens the user asked for, which may appear here
    tokens_ok: bool = False  # a token store file: any issued token may appear, nothing else


class Watch:
    """Collects every text a user or a log could see, then looks for the canaries in it."""

    def __init__(self, world: World, capture: Any, caplog: pytest.LogCaptureFixture) -> None:
        self.world, self.capture, self.caplog = world, capture, caplog
        self.shown: list[Shown] = []
        self.tokens: set[str] = set()
        self.extra: dict[str, set[str]] = {}
        for name in LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name or None)

    # what was shown
    def text(self, where: str, text: str, *, allowed: Iterable[str] = (), tokens_ok: bool = False) -> None:
        self.shown.append(Shown(where, text, frozenset(a for a in allowed if a), tokens_ok))

    def show(self, where: str, *objects: Any) -> None:
        for obj in objects:
            if obj is not None:
                self.text(f"{where}: repr({type(obj).__name__})", repr(obj))
                self.text(f"{where}: str({type(obj).__name__})", str(obj))

    def token(self, where: str, token: m2mauth.Token) -> m2mauth.Token:
        assert isinstance(token, m2mauth.Token), token
        self.tokens |= {t for t in (token.access_token, token.refresh_token, token.id_token) if t}
        self.show(where, token)
        self.text(f"{where}: to_dict()", json.dumps(token.to_dict()))
        self.text(f"{where}: raw", json.dumps(dict(token.raw), default=str))
        return token

    def error(self, where: str, exc: BaseException) -> None:
        self.show(where, exc)
        self.text(f"{where}: traceback", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.text(f"{where}: vars", repr(vars(exc)))
        if isinstance(exc, m2mauth.M2MAuthError):
            self.show(f"{where}: explain", m2mauth.explain(exc))
            self.text(f"{where}: explain().to_dict()", json.dumps(m2mauth.explain(exc).to_dict()))

    def forbid(self, label: str, needles: Iterable[str]) -> None:
        self.extra.setdefault(label, set()).update(n for n in needles if len(n) >= 12)

    # the check
    def _captured(self) -> None:
        out, err = self.capture.readouterr()
        self.text("stdout", out)
        self.text("stderr", err)
        self.text("log", self.caplog.text)
        for record in self.caplog.records:
            self.text(f"log record {record.name}", record.getMessage() + (record.exc_text or ""))

    def check(self) -> None:
        self._captured()
        secret_needles = {**self.world.needles(), **self.extra}
        secret_needles["device code"] = set(self.world.device_codes)
        token_needles = {t for t in self.tokens | issued_by(self.world.provider) if len(t) >= 12}
        leaks: list[str] = []
        for shown in self.shown:
            text = shown.text
            for allowed in sorted(shown.allowed, key=len, reverse=True):
                text = text.replace(allowed, "<allowed>")
            groups = dict(secret_needles)
            if not shown.tokens_ok:
                groups["issued token"] = token_needles
            for label, needles in groups.items():
                for needle in needles:
                    if needle and needle in text:
                        at = text.index(needle)
                        leaks.append(f"{label} in {shown.where}: ...{text[max(0, at - 60) : at + 20]!r}...")
                        break
        assert not leaks, "secrets leaked:\n" + "\n".join(sorted(set(leaks)))


@pytest.fixture()
def watch(world: World, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Watch:
    return Watch(world, capfd, caplog)


@pytest.fixture()
def cli_watch(world: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Watch:
    return Watch(world, capsys, caplog)


def use(world: World, token: m2mauth.Token) -> None:
    answer = requests.get(world.provider.resource_url, headers={"Authorization": token.authorization}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text


def check_store(folder: Path, watch: Watch, *, where: str = "token store") -> int:
    """Folders 0700, files 0600; token files hold a token record only; other files nothing secret.

    Returns the number of token records found."""
    assert folder.is_dir()
    records = 0
    for path in [folder, *sorted(folder.rglob("*"))]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path} has mode {mode:04o}"
            continue
        assert mode == 0o600, f"{path} has mode {mode:04o}"
        text = path.read_text(encoding="utf-8")
        if path.parent.name == "tokens" and path.suffix == ".json" and not path.name.startswith(".tmp-"):
            record = json.loads(text)
            assert set(record) <= TOKEN_RECORD_KEYS, sorted(set(record) - TOKEN_RECORD_KEYS)
            assert isinstance(record["access_token"], str)
            watch.text(f"{where} file {path.name}", text, tokens_ok=True)
            records += 1
        else:
            watch.text(f"{where} file {path.relative_to(folder)}", text)
    return records


# -- every flow ----------------------------------------------------------------------------------


Credentials = Callable[[World], dict[str, Any]]


def no_env(world: World) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Case:
    id: str
    profile: str
    credentials: Credentials  # called for every use: refresh tokens are single-use
    env: Callable[[World], dict[str, str]] = no_env
    flow: str | None = None
    auth_method: str | None = None

    def options(self) -> dict[str, str]:
        return {k: v for k, v in (("flow", self.flow), ("auth_method", self.auth_method)) if v is not None}


def dt_env(w: World) -> dict[str, str]:
    return {
        "DT_SERVICE_ACCOUNT_KEY_ID": "dt-canary-kid",
        "DT_SERVICE_ACCOUNT_SECRET": w.c.hmac_secret,
        "DT_SERVICE_ACCOUNT_EMAIL": "svc@canary.serviceaccount.example",
    }


def generic_secret(w: World) -> dict[str, Any]:
    return {"token_url": w.url("generic"), "client_id": "gen-secret", "client_secret": w.c.client_secret}


def ce_client(w: World) -> dict[str, Any]:
    return {"token_url": w.url("climate-engine"), "client_id": "ce-client", "client_secret": w.c.client_secret}


FLOWS = [
    Case("clms-service-key-file", "clms", lambda w: {"service_key": str(w.service_key_file)}),
    Case(
        "clms-service-key-json-in-env",
        "clms",
        lambda w: {},
        env=lambda w: {"M2MAUTH_SERVICE_KEY": json.dumps(w.service_key)},
    ),
    Case(
        "dt-hmac-arguments",
        "disruptive-technologies",
        lambda w: {
            "token_url": w.url("disruptive-technologies"),
            "key_id": "dt-canary-kid",
            "secret": w.c.hmac_secret,
            "email": "svc@canary.serviceaccount.example",
        },
    ),
    Case(
        "dt-hmac-environment",
        "disruptive-technologies",
        lambda w: {"token_url": w.url("disruptive-technologies")},
        env=dt_env,
    ),
    Case(
        "openaire-personal-refresh",
        "openaire",
        lambda w: {"token_url": w.url("openaire", "personal_refresh"), "refresh_token": w.refresh("openaire")},
    ),
    Case(
        "openaire-basic",
        "openaire",
        lambda w: {"token_url": w.url("openaire"), "client_id": "oa-basic", "client_secret": w.c.client_secret},
    ),
    Case(
        "openaire-advanced-encrypted-key-file",
        "openaire",
        lambda w: {
            "token_url": w.url("openaire"),
            "client_id": "oa-advanced",
            "private_key": str(w.key_file),
            "key_password": w.c.key_passphrase,
            "key_id": "oa-kid",
        },
    ),
    Case(
        "climate-engine-password",
        "climate-engine",
        lambda w: {"token_url": w.url("climate-engine"), "username": "ce-user@example.org", "password": w.c.password},
    ),
    Case("climate-engine-basic", "climate-engine", ce_client, auth_method="client_secret_basic"),
    Case("climate-engine-post", "climate-engine", ce_client, auth_method="client_secret_post"),
    Case("climate-engine-jwt", "climate-engine", ce_client, auth_method="client_secret_jwt"),
    Case(
        "cdse-client-credentials-environment",
        "cdse-openeo",
        lambda w: {"token_url": w.url("cdse-openeo")},
        env=lambda w: {"OPENEO_AUTH_CLIENT_ID": "cdse-svc", "OPENEO_AUTH_CLIENT_SECRET": w.c.client_secret},
    ),
    Case(
        "cdse-refresh",
        "cdse-openeo",
        lambda w: {"token_url": w.url("cdse-openeo"), "client_id": "cdse-public", "refresh_token": w.refresh("cdse")},
    ),
    Case("generic-basic", "generic", generic_secret, auth_method="client_secret_basic"),
    Case("generic-post", "generic", generic_secret, auth_method="client_secret_post"),
    Case("generic-client-secret-jwt", "generic", generic_secret, auth_method="client_secret_jwt"),
    Case(
        "generic-private-key-jwt-pem-text",
        "generic",
        lambda w: {"token_url": w.url("generic"), "client_id": "gen-key", "private_key": w.c.pem, "key_id": "gen-kid"},
    ),
    Case(
        "generic-password",
        "generic",
        lambda w: {"token_url": w.url("generic"), "username": "gen-user", "password": w.c.password},
    ),
    Case(
        "generic-password-with-client",
        "generic",
        lambda w: {**generic_secret(w), "username": "gen-user", "password": w.c.password},
        flow="password",
        auth_method="client_secret_post",
    ),
    Case(
        "generic-refresh-with-client",
        "generic",
        lambda w: {**generic_secret(w), "refresh_token": w.refresh("generic", "gen-secret")},
    ),
    Case("generic-jwt-bearer-hmac", "generic", lambda w: {**generic_secret(w), "secret": w.c.client_secret},
         flow="jwt_bearer"),
    Case(
        "generic-jwt-bearer-encrypted-pem-text",
        "generic",
        lambda w: {
            "token_url": w.url("generic"),
            "client_id": "gen-key",
            "private_key": w.c.encrypted_pem,
            "key_password": w.c.key_passphrase,
            "key_id": "gen-kid",
        },
        flow="jwt_bearer",
    ),
    Case(
        "generic-discovery",
        "generic",
        lambda w: {
            "issuer": w.provider.issuer_url(),
            "client_id": "cdse-svc",
            "client_secret": w.c.client_secret,
        },
    ),
]


@pytest.mark.parametrize("case", FLOWS, ids=[case.id for case in FLOWS])
def test_every_flow_leaks_nothing(
    case: Case, world: World, watch: Watch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path
) -> None:
    for name, value in case.env(world).items():
        monkeypatch.setenv(name, value)
    options = case.options()

    # What would be sent, and why (build_request does no discovery: the token URL is found first).
    planned = case.credentials(world)
    if "issuer" in planned:
        planned["token_url"] = m2mauth.discover(planned["issuer"], timeout=TIMEOUT)["token_endpoint"]
    plan = m2mauth.build_request(case.profile, **options, **planned)
    watch.show("plan", plan, plan.request, plan.credentials, plan.key, plan.assertion, plan.profile, plan.flow)
    watch.text("redacted request", json.dumps(plan.request.redacted()))
    watch.show("credentials", resolve_credentials(plan.profile, case.credentials(world)))
    jwt = plan.assertion.jwt if plan.assertion else plan.request.field("client_assertion")
    if jwt:
        watch.show("inspect", m2mauth.inspect(jwt, case.profile, key=plan.key, token_url=plan.token_url))

    # One exchange.
    token = watch.token("fetch_token", m2mauth.fetch_token(case.profile, timeout=TIMEOUT, **options,
                                                            **case.credentials(world)))
    use(world, token)

    # A TokenSource over a FileStore: fetched, then renewed (through the refresh token where there is one).
    store = m2mauth.FileStore(tmp_path / "store")
    source = m2mauth.TokenSource(case.profile, store=store, timeout=TIMEOUT, retry=QUICK, **options,
                                 **case.credentials(world))
    watch.token("TokenSource.token()", source.token())
    renewed = watch.token("TokenSource.token(force=True)", source.token(force=True))
    use(world, renewed)
    watch.show("source", source, store)

    # requests: Auth (renewing once after a 401 for a token the server does not know) and session().
    memory = m2mauth.MemoryStore()
    auth = m2mauth.Auth(case.profile, store=memory, timeout=TIMEOUT, retry=QUICK, **options, **case.credentials(world))
    memory.put(auth.source.key, m2mauth.Token("not-a-token-the-server-issued", expires_at=renewed.expires_at))
    answer = requests.get(world.provider.resource_url, auth=auth, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    watch.token("Auth", auth.source.token())
    watch.show("Auth", auth, auth.source, memory)
    with m2mauth.session(case.profile, timeout=TIMEOUT, retry=QUICK, **options, **case.credentials(world)) as http:
        assert http.get(world.provider.resource_url, timeout=TIMEOUT).status_code == 200
        watch.show("session", http.auth)
    if httpx is not None:
        httpx_auth = m2mauth.HttpxAuth(case.profile, timeout=TIMEOUT, retry=QUICK, **options,
                                       **case.credentials(world))
        with httpx.Client(auth=httpx_auth, timeout=TIMEOUT) as client:
            assert client.get(world.provider.resource_url).status_code == 200
        watch.show("HttpxAuth", httpx_auth)

    assert check_store(tmp_path / "store", watch) == 1
    watch.check()


# -- the device login: login, the stored refresh token, TokenSource after login, logout -----------


@pytest.mark.parametrize(
    ("profile", "client"),
    [("cdse-openeo", "public"), ("cdse-openeo", "confidential"), ("generic", "public")],
    ids=["cdse-public-client", "cdse-confidential-client", "generic-discovery"],
)
def test_device_login_and_logout_leak_nothing(
    profile: str, client: str, world: World, watch: Watch, tmp_path: Path, clean_env: Path
) -> None:
    credentials: dict[str, Any] = {"issuer": world.provider.issuer_url(), "client_id": "cdse-public"}
    if client == "confidential":
        credentials = {**credentials, "client_id": "cdse-svc", "client_secret": world.c.client_secret}
    store = m2mauth.FileStore(tmp_path / "store")
    progress = io.StringIO()

    def prompt(authorization: Any) -> None:
        world.device_codes.add(authorization.device_code)
        watch.show("device prompt", authorization)
        world.provider.approve_device(authorization.user_code)

    token = watch.token("login", m2mauth.login(profile, prompt=prompt, store=store, timeout=TIMEOUT,
                                               progress=progress, **credentials))
    assert token.refresh_token
    use(world, token)
    # The second login is not interactive: the stored refresh token is used (prompt and progress to stderr).
    again = watch.token("login again", m2mauth.login(profile, prompt=pytest.fail, store=store, timeout=TIMEOUT,
                                                     **credentials))
    use(world, again)
    source = m2mauth.TokenSource(profile, store=store, flow="device_code", timeout=TIMEOUT, **credentials)
    watch.token("TokenSource after login", source.token(force=True))
    watch.show("source after login", source)
    watch.text("login progress", progress.getvalue())
    assert check_store(tmp_path / "store", watch) == 1
    assert m2mauth.logout(profile, store=store, **credentials) is True
    assert check_store(tmp_path / "store", watch) == 0
    watch.check()


def test_device_login_default_prompt_on_stderr_leaks_nothing(world: World, watch: Watch, tmp_path: Path,
                                                             clean_env: Path) -> None:
    with auto_approve(world):
        token = m2mauth.login("cdse-openeo", issuer=world.provider.issuer_url(), client_id="cdse-svc",
                              client_secret=world.c.client_secret, store=m2mauth.FileStore(tmp_path / "s"),
                              timeout=TIMEOUT)
    watch.token("login (default prompt)", token)
    assert check_store(tmp_path / "s", watch) == 1
    watch.check()


# -- every error path ----------------------------------------------------------------------------


def oa_personal(w: World, refresh_token: str, url: str | None = None, keep: bool = True) -> m2mauth.Token:
    return m2mauth.fetch_token("openaire", refresh_token=refresh_token, timeout=TIMEOUT, keep_refresh_token=keep,
                               token_url=url or w.url("openaire", "personal_refresh"))


def oa_source(w: World, refresh_token: str, timeout: float = TIMEOUT) -> m2mauth.Token:
    return m2mauth.TokenSource("openaire", refresh_token=refresh_token, timeout=timeout, retry=QUICK,
                               token_url=w.url("openaire", "personal_refresh")).token()


def generic_fetch(w: World, timeout: float = TIMEOUT, **changes: Any) -> m2mauth.Token:
    return m2mauth.fetch_token("generic", timeout=timeout, **{**generic_secret(w), **changes})


def generic_source(w: World, timeout: float = TIMEOUT) -> m2mauth.Token:
    return m2mauth.TokenSource("generic", timeout=timeout, retry=QUICK, **generic_secret(w)).token()


def one_line_key_body(pem: str) -> str:
    """What a CI secret often holds: the PEM body on one line, without its BEGIN/END lines."""
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def clms_with_other_key(w: World) -> m2mauth.Token:
    other = serialization.load_pem_private_key(w.c.other_pem.encode(), None)
    pkcs1 = other.private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    return m2mauth.fetch_token("clms", service_key={**w.service_key, "private_key": pkcs1}, timeout=TIMEOUT)


def unregistered_kid(w: World) -> m2mauth.Token:
    return m2mauth.fetch_token("openaire", client_id="oa-advanced", private_key=w.c.other_pem, key_id="oa-kid",
                               token_url=w.url("openaire"), timeout=TIMEOUT)


def advanced(w: World, **changes: Any) -> m2mauth.Token:
    credentials = {"client_id": "oa-advanced", "private_key": str(w.key_file), "key_id": "oa-kid",
                   "key_password": w.c.key_passphrase, "token_url": w.url("openaire"), **changes}
    return m2mauth.fetch_token("openaire", timeout=TIMEOUT, **{k: v for k, v in credentials.items() if v is not None})


@dataclass(frozen=True)
class Failure:
    id: str
    action: Callable[[World], object]
    error: type[m2mauth.M2MAuthError]
    codes: tuple[str, ...]
    fault: tuple[str, dict[str, Any]] | None = None


CLOSED = "http://127.0.0.1:{port}/uoa-user-management/api/users/getAccessToken"

FAILURES = [
    # wrong secrets
    Failure("wrong-client-secret-basic", lambda w: generic_fetch(w, client_secret=w.c.wrong_secret),
            m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-client-secret-post",
            lambda w: m2mauth.fetch_token("climate-engine", auth_method="client_secret_post", timeout=TIMEOUT,
                                          **{**ce_client(w), "client_secret": w.c.wrong_secret}),
            m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-client-secret-jwt",
            lambda w: m2mauth.fetch_token("climate-engine", auth_method="client_secret_jwt", timeout=TIMEOUT,
                                          **{**ce_client(w), "client_secret": w.c.wrong_secret}),
            m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-hmac-secret",
            lambda w: m2mauth.fetch_token("disruptive-technologies", token_url=w.url("disruptive-technologies"),
                                          key_id="dt-canary-kid", secret=w.c.wrong_secret,
                                          email="svc@canary.serviceaccount.example", timeout=TIMEOUT),
            m2mauth.TokenEndpointError, ("invalid_signature",)),
    Failure("wrong-password",
            lambda w: m2mauth.fetch_token("climate-engine", token_url=w.url("climate-engine"), timeout=TIMEOUT,
                                          username="ce-user@example.org", password=w.c.wrong_secret),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("wrong-password-source",
            lambda w: m2mauth.TokenSource("generic", token_url=w.url("generic"), username="gen-user",
                                          password=w.c.wrong_secret, retry=QUICK).token(),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    # wrong keys and passphrases
    Failure("wrong-key-clms", clms_with_other_key, m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("wrong-key-openaire-advanced", unregistered_kid, m2mauth.TokenEndpointError, ("invalid_client",)),
    Failure("wrong-key-passphrase", lambda w: advanced(w, key_password=w.c.wrong_secret), m2mauth.ConfigError,
            ("invalid_key",)),
    Failure("missing-key-passphrase", lambda w: advanced(w, key_password=None), m2mauth.ConfigError,
            ("key_password_required",)),
    Failure("passphrase-for-a-plain-key", lambda w: advanced(w, private_key=w.c.pem), m2mauth.ConfigError,
            ("invalid_key",)),
    Failure("key-body-on-one-line", lambda w: advanced(w, private_key=one_line_key_body(w.c.pem), key_password=None),
            m2mauth.ConfigError, ("key_file_not_found", "key_file_unreadable", "invalid_key")),
    Failure("service-key-body-on-one-line",
            lambda w: m2mauth.fetch_token("clms", service_key=one_line_key_body(w.service_key["private_key"])),
            m2mauth.ConfigError, ("key_file_not_found", "key_file_unreadable", "invalid_service_key")),
    # refused refresh tokens
    Failure("refused-refresh-openaire-get", lambda w: oa_personal(w, w.c.refresh_token), m2mauth.TokenEndpointError,
            ("invalid_grant",)),
    Failure("refused-refresh-openaire-source", lambda w: oa_source(w, w.c.refresh_token),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("refused-refresh-cdse",
            lambda w: m2mauth.fetch_token("cdse-openeo", token_url=w.url("cdse-openeo"), client_id="cdse-public",
                                          refresh_token=w.c.refresh_token, timeout=TIMEOUT),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("refused-refresh-generic", lambda w: generic_fetch(w, refresh_token=w.c.refresh_token),
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    Failure("spent-refresh-openaire",
            # keep=False: m2mauth would otherwise use the rotated successor (issue 8 part 1)
            lambda w: [oa_personal(w, rt, keep=False) for rt in [w.refresh("openaire")] * 2],
            m2mauth.TokenEndpointError, ("invalid_grant",)),
    # faults of the server, on a POST with a client secret and on OpenAIRE's GET with the refresh token
    Failure("fault-429", generic_fetch, m2mauth.TokenEndpointError, ("rate_limited",), ("429", {"retry_after": "0"})),
    Failure("fault-503-source", generic_source, m2mauth.TokenEndpointError, ("temporarily_unavailable",),
            ("503", {"times": 2})),
    Failure("fault-html", generic_fetch, m2mauth.TokenEndpointError, ("server_error",), ("html", {})),
    Failure("fault-truncated-json", generic_fetch, m2mauth.TokenEndpointError, ("invalid_response",),
            ("truncated_json", {})),
    Failure("fault-reset", generic_fetch, m2mauth.TransportError, ("connection_error",), ("reset", {})),
    Failure("fault-429-openaire-get", lambda w: oa_source(w, w.c.refresh_token), m2mauth.TokenEndpointError,
            ("rate_limited",), ("429", {"times": 2, "retry_after": "0"})),
    Failure("fault-html-openaire-get", lambda w: oa_personal(w, w.c.refresh_token), m2mauth.TokenEndpointError,
            ("server_error",), ("html", {})),
    Failure("fault-truncated-openaire-get", lambda w: oa_personal(w, w.refresh("openaire")),
            m2mauth.TokenEndpointError, ("invalid_response",), ("truncated_json", {})),
    Failure("fault-reset-openaire-get", lambda w: oa_personal(w, w.c.refresh_token), m2mauth.TransportError,
            ("connection_error",), ("reset", {})),
    Failure("timeout", lambda w: generic_fetch(w, timeout=0.3), m2mauth.TransportError, ("timeout",),
            ("slow", {"delay": 1.0})),
    Failure("timeout-openaire-get", lambda w: oa_source(w, w.c.refresh_token, timeout=0.3), m2mauth.TransportError,
            ("timeout",), ("slow", {"delay": 1.0, "times": 2})),
    Failure("connection-refused-openaire-get",
            lambda w: oa_personal(w, w.c.refresh_token, CLOSED.format(port=w.closed_port)),
            m2mauth.TransportError, ("connection_error",)),
    # refused before anything is sent
    Failure("insecure-url", lambda w: generic_fetch(w, token_url="http://auth.example.org/oauth/token"),
            m2mauth.ConfigError, ("insecure_url",)),
    Failure("insecure-url-openaire-get", lambda w: oa_personal(w, w.c.refresh_token, "http://10.1.2.3/getAccessToken"),
            m2mauth.ConfigError, ("insecure_url",)),
    Failure("insecure-url-source",
            lambda w: m2mauth.TokenSource("generic", **{**generic_secret(w), "token_url": "http://example.org/t"}),
            m2mauth.ConfigError, ("insecure_url",)),
    Failure("tls-off", lambda w: m2mauth.fetch_token("generic", verify=False, **generic_secret(w)),
            m2mauth.ConfigError, ("insecure_tls",)),
    Failure("key-algorithm-mismatch-clms",
            lambda w: m2mauth.plan_request("clms", alg="HS256", service_key=str(w.service_key_file)),
            m2mauth.ConfigError, ("key_algorithm_mismatch",)),
    Failure("key-algorithm-mismatch-sign-jwt",
            lambda w: m2mauth.sign_jwt({"iss": "me"}, w.c.encrypted_pem, alg="HS256", key_password=w.c.key_passphrase),
            m2mauth.ConfigError, ("key_algorithm_mismatch",)),
    Failure("key-algorithm-mismatch-secret",
            lambda w: m2mauth.plan_request("generic", flow="jwt_bearer", alg="RS256", **generic_secret(w),
                                           secret=w.c.hmac_secret),
            m2mauth.ConfigError, ("key_algorithm_mismatch",)),
    Failure("missing-client-id",
            lambda w: m2mauth.fetch_token("generic", token_url=w.url("generic"), client_secret=w.c.client_secret),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("missing-dt-credentials",
            lambda w: m2mauth.fetch_token("disruptive-technologies", secret=w.c.hmac_secret,
                                          token_url=w.url("disruptive-technologies")),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("missing-username-source", lambda w: m2mauth.TokenSource("climate-engine", password=w.c.password),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("missing-client-id-login",
            lambda w: m2mauth.login("cdse-openeo", client_secret=w.c.client_secret, issuer=w.provider.issuer_url()),
            m2mauth.ConfigError, ("missing_credential",)),
    Failure("unknown-credential-keyword",
            lambda w: m2mauth.fetch_token("generic", token_url=w.url("generic"), client_id="gen-secret",
                                          clientsecret=w.c.client_secret),
            m2mauth.ConfigError, ("unknown_credential",)),
    Failure("login-required",
            lambda w: m2mauth.TokenSource("cdse-openeo", flow="device_code", client_id="cdse-svc",
                                          client_secret=w.c.client_secret, issuer=w.provider.issuer_url(),
                                          store=m2mauth.MemoryStore()).token(),
            m2mauth.ConfigError, ("login_required",)),
]


@pytest.mark.parametrize("failure", FAILURES, ids=[f.id for f in FAILURES])
def test_every_error_path_leaks_nothing(
    failure: Failure, world: World, watch: Watch, clean_env: Path
) -> None:
    if failure.fault is not None:
        kind, options = failure.fault
        world.provider.set_fault(kind, **options)
    try:
        with pytest.raises(failure.error) as caught:
            failure.action(world)
    finally:
        world.provider.clear_faults()
    err = caught.value
    assert err.code in failure.codes or getattr(err, "provider_code", None) in failure.codes, (err.code, str(err))
    watch.error(failure.id, err)
    watch.check()


# -- JWK loading errors (PyJWT converts JWKs; its texts can quote the whole JWK, d included) ------------


def canary_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The canary key as a full RSA JWK (every private member is a canary needle)."""
    numbers = key.private_numbers()
    members = {"n": numbers.public_numbers.n, "e": numbers.public_numbers.e, "d": numbers.d, "p": numbers.p,
               "q": numbers.q, "dp": numbers.dmp1, "dq": numbers.dmq1, "qi": numbers.iqmp}
    return {"kty": "RSA", **{name: b64url_int(value) for name, value in members.items()}}


def broken_canary_jwks(w: World) -> dict[str, Any]:
    """JWKs holding the canary key's private members, each broken in a way a loader must refuse."""
    full = canary_jwk(w.c.key)
    other = canary_jwk(w.c.other_key)
    return {
        "jwk-d-of-another-key": {**full, "d": other["d"]},
        "jwk-primes-of-another-key": {**full, "p": other["p"], "q": other["q"]},
        "jwk-n-e-d-that-do-not-match": {"kty": "RSA", "n": other["n"], "e": full["e"], "d": full["d"]},
        "jwk-bad-character-in-d": {**full, "d": full["d"][:40] + "!!!!" + full["d"][40:]},
        "jwk-padded-p": {**full, "p": full["p"] + "=="},
        "jwk-standard-alphabet-q": {**full, "q": full["q"].replace("-", "+").replace("_", "/") + "+/+/"},
        "jwk-multi-prime": {**full, "oth": [{"r": full["p"], "d": full["dp"], "t": full["qi"]}]},
        "jwk-d-as-number": {**full, "d": w.c.key.private_numbers().d},
        "jwk-ec-with-rsa-members": {**full, "kty": "EC", "crv": "P-256", "x": full["d"][:43], "y": full["p"][:43]},
        "jwk-ec-on-p521": {"kty": "EC", "crv": "P-521", "x": full["p"], "y": full["q"], "d": full["d"]},
        "jwk-oct-bad-k": {"kty": "oct", "k": full["d"] + "*"},
        "jwk-okp": {"kty": "OKP", "crv": "Ed25519", "x": full["n"][:43], "d": full["d"][:43]},
        "jwk-kty-is-the-key": {**full, "kty": full["d"]},
        "jwks-two-keys-no-kid": {"keys": [full, other]},
        "jwks-unknown-kid": {"keys": [{**full, "kid": "a"}, {**other, "kid": "b"}]},
    }


@pytest.mark.parametrize("form", ["mapping", "json-text", "file", "sign_jwt", "fetch_token"])
def test_jwk_loading_errors_leak_nothing(form: str, world: World, watch: Watch, clean_env: Path,
                                         tmp_path: Path) -> None:
    for name, jwk in broken_canary_jwks(world).items():
        given: Any = jwk
        if form == "json-text":
            given = json.dumps(jwk)
        elif form == "file":
            given = private_file(tmp_path / f"{name}.json", json.dumps(jwk))
        with pytest.raises(m2mauth.ConfigError) as caught:
            if form == "sign_jwt":
                m2mauth.sign_jwt({"iss": "me"}, given)
            elif form == "fetch_token":
                m2mauth.fetch_token("generic", flow="jwt_bearer", client_id="gen-key", private_key=given,
                                    token_url=world.url("generic"), timeout=TIMEOUT)
            else:
                m2mauth.load_key(given, kid="c" if name == "jwks-unknown-kid" else None)
        err = caught.value
        assert err.code in {"invalid_key", "invalid_base64", "ambiguous_key"}, (name, err.code)
        assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__), name
        watch.error(f"{form} {name}", err)
    watch.check()


def test_reprs_of_keys_assertions_and_client_auth_leak_nothing(world: World, watch: Watch, clean_env: Path) -> None:
    c = world.c
    keys = [
        m2mauth.load_key(c.pem, kid="k1"),
        m2mauth.load_key(c.encrypted_pem, password=c.key_passphrase),
        m2mauth.load_key(world.key_file, password=c.key_passphrase),
        m2mauth.secret_key(c.hmac_secret, kid="dt"),
        m2mauth.load_key({"kty": "oct", "k": base64.urlsafe_b64encode(c.client_secret.encode()).decode().rstrip("=")}),
    ]
    watch.show("keys", *keys)
    watch.text("public JWK", json.dumps(keys[0].public_jwk()))
    service_key = m2mauth.load_service_key(world.service_key_file)
    watch.show("service key", service_key, service_key.key, m2mauth.load_service_key(json.dumps(world.service_key)))
    for key in keys:
        assertion = m2mauth.make_assertion(key, issuer="me", audience="https://example.org/token", with_jti=True)
        watch.show("assertion", assertion, m2mauth.inspect(assertion.jwt, key=key))
        watch.text("assertion (redacted)", assertion.redacted)
    for method, secret, key in [
        ("client_secret_basic", c.client_secret, None),
        ("client_secret_post", c.client_secret, None),
        ("client_secret_jwt", c.client_secret, None),
        ("private_key_jwt", None, keys[1]),
    ]:
        client = m2mauth.ClientAuth(method, "client", secret, key)
        watch.show("client auth", client)
        request = m2mauth.plan_request(
            "generic", token_url="https://example.org/token", client_id="client", auth_method=method,
            **({"client_secret": secret} if secret else {"private_key": c.encrypted_pem,
                                                        "key_password": c.key_passphrase}),
        ).request
        watch.show("token request", request)
        watch.text("token request (redacted)", json.dumps(request.redacted()))
    signed = m2mauth.sign_jwt({"iss": "me", "aud": "you"}, m2mauth.secret_key(c.hmac_secret))
    watch.show("inspect HS256 grant", m2mauth.inspect(signed, "disruptive-technologies",
                                                      key=m2mauth.secret_key(c.wrong_secret)))
    watch.check()


# -- OpenAIRE's refresh token in the query string and urllib3's DEBUG log --------------------------


def test_refresh_token_in_the_query_string_is_masked_in_urllib3_debug_log(world: World, watch: Watch,
                                                                           clean_env: Path) -> None:
    """urllib3 logs each request line at DEBUG, query string included; OpenAIRE's GET refresh puts the
    refresh token there. m2mauth filters urllib3's records for the requests it sends."""
    refresh_token = world.refresh("openaire")
    token = watch.token("openaire", oa_personal(world, refresh_token))
    use(world, token)
    lines = [r.getMessage() for r in watch.caplog.records if r.name.startswith("urllib3") and "getAccessToken" in
             r.getMessage()]
    assert lines, "urllib3 logged no request line: is its DEBUG logging captured?"
    assert all("refreshToken=<redacted>" in line for line in lines), lines
    # A canary refresh token (refused) is masked the same way.
    with pytest.raises(m2mauth.TokenEndpointError):
        oa_personal(world, world.c.refresh_token)
    watch.check()


# -- the command line ------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli_run(watch: Watch, monkeypatch: pytest.MonkeyPatch, argv: list[str], *, stdin: str = "",
            env: dict[str, str] | None = None, check_stdout: bool = True) -> Result:
    """Run ``m2mauth ARGV`` in-process; its stderr (and stdout, unless the caller checks it itself) join the
    texts the watch checks. No traceback may reach the user."""
    watch.capture.readouterr()
    with monkeypatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        code = cli.main(argv)
    out, err = watch.capture.readouterr()
    where = "m2mauth " + " ".join(argv[:2])
    if check_stdout:
        watch.text(f"{where}: stdout", out)
    watch.text(f"{where}: stderr", err)
    assert "Traceback" not in err
    return Result(code, out, err)


def all_secret_env(w: World) -> dict[str, str]:
    """Every secret environment variable the CLI or the core may read, set to a canary."""
    c = w.c
    return {
        "M2MAUTH_CLIENT_SECRET": c.client_secret,
        "M2MAUTH_SECRET": c.hmac_secret,
        "M2MAUTH_PASSWORD": c.password,
        "M2MAUTH_REFRESH_TOKEN": c.refresh_token,
        "M2MAUTH_KEY_PASSWORD": c.key_passphrase,
        "DT_SERVICE_ACCOUNT_SECRET": c.hmac_secret,
        "OPENEO_AUTH_CLIENT_SECRET": c.client_secret,
    }


def issued_access_tokens(w: World) -> set[str]:
    state = w.provider._state
    with state.lock:
        return set(state._tokens)


@dataclass(frozen=True)
class Command:
    id: str
    argv: Callable[[World], list[str]]
    stdin: Callable[[World], str] = lambda w: ""
    env: Callable[[World], dict[str, str]] = no_env
    shape: str = "plain"  # plain | header | json | json-secrets


def gen_args(w: World) -> list[str]:
    return ["--token-url", w.url("generic"), "--client-id", "gen-secret"]


TOKEN_COMMANDS = [
    Command("generic-secret-stdin", lambda w: ["token", "generic", *gen_args(w), "--client-secret", "-"],
            lambda w: w.c.client_secret + "\n"),
    Command("generic-secret-option", lambda w: ["token", "generic", *gen_args(w), "--client-secret",
                                                w.c.client_secret, "--header"], shape="header"),
    Command("generic-secret-equals", lambda w: ["token", "generic", *gen_args(w),
                                                f"--client-secret={w.c.client_secret}", "--json"], shape="json"),
    Command("generic-secret-environment", lambda w: ["token", "generic", *gen_args(w), "--no-store"],
            env=lambda w: {"M2MAUTH_CLIENT_SECRET": w.c.client_secret}),
    Command("generic-password-show-secrets",
            lambda w: ["token", "generic", "--token-url", w.url("generic"), "--username", "gen-user", "--password",
                       "-", "--json", "--show-secrets"], lambda w: w.c.password + "\n", shape="json-secrets"),
    Command("generic-private-key-file", lambda w: ["token", "generic", "--token-url", w.url("generic"),
                                                   "--client-id", "gen-key", "--private-key", str(w.plain_key_file),
                                                   "--key-id", "gen-kid"]),
    Command("clms-service-key", lambda w: ["token", "clms", "--service-key", str(w.service_key_file)]),
    Command("dt-environment", lambda w: ["token", "disruptive-technologies", "--token-url",
                                         w.url("disruptive-technologies")], env=dt_env),
    Command("openaire-personal-stdin", lambda w: ["token", "openaire", "--token-url",
                                                  w.url("openaire", "personal_refresh"), "--refresh-token", "-"],
            lambda w: w.refresh("openaire") + "\n"),
    Command("openaire-personal-environment", lambda w: ["token", "openaire", "--token-url",
                                                        w.url("openaire", "personal_refresh"), "--json"],
            env=lambda w: {"M2MAUTH_REFRESH_TOKEN": w.refresh("openaire")}, shape="json"),
    Command("openaire-basic", lambda w: ["token", "openaire", "--token-url", w.url("openaire"), "--client-id",
                                         "oa-basic", "--client-secret", "-"], lambda w: w.c.client_secret + "\n"),
    Command("openaire-advanced-encrypted-key",
            lambda w: ["token", "openaire", "--token-url", w.url("openaire"), "--client-id", "oa-advanced",
                       "--private-key", str(w.key_file), "--key-id", "oa-kid", "--key-password", "-"],
            lambda w: w.c.key_passphrase + "\n"),
    Command("climate-engine-password-option",
            lambda w: ["token", "climate-engine", "--token-url", w.url("climate-engine"), "--username",
                       "ce-user@example.org", "--password", w.c.password]),
    Command("climate-engine-client-secret-jwt",
            lambda w: ["token", "climate-engine", "--token-url", w.url("climate-engine"), "--client-id", "ce-client",
                       "--client-secret", "-", "--auth-method", "client_secret_jwt"],
            lambda w: w.c.client_secret + "\n"),
    Command("cdse-environment", lambda w: ["token", "cdse-openeo", "--token-url", w.url("cdse-openeo")],
            env=lambda w: {"OPENEO_AUTH_CLIENT_ID": "cdse-svc", "OPENEO_AUTH_CLIENT_SECRET": w.c.client_secret}),
    Command("cdse-refresh", lambda w: ["token", "cdse-openeo", "--token-url", w.url("cdse-openeo"), "--client-id",
                                       "cdse-public", "--refresh-token", "-"], lambda w: w.refresh("cdse") + "\n"),
]


@pytest.mark.parametrize("command", TOKEN_COMMANDS, ids=[c.id for c in TOKEN_COMMANDS])
def test_cli_token_prints_only_the_token_asked_for(
    command: Command, world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    before = issued_access_tokens(world)
    argv = command.argv(world)
    result = cli_run(cli_watch, monkeypatch, argv, stdin=command.stdin(world), env=command.env(world),
                     check_stdout=False)
    assert result.code == cli.EXIT_OK, result.err
    new = issued_access_tokens(world) - before
    printed = result.out.strip()
    asked_for: list[str] = []
    if command.shape == "plain":
        assert printed in new
        asked_for = [printed]
    elif command.shape == "header":
        assert printed.startswith("Authorization: Bearer ")
        asked_for = [printed.removeprefix("Authorization: Bearer ")]
        assert asked_for[0] in new
    else:
        record = json.loads(printed)
        if command.shape == "json":
            assert record["access_token"] == "<redacted>"
            assert record["refresh_token"] in (None, "<redacted>")
        else:
            assert record["access_token"] in new
            assert record["refresh_token"] in issued_by(world.provider)
            asked_for = [record["access_token"], record["refresh_token"]]
    # Only the token(s) asked for may be in stdout; any other issued token or canary is a leak.
    cli_watch.text("m2mauth token: stdout", result.out, allowed=asked_for)
    if "--no-store" not in argv:
        assert check_store(clean_env, cli_watch) >= 1
    cli_watch.check()


CLI_FAILURES = [
    Command("wrong-secret", lambda w: ["token", "generic", *gen_args(w), "--client-secret", "-"],
            lambda w: w.c.wrong_secret + "\n", shape="1"),
    Command("wrong-dt-secret", lambda w: ["token", "disruptive-technologies", "--token-url",
                                          w.url("disruptive-technologies")],
            env=lambda w: {**dt_env(w), "DT_SERVICE_ACCOUNT_SECRET": w.c.wrong_secret}, shape="1"),
    Command("wrong-passphrase", lambda w: ["token", "openaire", "--token-url", w.url("openaire"), "--client-id",
                                           "oa-advanced", "--private-key", str(w.key_file), "--key-id", "oa-kid",
                                           "--key-password", w.c.wrong_secret], shape="3"),
    Command("refused-refresh-token", lambda w: ["token", "openaire", "--token-url",
                                                w.url("openaire", "personal_refresh"), "--refresh-token", "-"],
            lambda w: w.c.refresh_token + "\n", shape="1"),
    Command("insecure-url", lambda w: ["token", "generic", "--token-url", "http://auth.example.org/token",
                                       "--client-id", "c", "--client-secret", w.c.client_secret], shape="3"),
    Command("connection-refused", lambda w: ["token", "openaire", "--token-url",
                                             CLOSED.format(port=w.closed_port),
                                             "--timeout", "1", "--no-store"],
            env=lambda w: {"M2MAUTH_REFRESH_TOKEN": w.c.refresh_token}, shape="4"),
    Command("missing-client-id", lambda w: ["token", "generic", "--token-url", w.url("generic"),
                                            "--client-secret", w.c.client_secret], shape="3"),
    Command("key-body-as-path", lambda w: ["token", "generic", "--token-url", w.url("generic"), "--client-id",
                                           "gen-key", "--private-key", one_line_key_body(w.c.pem)], shape="3"),
    Command("login-without-client-id", lambda w: ["login", "cdse-openeo", "--issuer", w.provider.issuer_url(),
                                                  "--client-secret", "-"], lambda w: w.c.client_secret, shape="3"),
    Command("doctor-wrong-hmac-secret", lambda w: ["doctor", "disruptive-technologies", "--token-url",
                                                   w.url("disruptive-technologies"), "--secret", "-"],
            lambda w: w.c.wrong_secret, env=lambda w: {k: v for k, v in dt_env(w).items() if "SECRET" not in k},
            shape="1"),
    Command("doctor-wrong-client-secret-json", lambda w: ["doctor", "generic", *gen_args(w), "--client-secret", "-",
                                                          "--json"], lambda w: w.c.wrong_secret, shape="1"),
    Command("doctor-wrong-password", lambda w: ["doctor", "climate-engine", "--token-url", w.url("climate-engine"),
                                                "--username", "ce-user@example.org", "--password", "-"],
            lambda w: w.c.wrong_secret, shape="1"),
    Command("doctor-wrong-passphrase", lambda w: ["doctor", "openaire", "--token-url", w.url("openaire"),
                                                  "--client-id", "oa-advanced", "--private-key", str(w.key_file),
                                                  "--key-id", "oa-kid", "--key-password", "-"],
            lambda w: w.c.wrong_secret, shape="1"),
    Command("doctor-key-body-as-path", lambda w: ["doctor", "generic", "--token-url", w.url("generic"),
                                                  "--client-id", "gen-key", "--private-key",
                                                  one_line_key_body(w.c.pem)], shape="1"),
    Command("doctor-ok-dt-environment", lambda w: ["doctor", "disruptive-technologies", "--token-url",
                                                   w.url("disruptive-technologies")], env=dt_env, shape="0"),
    Command("doctor-ok-clms", lambda w: ["doctor", "clms", "--service-key", str(w.service_key_file)], shape="0"),
    Command("doctor-ok-openaire-advanced", lambda w: ["doctor", "openaire", "--token-url", w.url("openaire"),
                                                      "--client-id", "oa-advanced", "--private-key", str(w.key_file),
                                                      "--key-id", "oa-kid", "--key-password", "-", "--json"],
            lambda w: w.c.key_passphrase, shape="0"),
    Command("doctor-ok-openaire-personal", lambda w: ["doctor", "openaire", "--token-url",
                                                      w.url("openaire", "personal_refresh"), "--refresh-token", "-"],
            lambda w: w.c.refresh_token, shape="0"),
    Command("doctor-ok-generic-all-env", lambda w: ["doctor", "generic", *gen_args(w)], env=all_secret_env,
            shape="0"),
    Command("doctor-ok-climate-engine-jwt", lambda w: ["doctor", "climate-engine", "--token-url",
                                                       w.url("climate-engine"), "--client-id", "ce-client",
                                                       "--client-secret", w.c.client_secret, "--auth-method",
                                                       "client_secret_jwt"], shape="0"),
    Command("status-all-env", lambda w: ["status"], env=all_secret_env, shape="0"),
    Command("status-profile", lambda w: ["status", "generic", *gen_args(w), "--client-secret", "-", "--json"],
            lambda w: w.c.client_secret, shape="0"),
    Command("logout-profile", lambda w: ["logout", "generic", *gen_args(w), "--client-secret", w.c.client_secret],
            shape="0"),
    Command("profiles-all-env", lambda w: ["profiles"], env=all_secret_env, shape="0"),
    Command("profiles-show-all-env", lambda w: ["profiles", "show", "disruptive-technologies", "--json"],
            env=all_secret_env, shape="0"),
    Command("vectors-all-env", lambda w: ["vectors", "verify"], env=all_secret_env, shape="0"),
]


@pytest.mark.parametrize("command", CLI_FAILURES, ids=[c.id for c in CLI_FAILURES])
def test_cli_commands_and_failures_print_no_secret(
    command: Command, world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    result = cli_run(cli_watch, monkeypatch, command.argv(world), stdin=command.stdin(world), env=command.env(world))
    assert result.code == int(command.shape), result.out + result.err
    if result.code not in (0,) and command.argv(world)[0] == "token":
        assert result.err.startswith("error [") or "\nerror [" in result.err
    if clean_env.exists():
        check_store(clean_env, cli_watch)
    cli_watch.check()


def test_cli_doctor_with_a_grant_on_stdin(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                          clean_env: Path) -> None:
    plan = m2mauth.build_request("clms", service_key=str(world.service_key_file))
    assert plan.assertion is not None
    grant = plan.assertion.jwt
    cli_watch.forbid("the grant's signature", [grant.rsplit(".", 1)[1]])
    result = cli_run(cli_watch, monkeypatch, ["doctor", "clms", "--service-key", str(world.service_key_file), "--jwt",
                                              "-", "--send"], stdin=grant)
    assert result.code == cli.EXIT_OK, result.out + result.err
    assert "issued" in result.out
    cli_watch.check()


def test_cli_inspect_prints_no_secret(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                      clean_env: Path) -> None:
    plan = m2mauth.build_request("generic", auth_method="client_secret_jwt", **generic_secret(world))
    assertion = plan.request.field("client_assertion")
    assert assertion
    cli_watch.forbid("the client assertion's signature", [assertion.rsplit(".", 1)[1]])
    for argv, stdin in ([["inspect", "-", "--profile", "generic"], assertion],
                        [["inspect", assertion, "--profile", "generic", "--json", "--token-url",
                          world.url("generic")], ""]):
        result = cli_run(cli_watch, monkeypatch, argv, stdin=stdin, env=all_secret_env(world))
        assert result.code in (cli.EXIT_OK, cli.EXIT_FAILED), result.err
    cli_watch.check()


def test_cli_login_status_logout_print_no_secret(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, clean_env: Path) -> None:
    store = tmp_path / "cli-store"
    creds = ["--issuer", world.provider.issuer_url(), "--client-id", "cdse-svc", "--client-secret", "-",
             "--store", str(store)]
    with auto_approve(world):
        result = cli_run(cli_watch, monkeypatch, ["login", "cdse-openeo", *creds], stdin=world.c.client_secret)
    assert result.code == cli.EXIT_OK, result.err
    assert "refresh token stored" in result.out
    again = cli_run(cli_watch, monkeypatch, ["login", "cdse-openeo", *creds], stdin=world.c.client_secret)
    assert again.code == cli.EXIT_OK and "Authenticated using refresh token." in again.err
    for argv in (["status", "--store", str(store)], ["status", "cdse-openeo", *creds, "--json"]):
        shown = cli_run(cli_watch, monkeypatch, argv, stdin=world.c.client_secret, env=all_secret_env(world))
        assert shown.code == cli.EXIT_OK and "cdse-openeo" in shown.out
    assert check_store(store, cli_watch) == 1
    gone = cli_run(cli_watch, monkeypatch, ["logout", "cdse-openeo", *creds], stdin=world.c.client_secret)
    assert gone.code == cli.EXIT_OK and "forgot" in gone.out
    assert check_store(store, cli_watch) == 0
    cli_watch.check()


def test_cli_keygen_prints_no_private_key(world: World, cli_watch: Watch, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, clean_env: Path) -> None:
    out = tmp_path / "keys"
    result = cli_run(cli_watch, monkeypatch, ["keygen", "--kid", "canary-kid", "--out", str(out)],
                     env=all_secret_env(world))
    assert result.code == cli.EXIT_OK, result.err
    private = serialization.load_pem_private_key((out / "canary-kid.private.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    cli_watch.forbid("keygen's private key", key_needles(private))
    for name in ("canary-kid.private.pem", "canary-kid.keystore.jwk.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    public = json.loads((out / "canary-kid.public.jwk.json").read_text())
    assert list(public) == ["kty", "e", "kid", "alg", "n"]
    cli_watch.text("public JWK file", json.dumps(public))
    cli_watch.check()


USAGE_ERRORS = [
    ["token", "generic", "--client-id", "c", "--clientsecret", "{secret}"],
    ["token", "generic", "--client-id", "c", "--client-secret={secret}", "--timeout", "soon"],
    ["token", "generic", "--client-secret", "{secret}", "--no-such-option"],
    ["token", "generic", "--password", "{secret}", "--json", "--header"],
    ["token", "generic", "--password", "{secret}", "--show-secrets"],
    ["inspect", "--profile", "generic", "--client-secret", "{secret}"],
    ["keygen", "--kid", "k", "--secret", "{secret}"],
    ["doctor", "generic", "--client-secret", "{secret}", "--json-body"],
    ["status", "generic", "--key-password", "{secret}", "--password"],
    ["profiles", "show", "--refresh-token", "{secret}"],
    ["login", "cdse-openeo", "--client-id", "c", "--client_secret", "{secret}"],
    ["nosuchcommand", "--client-secret", "{secret}"],
]


@pytest.mark.parametrize("template", USAGE_ERRORS, ids=[f"{t[0]}-{i}" for i, t in enumerate(USAGE_ERRORS)])
def test_cli_usage_errors_do_not_echo_secrets(template: list[str], world: World, cli_watch: Watch,
                                              monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    argv = [part.replace("{secret}", world.c.client_secret) for part in template]
    result = cli_run(cli_watch, monkeypatch, argv)
    assert result.code == cli.EXIT_USAGE, result.out + result.err
    assert "error [usage]" in result.err
    cli_watch.check()


def test_cli_in_a_subprocess_prints_only_the_token(world: World, watch: Watch, tmp_path: Path,
                                                   clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "M2MAUTH_DEBUG"}
    env.update(all_secret_env(world))
    for name in ("M2MAUTH_CLIENT_SECRET", "M2MAUTH_REFRESH_TOKEN", "M2MAUTH_PASSWORD"):  # they would choose the flow
        del env[name]
    env["M2MAUTH_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "python"), os.environ.get("PYTHONPATH")]))
    base = [sys.executable, "-m", "m2mauth", "token", "generic", *gen_args(world), "--client-secret", "-"]
    before = issued_access_tokens(world)
    good = subprocess.run(base, input=world.c.client_secret + "\n", capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() in issued_access_tokens(world) - before
    watch.text("subprocess stdout", good.stdout, allowed=[good.stdout.strip()])
    watch.text("subprocess stderr", good.stderr)
    bad = subprocess.run([*base, "--no-store"], input=world.c.wrong_secret + "\n", capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert bad.returncode == cli.EXIT_FAILED
    assert bad.stdout == "" and "error [invalid_client]" in bad.stderr and "Traceback" not in bad.stderr
    watch.text("subprocess stderr (refused)", bad.stderr)
    check_store(tmp_path / "home", watch)
    watch.check()
