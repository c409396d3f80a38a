"""The server's in-memory state: clients, users, tokens, used jtis and request counts."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from models import Client, Token, User
from protocol import TOKEN_PATH


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
