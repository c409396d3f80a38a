"""The records Authlib asks the application for: users, clients (and RFC 7523 issuers), tokens."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import cast

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped, unused-ignore]
    ClientMixin,
    InvalidScopeError,
    TokenMixin,
    list_to_scope,
    scope_to_list,
)
from joserfc.jwk import Key, KeySet


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
