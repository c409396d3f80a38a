"""Pytest fixtures that run the certified node ``oidc-provider`` as a real OpenID provider.

The provider (``oidc_provider/server.mjs``, npm package pinned by ``oidc_provider/package.json``
and ``package-lock.json``) runs as a separate node process on 127.0.0.1 with a free port; its
issuer is ``http://127.0.0.1:PORT``. It is configured here with:

* ``m2m-service`` -- a confidential client for client_credentials that authenticates with
  private_key_jwt (RS256); its JWKS holds a decoy key first and the real key under its kid, so
  the provider has to pick the key by the assertion's ``kid``;
* ``m2m-cli`` -- a public client (auth method ``none``) for the device flow, with the
  device_code and refresh_token grants (refresh tokens rotate on every use);
* ``m2m-resource-server`` -- a confidential client (client_secret_basic) that may call the
  introspection endpoint, so tests can ask the provider itself whether a token is active;
* one account (``alice``) for the device flow's login page.

Token lifetimes are short (access tokens 4 s) so that expiry and renewal really happen in a
test. The fixture object carries the URLs, the client ids, the private key (PEM and JWK,
generated here with ``cryptography``) and ``approve(user_code)``: a scripted browser that completes
the device flow over HTTP (user code page, confirmation, login form, consent form).

``node``/``npm`` missing: the tests are skipped. ``node_modules`` missing: ``npm ci`` installs
the pinned version once (bounded, under a lock so parallel workers install once).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "ApprovalError",
    "OidcProvider",
    "approve_device_code",
    "oidc_provider",
    "run_oidc_provider",
]

HERE = Path(__file__).resolve().parent
PROVIDER_DIR = HERE / "oidc_provider"
SERVER_SCRIPT = PROVIDER_DIR / "server.mjs"

NPM_CI_TIMEOUT = 300.0
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05

M2M_CLIENT_ID = "m2m-service"
DEVICE_CLIENT_ID = "m2m-cli"
INTROSPECTOR_ID = "m2m-resource-server"
M2M_SCOPE = "api:read"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

#: Token lifetimes in seconds (oidc-provider's ``ttl`` configuration).
TTL = {
    "AccessToken": 4,
    "ClientCredentials": 4,
    "RefreshToken": 300,
    "DeviceCode": 60,
    "IdToken": 60,
    "Interaction": 120,
    "Session": 600,
    "Grant": 600,
}


# --------------------------------------------------------------------------- keys


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _rsa_jwks(key: rsa.RSAPrivateKey, kid: str) -> tuple[dict[str, str], dict[str, str]]:
    """The public and the private JWK (RFC 7517/7518) of an RSA key."""
    pub = key.public_key().public_numbers()
    public = {
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
        "n": _b64url_uint(pub.n),
        "e": _b64url_uint(pub.e),
    }
    priv = key.private_numbers()
    private = {
        **public,
        "d": _b64url_uint(priv.d),
        "p": _b64url_uint(priv.p),
        "q": _b64url_uint(priv.q),
        "dp": _b64url_uint(priv.dmp1),
        "dq": _b64url_uint(priv.dmq1),
        "qi": _b64url_uint(priv.iqmp),
    }
    return public, private


# --------------------------------------------------------------------------- the scripted approver


class ApprovalError(AssertionError):
    """The device-flow pages did not go as a user would see them."""


@dataclass
class _Form:
    id: str | None
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    """The forms of a page, their hidden and text inputs, and the page title."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.title = ""
        self._in_title = False
        self._current: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = _Form(a.get("id"), a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and a.get("name"):
            owner = self._owner(a.get("form"))
            if owner is not None and a.get("type", "text") in ("hidden", "text", "password", "email"):
                owner.fields[a["name"]] = a.get("value", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()

    def _owner(self, form_id: str | None) -> _Form | None:
        if form_id:
            return next((f for f in self.forms if f.id == form_id), None)
        return self._current


def _parse(response: requests.Response) -> _Forms:
    parser = _Forms()
    parser.feed(response.text)
    return parser


def _form(response: requests.Response, form_id: str, step: str) -> _Form:
    page = _parse(response)
    found = next((f for f in page.forms if f.id == form_id), None)
    if response.status_code != 200 or found is None:
        raise ApprovalError(
            f"{step}: expected the form {form_id!r} at {response.url}, got HTTP {response.status_code} "
            f"page {page.title!r}: {response.text[:400]!r}"
        )
    return found


def _submit(
    http: requests.Session, page_url: str, form: _Form, extra: Mapping[str, str] | None = None
) -> requests.Response:
    data = {**form.fields, **(extra or {})}
    return http.post(urljoin(page_url, form.action), data=data, timeout=HTTP_TIMEOUT, allow_redirects=True)


def approve_device_code(
    verification_uri: str, user_code: str, username: str, password: str, *, deny: bool = False
) -> str:
    """Do what a person does in a browser: open the verification page, enter the user code, confirm
    the device, sign in, allow the client. Plain HTTP form posts with a cookie jar; no JavaScript.

    Returns the title of the last page ("Sign-in Success" when approved).
    """
    with requests.Session() as http:
        http.trust_env = False  # loopback: no proxies from the environment
        page = http.get(verification_uri, timeout=HTTP_TIMEOUT)
        # oidc-provider's user code page: a form with a hidden xsrf field and the code.
        page = _submit(http, page.url, _form(page, "op.deviceInputForm", "user code page"), {"user_code": user_code})
        confirm = _form(page, "op.deviceConfirmForm", "device confirmation page")
        if deny:
            # The "[ Abort ]" button of the confirmation page submits the same form with abort=yes.
            page = _submit(http, page.url, confirm, {"abort": "yes"})
            return _parse(page).title
        page = _submit(http, page.url, confirm)  # hidden confirm=yes -> 303 to the login interaction
        page = _submit(http, page.url, _form(page, "login", "login page"), {"username": username, "password": password})
        page = _submit(http, page.url, _form(page, "consent", "consent page"))
        title = _parse(page).title
        if page.status_code != 200 or title != "Sign-in Success":
            raise ApprovalError(f"the device flow did not end on the success page: HTTP {page.status_code} {title!r}")
        return title


# --------------------------------------------------------------------------- the fixture object


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    metadata: Mapping[str, Any]
    pid: int
    workdir: Path
    # client_credentials + private_key_jwt
    m2m_client_id: str
    m2m_scope: str
    key_id: str
    private_key_pem: str
    private_jwk: Mapping[str, str]
    public_jwks: Mapping[str, Any]
    # device flow (public client)
    device_client_id: str
    username: str
    password: str
    # a resource server allowed to introspect
    introspector_id: str
    introspector_secret: str
    ttl: Mapping[str, int]
    # RFC 8693 token exchange (server.mjs registers the grant): the subject token comes from
    # subject_client (client_credentials, client_secret_basic); each exchanging client uses one
    # client authentication method: method -> (client id, secret or None for private_key_jwt).
    subject_client: tuple[str, str] = ("", "")
    exchange_clients: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    exchanged_ttl: int = 0

    @property
    def token_url(self) -> str:
        return str(self.metadata["token_endpoint"])

    @property
    def device_authorization_url(self) -> str:
        return str(self.metadata["device_authorization_endpoint"])

    @property
    def introspection_url(self) -> str:
        return str(self.metadata["introspection_endpoint"])

    @property
    def verification_uri(self) -> str:
        return self.issuer + "/device"

    def approve(self, user_code: str, *, deny: bool = False, password: str | None = None) -> str:
        """Approve (or deny) a pending device authorization over HTTP, as the test user."""
        return approve_device_code(
            self.verification_uri, user_code, self.username, self.password if password is None else password, deny=deny
        )

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662: the provider's own view of a token (``active`` false once it has expired)."""
        response = requests.post(
            self.introspection_url,
            data={"token": token},
            auth=(self.introspector_id, self.introspector_secret),
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        data = response.json()
        assert isinstance(data, dict)
        return data

    def log(self) -> str:
        """The provider's stdout/stderr so far (for failure messages)."""
        return _tail(self.workdir / "oidc-provider.log")


# --------------------------------------------------------------------------- install and run


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


def _pinned_version() -> str:
    manifest = json.loads((PROVIDER_DIR / "package.json").read_text(encoding="utf-8"))
    return str(manifest["dependencies"]["oidc-provider"])


def _installed_version() -> str | None:
    try:
        data = json.loads((PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return str(data.get("version"))


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One ``npm ci`` at a time on this machine for this checkout (pytest-xdist workers)."""
    digest = hashlib.sha256(str(PROVIDER_DIR).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"m2mauth-oidc-provider-npm-{digest}.lock"
    if sys.platform == "win32":  # pragma: no cover
        yield
        return
    import fcntl

    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_installed(npm: str, say: Any = print) -> None:
    """``npm ci`` (exact versions from package-lock.json) unless the pinned version is installed."""
    pinned = _pinned_version()
    if _installed_version() == pinned:
        return
    with _install_lock():
        if _installed_version() == pinned:
            return
        say(f"installing oidc-provider with npm ci… ({pinned}, into {PROVIDER_DIR / 'node_modules'})")
        started = time.monotonic()
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PROVIDER_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"npm ci did not finish within {NPM_CI_TIMEOUT:g} s in {PROVIDER_DIR}")
        if result.returncode != 0 or _installed_version() != pinned:
            pytest.fail(
                f"npm ci failed (exit {result.returncode}) in {PROVIDER_DIR}; installed "
                f"{_installed_version()!r}, pinned {pinned!r}:\n{result.stderr[-3000:]}"
            )
        say(f"installed oidc-provider {pinned} in {time.monotonic() - started:.1f} s")


def _stop(process: subprocess.Popen[bytes], pid: int) -> None:
    """SIGTERM by pid, then SIGKILL after STOP_TIMEOUT seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()


TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_CLIENT_ID = "m2m-subject"
#: Seconds an exchanged token lasts: shorter than the subject token's 4 s, so a renewal by a
#: repeated exchange happens while the subject token is still valid.
EXCHANGED_TTL = 2


def exchange_client_ids() -> dict[str, str]:
    return {
        method: f"m2m-exchange-{method.replace('_', '-')}"
        for method in ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt")
    }


def _exchange_clients(
    public_jwks: Mapping[str, Any], secrets_by_method: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    clients = []
    for method, client_id in exchange_client_ids().items():
        client: dict[str, Any] = {
            "client_id": client_id,
            "token_endpoint_auth_method": method,
            "grant_types": [TOKEN_EXCHANGE_GRANT],
            "response_types": [],
            "redirect_uris": [],
            "scope": M2M_SCOPE,
        }
        if method == "private_key_jwt":
            client.update(jwks=dict(public_jwks), token_endpoint_auth_signing_alg="RS256")
        else:
            client["client_secret"] = secrets_by_method[method]
        clients.append(client)
    return clients


def build_config(
    public_jwks: Mapping[str, Any],
    introspector_secret: str,
    password: str,
    subject_secret: str = "",
    exchange_secrets: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The server's JSON configuration: client metadata as oidc-provider takes it, accounts, TTLs."""
    extra_clients: list[dict[str, Any]] = []
    if exchange_secrets is not None:
        extra_clients = [
            {
                "client_id": SUBJECT_CLIENT_ID,
                "client_secret": subject_secret,
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "scope": M2M_SCOPE,
            },
            *_exchange_clients(public_jwks, exchange_secrets),
        ]
    return {
        "tokenExchange": {"exchangedTtl": EXCHANGED_TTL},
        "port": 0,
        "ttl": TTL,
        "scopes": [M2M_SCOPE, "email"],
        "rotateRefreshToken": True,
        "introspection": True,
        "accounts": [{"sub": "alice", "username": "alice", "password": password, "email": "alice@example.test"}],
        "clients": [
            {
                "client_id": M2M_CLIENT_ID,
                "client_name": "m2mauth integration test service",
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
                "jwks": dict(public_jwks),
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "scope": M2M_SCOPE,
            },
            {
                "client_id": DEVICE_CLIENT_ID,
                "client_name": "m2mauth integration test CLI",
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "grant_types": [DEVICE_GRANT, "refresh_token"],
                "response_types": [],
                "redirect_uris": [],
                "scope": "openid offline_access email",
            },
            {
                "client_id": INTROSPECTOR_ID,
                "client_secret": introspector_secret,
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
            },
            *extra_clients,
        ],
    }


@contextlib.contextmanager
def run_oidc_provider(workdir: Path, say: Any = print) -> Iterator[OidcProvider]:
    """Install (if needed), configure, start and finally stop one oidc-provider process."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the oidc-provider integration tests (apt-get install nodejs npm)")
    ensure_installed(npm, say)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    decoy = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = f"m2mauth-test-{secrets.token_hex(4)}"
    public_jwk, private_jwk = _rsa_jwks(key, key_id)
    decoy_jwk, _ = _rsa_jwks(decoy, f"decoy-{secrets.token_hex(4)}")
    public_jwks = {"keys": [decoy_jwk, public_jwk]}
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    introspector_secret = secrets.token_urlsafe(24)
    password = secrets.token_urlsafe(12)

    config_path = workdir / "oidc-provider.json"
    subject_secret = secrets.token_urlsafe(24)
    exchange_secrets: dict[str, str | None] = {
        method: (None if method == "private_key_jwt" else secrets.token_urlsafe(48)) for method in exchange_client_ids()
    }
    config = build_config(public_jwks, introspector_secret, password, subject_secret, exchange_secrets)
    config_path.write_text(json.dumps(config, indent=1), "utf-8")
    ready_path = workdir / "oidc-provider-ready.json"
    ready_path.unlink(missing_ok=True)
    log_path = workdir / "oidc-provider.log"

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                node,
                str(SERVER_SCRIPT),
                "--config",
                str(config_path),
                "--port",
                "0",
                "--ready-file",
                str(ready_path),
                "--exit-on-stdin-close",  # an orphaned server dies with the test session
            ],
            cwd=PROVIDER_DIR,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NODE_ENV": "test"},
        )
    pid = process.pid
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        ready: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"oidc-provider exited with {process.returncode} on start:\n{_tail(log_path)}")
            if ready_path.exists():
                ready = json.loads(ready_path.read_text(encoding="utf-8"))
                break
            time.sleep(POLL_INTERVAL)
        if ready is None:
            pytest.fail(f"oidc-provider was not ready within {STARTUP_TIMEOUT:g} s:\n{_tail(log_path)}")
        if int(ready["pid"]) != pid:
            pytest.fail(f"the ready file names pid {ready['pid']}, but the fixture started {pid}")
        issuer = str(ready["issuer"])
        metadata: dict[str, Any] | None = None
        while metadata is None and time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException, ValueError):
                response = requests.get(issuer + "/.well-known/openid-configuration", timeout=2)
                if response.status_code == 200:
                    metadata = response.json()
                    break
            time.sleep(POLL_INTERVAL)
        if metadata is None:
            pytest.fail(f"oidc-provider at {issuer} served no discovery document:\n{_tail(log_path)}")
        if metadata.get("issuer") != issuer:
            pytest.fail(f"discovery names issuer {metadata.get('issuer')!r}, expected {issuer!r}")
        yield OidcProvider(
            issuer=issuer,
            metadata=metadata,
            pid=pid,
            workdir=workdir,
            m2m_client_id=M2M_CLIENT_ID,
            m2m_scope=M2M_SCOPE,
            key_id=key_id,
            private_key_pem=pem,
            private_jwk=private_jwk,
            public_jwks=public_jwks,
            device_client_id=DEVICE_CLIENT_ID,
            username="alice",
            password=password,
            introspector_id=INTROSPECTOR_ID,
            introspector_secret=introspector_secret,
            ttl=dict(TTL),
            subject_client=(SUBJECT_CLIENT_ID, subject_secret),
            exchange_clients={m: (exchange_client_ids()[m], exchange_secrets[m]) for m in exchange_client_ids()},
            exchanged_ttl=EXCHANGED_TTL,
        )
    finally:
        _stop(process, pid)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[OidcProvider]:
    """One oidc-provider for the session (started on 127.0.0.1, stopped by pid)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        # Progress shown even under output capture (npm ci can take a while on a cold cache).
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(f"\n[oidc-provider] {message}", flush=True)
        else:
            print(f"[oidc-provider] {message}", flush=True)

    with run_oidc_provider(tmp_path_factory.mktemp("oidc-provider"), say) as provider:
        yield provider
