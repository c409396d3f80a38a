"""Pytest fixtures that run the Authlib-based test authorization server.

The server (``authlib_server/server.py``) runs as a separate process on
127.0.0.1 and is configured here with one client per token-endpoint
authentication method, a resource owner for the password grant and two RFC 7523
issuers. The fixture object carries the URLs, every credential and the private
key material, so that a test can hand them to the client under test.

Two session-scoped fixtures:

* ``authlib_server`` -- keys freshly generated with ``cryptography``;
* ``authlib_server_spec_keys`` -- the published test keys from ``spec/keys/``.

For a custom configuration use ``run_authlib_server(workdir, keys, ...)``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = [
    "AsymmetricKey",
    "AuthlibServer",
    "ClientCredentials",
    "IssuerCredentials",
    "KeyMaterial",
    "UserCredentials",
    "authlib_server",
    "authlib_server_spec_keys",
    "build_config",
    "run_authlib_server",
]

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "authlib_server" / "server.py"
SPEC_KEYS_DIR = HERE.parent.parent / "spec" / "keys"

STARTUP_TIMEOUT = 20.0
POLL_INTERVAL = 0.05
STOP_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SUBJECT = "service-account@m2mauth.test"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


# --------------------------------------------------------------------------- keys


def _b64url_uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    raw = value.to_bytes(size, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _public_jwk(key: PrivateKey, kid: str, alg: str) -> dict[str, str]:
    """The public JWK (RFC 7517/7518) of a private key."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "kid": kid,
            "alg": alg,
            "use": "sig",
        }
    point = key.public_key().public_numbers()
    if not isinstance(key.curve, ec.SECP256R1):
        raise TypeError("only P-256 EC keys are used in these tests")
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url_uint(point.x, 32),
        "y": _b64url_uint(point.y, 32),
        "kid": kid,
        "alg": alg,
        "use": "sig",
    }


@dataclass(frozen=True)
class AsymmetricKey:
    """A private signing key with its kid, alg, PEM and public JWK."""

    kid: str
    alg: str
    private_key: PrivateKey = field(repr=False)
    source: str = "generated"

    @property
    def private_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )

    @property
    def public_jwk(self) -> dict[str, str]:
        return _public_jwk(self.private_key, self.kid, self.alg)

    @classmethod
    def generate_rsa(cls, kid: str) -> AsymmetricKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=kid, alg="RS256", private_key=key)

    @classmethod
    def generate_ec(cls, kid: str) -> AsymmetricKey:
        return cls(kid=kid, alg="ES256", private_key=ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem_file(cls, path: Path, kid: str, alg: str) -> AsymmetricKey:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError(f"{path}: not an RSA or EC private key")
        return cls(kid=kid, alg=alg, private_key=key, source=str(path))


@dataclass(frozen=True)
class KeyMaterial:
    """All private key material the fixture configures the server with."""

    rsa: AsymmetricKey  # private_key_jwt client (RS256)
    ec: AsymmetricKey  # private_key_jwt client (ES256)
    issuer_rsa: AsymmetricKey  # RFC 7523 jwt-bearer issuer (RS256)
    other_rsa: AsymmetricKey  # registered nowhere: for "wrong key" cases
    hmac_secret: str = field(repr=False)  # client_secret_jwt client secret
    issuer_hmac_secret: str = field(repr=False)  # jwt-bearer issuer (HS256)
    source: str = "generated"

    @classmethod
    def generate(cls) -> KeyMaterial:
        """Fresh keys, made with ``cryptography`` (RSA 2048, P-256, random HMAC)."""
        return cls(
            rsa=AsymmetricKey.generate_rsa("fixture-rsa-1"),
            ec=AsymmetricKey.generate_ec("fixture-ec-1"),
            issuer_rsa=AsymmetricKey.generate_rsa("fixture-issuer-rsa-1"),
            other_rsa=AsymmetricKey.generate_rsa("fixture-rsa-unregistered"),
            hmac_secret=secrets.token_urlsafe(32),
            issuer_hmac_secret=secrets.token_urlsafe(32),
        )

    @classmethod
    def from_spec_keys(cls, directory: Path = SPEC_KEYS_DIR) -> KeyMaterial:
        """The published test keys of ``spec/keys/`` (see its README.md)."""
        rsa_kid = json.loads((directory / "test-rsa-2048.public.jwk.json").read_text())["kid"]
        ec_kid = json.loads((directory / "test-ec-p256.jwk.json").read_text())["kid"]
        rsa_key = AsymmetricKey.from_pem_file(directory / "test-rsa-2048.pkcs8.pem", kid=rsa_kid, alg="RS256")
        hmac_secret = (directory / "test-hmac.secret").read_text(encoding="utf-8")
        return cls(
            rsa=rsa_key,
            ec=AsymmetricKey.from_pem_file(directory / "test-ec-p256.pkcs8.pem", kid=ec_kid, alg="ES256"),
            issuer_rsa=rsa_key,
            other_rsa=AsymmetricKey.from_pem_file(
                directory / "test-rsa-2048-other.pkcs8.pem",
                kid="m2mauth-test-rsa-other",
                alg="RS256",
            ),
            hmac_secret=hmac_secret,
            issuer_hmac_secret=hmac_secret,
            source=str(directory),
        )


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class ClientCredentials:
    """One registered client, as a test hands it to the client under test."""

    client_id: str
    client_secret: str | None = field(repr=False)
    auth_method: str
    grant_types: tuple[str, ...]
    scope: str
    key: AsymmetricKey | None = None  # private_key_jwt signing key
    expires_in: int | None = None

    def config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "client_id": self.client_id,
            "token_endpoint_auth_method": self.auth_method,
            "grant_types": list(self.grant_types),
            "scope": self.scope,
        }
        if self.client_secret is not None:
            entry["client_secret"] = self.client_secret
        if self.key is not None:
            entry["jwks"] = {"keys": [self.key.public_jwk]}
        if self.expires_in is not None:
            entry["expires_in"] = self.expires_in
        return entry


@dataclass(frozen=True)
class IssuerCredentials:
    """An RFC 7523 issuer for the jwt-bearer authorization grant."""

    iss: str
    subject: str
    scope: str
    key: AsymmetricKey | None = None  # RS256 issuer
    hmac_secret: str | None = field(default=None, repr=False)  # HS256 issuer

    @property
    def alg(self) -> str:
        return self.key.alg if self.key is not None else "HS256"

    def config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "iss": self.iss,
            "subject": self.subject,
            "scope": self.scope,
        }
        if self.key is not None:
            entry["jwk"] = self.key.public_jwk
        else:
            entry["secret"] = self.hmac_secret
        return entry


@dataclass(frozen=True)
class UserCredentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ServerSetup:
    config: dict[str, Any]
    clients: dict[str, ClientCredentials]
    issuers: dict[str, IssuerCredentials]
    users: dict[str, UserCredentials]


def build_config(
    keys: KeyMaterial,
    *,
    expires_in: int = 3600,
    short_expires_in: int = 1,
    overrides: Mapping[str, Any] | None = None,
) -> ServerSetup:
    """The standard set of clients, issuers and users.

    Client roles (keys of ``clients``): ``basic``, ``post``, ``secret_jwt``,
    ``private_jwt``, ``private_jwt_ec``, ``password`` (confidential,
    password + refresh_token), ``public`` (auth method none, password +
    refresh_token), ``short`` (``short_expires_in`` lifetime), ``special``
    (id and secret that need percent-encoding in HTTP Basic: ``:``, ``%``,
    ``+``, ``/``, non-ASCII) and ``space`` (a secret with spaces).
    Issuer roles: ``rsa`` and ``hmac``. User roles: ``alice``.
    """
    scope = "read write"
    cc = ("client_credentials",)
    pw = ("password", "refresh_token")
    clients = {
        "basic": ClientCredentials("m2m-basic", secrets.token_urlsafe(24), "client_secret_basic", cc, scope),
        "post": ClientCredentials("m2m-post", secrets.token_urlsafe(24), "client_secret_post", cc, scope),
        "secret_jwt": ClientCredentials("m2m-secret-jwt", keys.hmac_secret, "client_secret_jwt", cc, scope),
        "private_jwt": ClientCredentials("m2m-private-jwt", None, "private_key_jwt", cc, scope, key=keys.rsa),
        "private_jwt_ec": ClientCredentials("m2m-private-jwt-ec", None, "private_key_jwt", cc, scope, key=keys.ec),
        "password": ClientCredentials("m2m-password", secrets.token_urlsafe(24), "client_secret_basic", pw, scope),
        "public": ClientCredentials("m2m-public", None, "none", pw, scope),
        "short": ClientCredentials(
            "m2m-short-lived",
            secrets.token_urlsafe(24),
            "client_secret_basic",
            cc,
            scope,
            expires_in=short_expires_in,
        ),
        "special": ClientCredentials(
            "m2m-special:client/\u00e9",
            "s3cr%t:+/=&\u00e9-" + secrets.token_urlsafe(8),
            "client_secret_basic",
            cc,
            scope,
        ),
        "space": ClientCredentials(
            "m2m-space",
            "secret with spaces " + secrets.token_urlsafe(8),
            "client_secret_basic",
            cc,
            scope,
        ),
    }
    issuers = {
        "rsa": IssuerCredentials("m2m-issuer-rsa", ASSERTION_SUBJECT, scope, key=keys.issuer_rsa),
        "hmac": IssuerCredentials(
            "m2m-issuer-hmac",
            ASSERTION_SUBJECT,
            scope,
            hmac_secret=keys.issuer_hmac_secret,
        ),
    }
    users = {"alice": UserCredentials("alice", secrets.token_urlsafe(16))}
    config: dict[str, Any] = {
        "expires_in": expires_in,
        "clients": [c.config() for c in clients.values()],
        "issuers": [i.config() for i in issuers.values()],
        "users": [{"username": u.username, "password": u.password} for u in users.values()],
    }
    if overrides:
        config.update(overrides)
    return ServerSetup(config=config, clients=clients, issuers=issuers, users=users)


# --------------------------------------------------------------------------- server


@dataclass
class AuthlibServer:
    """A running test authorization server and everything configured in it."""

    base_url: str
    pid: int
    config_path: Path
    log_path: Path
    keys: KeyMaterial
    clients: dict[str, ClientCredentials]
    issuers: dict[str, IssuerCredentials]
    users: dict[str, UserCredentials]

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def resource_url(self) -> str:
        return f"{self.base_url}/api/resource"

    @property
    def stats_url(self) -> str:
        return f"{self.base_url}/_stats"

    def stats(self) -> dict[str, Any]:
        """Counts kept by the server: token_requests, tokens_issued, token_errors
        (per grant type), issued_by_client, issued_by_auth_method,
        resource_requests."""
        response = requests.get(self.stats_url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def reset_stats(self) -> None:
        requests.post(f"{self.stats_url}/reset", timeout=HTTP_TIMEOUT).raise_for_status()

    def log_text(self) -> str:
        """What the server wrote to stderr so far (never holds secrets)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _stop(process: subprocess.Popen[bytes], pid: int | None) -> None:
    if process.poll() is None:
        target = pid if pid is not None else process.pid
        try:
            os.kill(target, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def run_authlib_server(
    workdir: Path,
    keys: KeyMaterial,
    *,
    expires_in: int = 3600,
    short_expires_in: int = 1,
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[AuthlibServer]:
    """Start ``server.py`` with the standard configuration; stop it on exit."""
    setup = build_config(
        keys,
        expires_in=expires_in,
        short_expires_in=short_expires_in,
        overrides=overrides,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "authlib-server-config.json"
    ready_path = workdir / "authlib-server-ready.json"
    log_path = workdir / "authlib-server.log"
    config_path.write_text(json.dumps(setup.config, indent=2), encoding="utf-8")
    ready_path.unlink(missing_ok=True)

    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                str(SERVER_SCRIPT),
                "--config",
                str(config_path),
                "--port",
                "0",
                "--ready-file",
                str(ready_path),
                "--exit-with-parent",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
        pid: int | None = None
        try:
            ready: dict[str, Any] | None = None
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                if ready_path.exists():
                    ready = json.loads(ready_path.read_text(encoding="utf-8"))
                    break
                if process.poll() is not None:
                    break
                time.sleep(POLL_INTERVAL)
            if ready is None:
                _stop(process, None)
                log = log_path.read_text(encoding="utf-8", errors="replace")
                pytest.fail(
                    f"the Authlib test server did not come up within {STARTUP_TIMEOUT} s "
                    f"(exit code {process.returncode}); its stderr:\n{log}",
                    pytrace=False,
                )
            pid = int(ready["pid"])
            if pid != process.pid:
                pytest.fail(f"ready file names pid {pid}, started {process.pid}")
            yield AuthlibServer(
                base_url=f"http://127.0.0.1:{int(ready['port'])}",
                pid=pid,
                config_path=config_path,
                log_path=log_path,
                keys=keys,
                clients=setup.clients,
                issuers=setup.issuers,
                users=setup.users,
            )
        finally:
            _stop(process, pid)


@pytest.fixture(scope="session")
def authlib_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthlibServer]:
    """The Authlib test server with freshly generated keys."""
    with run_authlib_server(tmp_path_factory.mktemp("authlib_server"), KeyMaterial.generate()) as server:
        yield server


@pytest.fixture(scope="session")
def authlib_server_spec_keys(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AuthlibServer]:
    """The Authlib test server configured with the static keys of spec/keys/."""
    with run_authlib_server(
        tmp_path_factory.mktemp("authlib_server_spec_keys"),
        KeyMaterial.from_spec_keys(),
    ) as server:
        yield server
