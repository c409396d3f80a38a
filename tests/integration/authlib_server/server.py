#!/usr/bin/env python3
"""A small, real OAuth 2.0 authorization server built from Authlib's server parts.

It exists so that m2mauth's integration tests can show that the requests m2mauth
sends are accepted by an implementation somebody else wrote. Everything that
decides whether a request is valid (client authentication, grant handling, JWT
assertion checks, bearer-token checks) is Authlib's; this file only supplies the
storage (in memory), the configuration and a few strictness checks that RFC 6749
asks for and Authlib leaves to the application.

Usage::

    python server.py --config CONFIG.json --port 0 --ready-file READY.json

The server binds 127.0.0.1 only. Once it accepts connections it writes
``{"port": N, "pid": P}`` to the ready file (atomically), then serves until
SIGTERM or SIGINT (``--exit-with-parent``: or until the process that started it
is gone; ``--max-seconds S``: or for at most S seconds).

Configuration (JSON)::

    {
      "expires_in": 3600,              # default access-token lifetime, seconds
      "leeway": 60,                    # clock-skew allowance for JWT assertions
      "token_delay": 0.0,              # optional sleep before each token request
      "assertion_algorithms": null,    # null = Authlib/joserfc default (HS256, RS256, ES256)
      "extra_audiences": [],           # accepted besides the token endpoint URL
      "clients": [
        {"client_id": "...", "client_secret": "...",
         "token_endpoint_auth_method": "client_secret_basic",
         "grant_types": ["client_credentials"], "scope": "read write",
         "jwks": {"keys": [...]},      # private_key_jwt only: public keys
         "expires_in": 1}              # optional per-client lifetime
      ],
      "users": [{"username": "...", "password": "..."}],
      "issuers": [                     # or a mapping {"<iss>": {...the rest...}}
        {"iss": "...", "jwk": {...} | "jwks": {"keys": [...]} | "secret": "...",
         "subject": "..." | "subjects": ["..."], "scope": "...", "expires_in": 60}
      ]
    }

Endpoints: ``POST /oauth/token``, ``GET /api/resource``, ``GET /_stats``,
``POST /_stats/reset``, ``GET /.well-known/oauth-authorization-server``.

Nothing secret (client secrets, passwords, assertions, tokens, Authorization
headers, request bodies) is ever logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, cast

from authlib.common.security import generate_token  # type: ignore[import-untyped, unused-ignore]
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2 import OAuth2Error  # type: ignore[import-untyped, unused-ignore]
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped, unused-ignore]
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    TokenMixin,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import (  # type: ignore[import-untyped, unused-ignore]
    BearerTokenGenerator,
    BearerTokenValidator,
    InsufficientScopeError,
    InvalidTokenError,
)
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion, JWTBearerGrant  # type: ignore[import-untyped, unused-ignore]
from flask import Flask, Response, g, jsonify, request
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet, OctKey, import_key
from werkzeug.serving import BaseWSGIServer, make_server

LOG = logging.getLogger("authlib-test-server")

BIND_HOST = "127.0.0.1"
TOKEN_PATH = "/oauth/token"
RESOURCE_PATH = "/api/resource"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FORM_MIMETYPE = "application/x-www-form-urlencoded"
REALM = "m2mauth-authlib-test"

AUTH_METHODS: tuple[str, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",  # last: it only matches public clients that sent nothing else
)
KNOWN_GRANTS = frozenset({"client_credentials", "password", "refresh_token", JWT_BEARER})


class ConfigError(ValueError):
    """The configuration file is not usable."""


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class User:
    """A resource owner (password grant) or an assertion subject (jwt-bearer)."""

    username: str

    def get_user_id(self) -> str:
        return self.username


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    """A registered client, or an RFC 7523 issuer (``is_issuer``)."""

    client_id: str
    client_secret: str | None
    token_endpoint_auth_method: str
    grant_types: frozenset[str]
    scope: str
    expires_in: int
    verify_key: Key | KeySet | None = None
    subjects: frozenset[str] = frozenset()
    is_issuer: bool = False

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Grant the requested scope if every part is allowed; no scope = all."""
        if not scope:
            return self.scope
        allowed = set(scope_to_list(self.scope) or [])
        requested = scope_to_list(scope) or []
        if not set(requested) <= allowed:
            raise InvalidScopeError()
        return cast(str, list_to_scope(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret is None or self.is_issuer:
            return False
        return secrets.compare_digest(client_secret.encode("utf-8"), self.client_secret.encode("utf-8"))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_issuer:
            return False
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        return True

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    """An issued access token (and maybe its refresh token)."""

    access_token: str
    refresh_token: str | None
    client_id: str
    scope: str
    user: str | None
    grant_type: str
    auth_method: str | None
    issued_at: float
    expires_in: int
    refresh_revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> User | None:
        return User(self.user) if self.user else None


# --------------------------------------------------------------------------- state


@dataclass
class ServerState:
    """Everything the server keeps, in memory, behind one lock."""

    clients: dict[str, Client]
    issuers: dict[str, Client]
    users: dict[str, str]
    default_expires_in: int
    leeway: int
    token_delay: float
    assertion_algorithms: list[str] | None
    extra_audiences: list[str]
    base_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_index: dict[str, Token] = field(default_factory=dict)
    used_jtis: dict[tuple[str, str], float] = field(default_factory=dict)
    token_requests: Counter[str] = field(default_factory=Counter)
    tokens_issued: Counter[str] = field(default_factory=Counter)
    token_errors: Counter[str] = field(default_factory=Counter)
    issued_by_client: dict[str, Counter[str]] = field(default_factory=dict)
    issued_by_auth_method: Counter[str] = field(default_factory=Counter)
    resource_requests: Counter[str] = field(default_factory=Counter)

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def audiences(self) -> list[str]:
        return [self.token_url, *self.extra_audiences]

    def check_user(self, username: str, password: str) -> User | None:
        expected = self.users.get(username)
        if expected is None:
            # compare anyway so that unknown users take about as long
            secrets.compare_digest(password.encode("utf-8"), b"x" * 16)
            return None
        if secrets.compare_digest(password.encode("utf-8"), expected.encode("utf-8")):
            return User(username)
        return None

    def use_jti(self, subject: str, jti: str, exp: float) -> bool:
        """Remember a client-assertion ``jti``; False if it was seen before."""
        now = time.time()
        with self.lock:
            for key in [k for k, until in self.used_jtis.items() if until < now]:
                del self.used_jtis[key]
            key = (subject, jti)
            if key in self.used_jtis:
                return False
            self.used_jtis[key] = max(float(exp), now) + self.leeway
            return True

    def save_token(self, token: Token) -> None:
        with self.lock:
            self.tokens[token.access_token] = token
            if token.refresh_token:
                self.refresh_index[token.refresh_token] = token
            self.tokens_issued[token.grant_type] += 1
            self.issued_by_client.setdefault(token.client_id, Counter())[token.grant_type] += 1
            if token.auth_method:
                self.issued_by_auth_method[token.auth_method] += 1

    def find_access_token(self, value: str) -> Token | None:
        with self.lock:
            return self.tokens.get(value)

    def find_refresh_token(self, value: str) -> Token | None:
        with self.lock:
            token = self.refresh_index.get(value)
            if token is None or token.refresh_revoked:
                return None
            return token

    def revoke_refresh_token(self, token: Token) -> None:
        with self.lock:
            token.refresh_revoked = True

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "token_requests": dict(self.token_requests),
                "tokens_issued": dict(self.tokens_issued),
                "token_errors": dict(self.token_errors),
                "issued_by_client": {k: dict(v) for k, v in self.issued_by_client.items()},
                "issued_by_auth_method": dict(self.issued_by_auth_method),
                "resource_requests": dict(self.resource_requests),
            }

    def reset_stats(self) -> None:
        with self.lock:
            self.token_requests.clear()
            self.tokens_issued.clear()
            self.token_errors.clear()
            self.issued_by_client.clear()
            self.issued_by_auth_method.clear()
            self.resource_requests.clear()


# --------------------------------------------------------------------------- config


def _require_str(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{name}' must be a non-empty string")
    return value


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: expires_in must be a positive integer")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def _import_public_keys(entry: Mapping[str, Any], where: str) -> Key | KeySet:
    """Import verification keys: a JWKS, a single JWK, or an HMAC secret."""
    if "jwks" in entry:
        jwks = entry["jwks"]
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ConfigError(f"{where}: 'jwks' must be an object with a 'keys' list")
        for key in jwks["keys"]:
            if isinstance(key, dict) and key.get("kty") != "oct" and "d" in key:
                raise ConfigError(f"{where}: 'jwks' must hold public keys only")
        key_set: KeySet = KeySet.import_key_set(cast(Any, jwks))
        return key_set
    if "jwk" in entry:
        jwk = entry["jwk"]
        if not isinstance(jwk, dict):
            raise ConfigError(f"{where}: 'jwk' must be an object")
        if jwk.get("kty") != "oct" and "d" in jwk:
            raise ConfigError(f"{where}: 'jwk' must be a public key")
        single: Key = import_key(cast(Any, jwk))
        return single
    if "secret" in entry:
        oct_key: OctKey = OctKey.import_key(_require_str(entry, "secret", where))
        return oct_key
    raise ConfigError(f"{where}: needs 'jwks', 'jwk' or 'secret'")


def load_state(config: Mapping[str, Any]) -> ServerState:
    """Build the in-memory state from the parsed configuration."""
    default_expires = _positive_int(config.get("expires_in", 3600), "config")
    clients: dict[str, Client] = {}
    for index, entry in enumerate(config.get("clients", [])):
        where = f"clients[{index}]"
        client_id = _require_str(entry, "client_id", where)
        method = entry.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in AUTH_METHODS:
            raise ConfigError(f"{where}: unknown token_endpoint_auth_method {method!r}")
        secret = entry.get("client_secret")
        if secret is not None and not isinstance(secret, str):
            raise ConfigError(f"{where}: client_secret must be a string")
        needs_secret = (
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
        )
        if method in needs_secret and not secret:
            raise ConfigError(f"{where}: {method} needs a client_secret")
        verify_key: Key | KeySet | None = None
        if method == "client_secret_jwt":
            verify_key = OctKey.import_key(cast(str, secret))
        elif method == "private_key_jwt":
            if "jwks" not in entry and "jwk" not in entry:
                raise ConfigError(f"{where}: private_key_jwt needs 'jwks'")
            verify_key = _import_public_keys({k: v for k, v in entry.items() if k in ("jwks", "jwk")}, where)
        grant_types = frozenset(_str_list(entry.get("grant_types", ["client_credentials"]), where))
        unknown = grant_types - KNOWN_GRANTS
        if unknown:
            raise ConfigError(f"{where}: unsupported grant types {sorted(unknown)}")
        if client_id in clients:
            raise ConfigError(f"{where}: duplicate client_id")
        clients[client_id] = Client(
            client_id=client_id,
            client_secret=secret,
            token_endpoint_auth_method=method,
            grant_types=grant_types,
            scope=" ".join(_str_list(entry.get("scope", ""), where)),
            expires_in=_positive_int(entry.get("expires_in", default_expires), where),
            verify_key=verify_key,
        )

    issuers: dict[str, Client] = {}
    issuer_entries = config.get("issuers", [])
    if isinstance(issuer_entries, dict):  # {"iss": {...}} is accepted as well
        issuer_entries = [{"iss": iss, **entry} for iss, entry in issuer_entries.items()]
    for index, entry in enumerate(issuer_entries):
        where = f"issuers[{index}]"
        iss = _require_str(entry, "iss", where)
        subjects = _str_list(entry.get("subjects", []), where)
        if "subject" in entry:
            subjects.append(_require_str(entry, "subject", where))
        issuers[iss] = Client(
            client_id=iss,
            client_secret=None,
            token_endpoint_auth_method="none",
            grant_types=frozenset({JWT_BEARER}),
            scope=" ".join(_str_list(entry.get("scope", ""), where)),
            expires_in=_positive_int(entry.get("expires_in", default_expires), where),
            verify_key=_import_public_keys(entry, where),
            subjects=frozenset(subjects),
            is_issuer=True,
        )

    users: dict[str, str] = {}
    for index, entry in enumerate(config.get("users", [])):
        where = f"users[{index}]"
        users[_require_str(entry, "username", where)] = _require_str(entry, "password", where)

    algorithms = config.get("assertion_algorithms")
    if algorithms is not None:
        algorithms = _str_list(algorithms, "assertion_algorithms")
        if "none" in algorithms:
            raise ConfigError("assertion_algorithms: 'none' is never allowed")
    leeway = config.get("leeway", 60)
    if isinstance(leeway, bool) or not isinstance(leeway, int) or leeway < 0:
        raise ConfigError("leeway must be a non-negative integer")
    delay = config.get("token_delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 30:
        raise ConfigError("token_delay must be a number of seconds between 0 and 30")
    return ServerState(
        clients=clients,
        issuers=issuers,
        users=users,
        default_expires_in=default_expires,
        leeway=leeway,
        token_delay=float(delay),
        assertion_algorithms=algorithms,
        extra_audiences=_str_list(config.get("extra_audiences", []), "extra_audiences"),
    )


# --------------------------------------------------------------------------- Authlib parts


class TestAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's Flask AuthorizationServer, carrying our state for the grants."""

    def __init__(self, app: Flask, state: ServerState) -> None:
        self.state = state
        super().__init__(app, query_client=self._lookup_client, save_token=self._store_token)

    def _lookup_client(self, client_id: str) -> Client | None:
        return self.state.clients.get(client_id)

    def _store_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        client = oauth_request.client
        user = getattr(oauth_request, "user", None)
        grant_type = str(oauth_request.payload.grant_type)
        auth_method = getattr(oauth_request, "auth_method", None)
        if client.is_issuer:
            auth_method = "jwt-bearer-assertion"
        record = Token(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=client.get_client_id(),
            scope=token.get("scope", "") or "",
            user=user.get_user_id() if user is not None else None,
            grant_type=grant_type,
            auth_method=auth_method,
            issued_at=time.time(),
            expires_in=int(token["expires_in"]),
        )
        self.state.save_token(record)
        g.issued_client_id = record.client_id
        g.issued_auth_method = auth_method


def _server_state(server: Any) -> ServerState:
    return cast(TestAuthorizationServer, server).state


class _ClientAssertionAuth(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client authentication, bound to one method name.

    Authlib ships one ``JWTBearerClientAssertion``; registered twice, under
    ``client_secret_jwt`` and ``private_key_jwt``, each copy only speaks for
    clients registered with its own method, so a client can never use the
    other kind of assertion.
    """

    def __init__(self, method: str, state: ServerState) -> None:
        super().__init__(validate_jti=True, leeway=state.leeway)
        self.CLIENT_AUTH_METHOD = method
        self.state = state

    def __call__(self, query_client: Any, oauth_request: Any) -> Any:
        form = oauth_request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") == self.CLIENT_ASSERTION_TYPE and assertion:
            _headers, claims = self.extract_assertion(assertion)
            subject = claims.get("sub")
            client = query_client(subject) if isinstance(subject, str) else None
            if client is not None and client.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD:
                return None  # the other assertion method (or none) speaks for it
        return super().__call__(query_client, oauth_request)

    def get_audiences(self) -> list[str]:
        return self.state.audiences

    def validate_jti(self, claims: Mapping[str, Any], jti: Any) -> bool:
        if not isinstance(jti, str) or not jti:
            return False
        exp = claims.get("exp")
        return self.state.use_jti(str(claims["sub"]), jti, float(exp) if exp else time.time())

    def resolve_client_public_key(self, client: Client) -> Key | KeySet:
        if client.verify_key is None:
            raise InvalidClientError(description="The client has no verification key.")
        return client.verify_key

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        algorithms = self.state.assertion_algorithms
        if algorithms is None:
            return super().process_assertion_claims(assertion, resolve_key)
        try:
            token = jose_jwt.decode(assertion, resolve_key, algorithms=algorithms)
        except JoseError as error:
            raise InvalidClientError(description=error.description) from error
        self.verify_claims(token.claims)
        return token.claims


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def authenticate_user(self, username: str, password: str) -> User:
        user = _server_state(self.server).check_user(username, password)
        if user is None:
            # RFC 6749 §5.2: invalid resource owner credentials are invalid_grant
            raise InvalidGrantError(description="Invalid resource owner credentials.")
        return user


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each use issues a new one

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        return _server_state(self.server).find_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: Token) -> User | None:
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: Token) -> None:
        _server_state(self.server).revoke_refresh_token(refresh_token)


class AssertionGrant(JWTBearerGrant):  # type: ignore[misc]
    """RFC 7523 §2.1 JWT bearer authorization grant."""

    CLAIMS_OPTIONS: ClassVar[dict[str, dict[str, Any]]] = {
        "iss": {"essential": True},
        "sub": {"essential": True},  # RFC 7523 §3 item 2: sub is required
        "aud": {"essential": True},
        "exp": {"essential": True},
    }

    def __init__(self, oauth_request: Any, server: Any) -> None:
        super().__init__(oauth_request, server)
        self.LEEWAY = _server_state(server).leeway

    def process_assertion_claims(self, assertion: str) -> Any:
        state = _server_state(self.server)
        if state.assertion_algorithms is None:
            return super().process_assertion_claims(assertion)
        _headers, claims = self.extract_assertion(assertion)
        issuer = claims.get("iss")
        client = self.resolve_issuer_client(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise InvalidGrantError(description="Unknown issuer.")
        try:
            token = jose_jwt.decode(
                assertion,
                self.resolve_client_public_key(client),
                algorithms=state.assertion_algorithms,
            )
        except (JoseError, ValueError) as error:
            raise InvalidGrantError(description="Invalid JWT assertion.") from error
        self.verify_claims(token.claims)
        return token.claims

    def resolve_issuer_client(self, issuer: str) -> Client | None:
        return _server_state(self.server).issuers.get(issuer)

    def resolve_client_public_key(self, client: Client) -> Key | KeySet:
        if client.verify_key is None:
            raise InvalidGrantError(description="The issuer has no verification key.")
        return client.verify_key

    def authenticate_user(self, subject: str) -> User | None:
        client = self.request.client
        if isinstance(client, Client) and subject in client.subjects:
            return User(subject)
        return None

    def has_granted_permission(self, client: Client, user: User) -> bool:
        return user.username in client.subjects

    def get_audiences(self) -> list[str]:
        return _server_state(self.server).audiences


class StoredBearerTokenValidator(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, state: ServerState) -> None:
        super().__init__(realm=REALM)
        self.state = state

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.state.find_access_token(token_string)


# --------------------------------------------------------------------------- Flask app


def _error_response(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return Response(json.dumps(body), status=status, headers=headers)


def _precheck_token_request() -> OAuth2Error | None:
    """RFC 6749 rules that Authlib leaves to the application."""
    if request.args:
        # §2.3.1 / §3.2: parameters (and credentials) go in the body, not the URI
        return InvalidRequestError(description="Parameters must be sent in the request body.")
    if request.mimetype != FORM_MIMETYPE:
        # §4.4.2 etc.: application/x-www-form-urlencoded only
        return InvalidRequestError(description="The body must be application/x-www-form-urlencoded.")
    for name in request.form:
        if len(request.form.getlist(name)) > 1:
            # §3.2: parameters MUST NOT be included more than once
            return InvalidRequestError(description=f"Repeated parameter {name}.")
    mechanisms = 0
    authorization = request.headers.get("Authorization", "")
    if authorization:
        mechanisms += 1
    if "client_secret" in request.form:
        mechanisms += 1
    if "client_assertion" in request.form or "client_assertion_type" in request.form:
        mechanisms += 1
    if mechanisms > 1:
        # §2.3: more than one authentication mechanism in one request
        return InvalidRequestError(description="More than one client authentication mechanism was used.")
    return None


def create_app(state: ServerState) -> Flask:
    """Wire Authlib's server parts into a Flask application."""
    app = Flask("authlib_test_server")
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024

    authorization = TestAuthorizationServer(app, state)

    def expires_in(client: Client, grant_type: str) -> int:
        return client.expires_in

    def access_token_value(**_kwargs: Any) -> str:
        return str(generate_token(42))

    def refresh_token_value(**_kwargs: Any) -> str:
        return str(generate_token(48))

    authorization.register_token_generator(
        "default",
        BearerTokenGenerator(access_token_value, refresh_token_value, expires_in),
    )
    for method in ("client_secret_jwt", "private_key_jwt"):
        authorization.register_client_auth_method(method, _ClientAssertionAuth(method, state))
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_grant(PasswordGrant)
    authorization.register_grant(RefreshTokenGrant)
    authorization.register_grant(AssertionGrant)

    protector = ResourceProtector()
    protector.register_token_validator(StoredBearerTokenValidator(state))

    @app.post(TOKEN_PATH)
    def token_endpoint() -> Response:
        grant_type = request.form.get("grant_type") or "(missing)"
        if grant_type not in KNOWN_GRANTS and grant_type != "(missing)":
            grant_type = "(other)"
        with state.lock:
            state.token_requests[grant_type] += 1
        problem = _precheck_token_request()
        if problem is not None:
            response = _error_response(problem)
        else:
            if state.token_delay:
                time.sleep(state.token_delay)
            with state.lock:  # serialises refresh-token rotation, jti checks, counts
                response = cast(Response, authorization.create_token_response())
        if response.status_code != 200:
            with state.lock:
                state.token_errors[grant_type] += 1
        _log_token_response(grant_type, response)
        return response

    @app.get(RESOURCE_PATH)
    def resource() -> Response:
        required = request.args.get("scope")
        try:
            token = cast(Token, protector.acquire_token([required] if required else None))
        except InsufficientScopeError as error:
            response = _error_response(error)
            response.headers["WWW-Authenticate"] = (
                f'Bearer realm="{REALM}", error="insufficient_scope", scope="{required}"'
            )
            outcome = "insufficient_scope"
        except InvalidTokenError as error:
            response = _error_response(error)
            outcome = "invalid_token"
        except OAuth2Error as error:
            # missing header or another scheme: answer with invalid_token as well
            response = _error_response(
                InvalidTokenError(description=error.description or "No bearer token.", realm=REALM)
            )
            outcome = "invalid_token"
        else:
            response = jsonify(
                ok=True,
                client_id=token.client_id,
                scope=token.scope,
                sub=token.user,
                grant_type=token.grant_type,
                auth_method=token.auth_method,
            )
            outcome = "ok"
        with state.lock:
            state.resource_requests[outcome] += 1
        LOG.info("GET %s -> %s %s", RESOURCE_PATH, response.status_code, outcome)
        return response

    @app.get("/_stats")
    def stats() -> Response:
        return jsonify(state.stats())

    @app.post("/_stats/reset")
    def reset_stats() -> Response:
        state.reset_stats()
        return jsonify(ok=True)

    @app.get("/.well-known/oauth-authorization-server")
    def metadata() -> Response:
        return jsonify(
            issuer=state.base_url,
            token_endpoint=state.token_url,
            grant_types_supported=sorted(KNOWN_GRANTS),
            token_endpoint_auth_methods_supported=list(AUTH_METHODS),
            token_endpoint_auth_signing_alg_values_supported=state.assertion_algorithms or ["HS256", "RS256", "ES256"],
            response_types_supported=[],
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        code = getattr(error, "code", None)
        if isinstance(code, int) and 400 <= code < 600:
            return Response(
                json.dumps({"error": "invalid_request" if code < 500 else "server_error"}),
                status=code,
                mimetype="application/json",
            )
        LOG.error("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
        return Response(
            json.dumps({"error": "server_error"}),
            status=500,
            mimetype="application/json",
        )

    return app


def _log_token_response(grant_type: str, response: Response) -> None:
    """One line per token request, with no secret in it."""
    outcome = ""
    if response.status_code != 200:
        try:
            body = json.loads(response.get_data(as_text=True))
            outcome = f" error={body.get('error', '')}"
            description = str(body.get("error_description", ""))[:160]
            if description:
                outcome += f" ({description})"
        except (ValueError, AttributeError):
            outcome = " error=?"
    LOG.info(
        "POST %s grant_type=%s client_id=%s auth=%s -> %s%s",
        TOKEN_PATH,
        grant_type,
        g.get("issued_client_id") or "-",
        g.get("issued_auth_method") or "-",
        response.status_code,
        outcome,
    )


# --------------------------------------------------------------------------- main


def _write_ready_file(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}), encoding="utf-8")
    os.replace(tmp, path)


def _watch_parent(server: BaseWSGIServer, parent: int, stop: threading.Event) -> None:
    """Shut down if the process that started us goes away (no orphans)."""
    while not stop.wait(0.5):
        if os.getppid() != parent:
            LOG.warning("parent process went away; shutting down")
            server.shutdown()
            return


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", required=True, type=Path, help="JSON configuration file")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = free)")
    parser.add_argument("--ready-file", required=True, type=Path, help='gets {"port", "pid"}')
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="also stop when the starting process goes away (used by the pytest fixture)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="stop by itself after this long (default 0 = never)",
    )
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s authlib-test-server %(levelname)s %(message)s",
    )
    # werkzeug's access log would print query strings, Authlib's debug log tokens
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("authlib").setLevel(logging.WARNING)

    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ConfigError("the configuration must be a JSON object")
        state = load_state(config)
    except (OSError, ValueError, JoseError) as error:
        LOG.error("bad configuration: %s", error)
        return 2

    app = create_app(state)
    server = make_server(BIND_HOST, args.port, app, threaded=True)
    port = int(server.server_port)
    state.base_url = f"http://{BIND_HOST}:{port}"

    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        LOG.info("signal %s received; shutting down", signum)
        # shutdown() waits for serve_forever() to return: never call it from its thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if args.exit_with_parent:
        threading.Thread(target=_watch_parent, args=(server, os.getppid(), stop), daemon=True).start()
    if args.max_seconds > 0:
        timer = threading.Timer(args.max_seconds, server.shutdown)
        timer.daemon = True
        timer.start()

    LOG.info(
        "listening on %s with %d clients, %d issuers, %d users",
        state.base_url,
        len(state.clients),
        len(state.issuers),
        len(state.users),
    )
    _write_ready_file(args.ready_file, port)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        stop.set()
        server.server_close()
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
