"""CDSE user accounts on the emulated Keycloak realm: the password grant, two-factor codes, sessions.

What the Copernicus Data Space Ecosystem documents (``APIs/Token.qmd``, ``Quotas.qmd``) and its
users report (eodag #803, #1538), as this emulation answers it:

* ``grant_type=password`` with ``client_id=cdse-public`` (a public client), ``username``,
  ``password`` and, for accounts with two-factor authentication, the current RFC 6238 code as
  ``totp``. A wrong password, an unknown user, a missing or wrong code and a code already used
  all answer ``401 {"error": "invalid_grant", "error_description": "Invalid user credentials"}``.
* Each password grant opens a *session*; ``refresh_token`` grants continue it. A session ends
  ``session_idle`` seconds (60 minutes) after its last token, and each refresh token can be used
  within that time of its own issue (``refresh_expires_in``). Refresh tokens are not revoked when
  a successor is issued (Keycloak's default). A refresh token of an ended session answers
  ``invalid_grant`` "Session not active", an expired one "Token is not active".
* CDSE allows ``session_cap`` (100) active sessions per user: a password grant beyond that
  answers HTTP 429. (Sessions of client_credentials grants are not counted: the documented quota
  is per user account.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import uuid
from dataclasses import dataclass

from ._http import Form, OAuthError

TOTP_STEP = 30  # RFC 6238 §4: the time step of the codes Keycloak accepts by default
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps accepted either side of now (Keycloak's default look-around)
USER_SCOPE = "AUDIENCE_PUBLIC openid email profile user-context"
INVALID_USER_CREDENTIALS = "Invalid user credentials"
TOO_MANY_SESSIONS = "You are requesting too many tokens: the number of active sessions is limited"


def totp_code(secret: str, at: float, *, step: int = TOTP_STEP, digits: int = TOTP_DIGITS) -> str:
    """The RFC 6238 code (HMAC-SHA1, RFC 4226 dynamic truncation) of a base32 ``secret`` at time ``at``."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(at // step))
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def new_totp_secret() -> str:
    """A random base32 TOTP seed, as an authenticator app would scan it."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


@dataclass
class _Account:
    password: str
    totp_secret: str | None


@dataclass
class _Session:
    username: str
    client_id: str
    last_used: float


class CdseAccounts:
    """Users, their sessions and refresh tokens. Every method is thread-safe."""

    def __init__(self, *, session_cap: int = 100, session_idle: int = 3600) -> None:
        self.session_cap = session_cap
        self.session_idle = session_idle
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._sessions: dict[str, _Session] = {}
        self._refresh: dict[str, tuple[str, float]] = {}  # refresh token -> (session id, expires at)
        self._used_codes: dict[tuple[str, str], float] = {}  # (user, code) -> until when it is remembered
        self.opened: dict[str, int] = {}  # sessions ever opened, per user
        self.refused: dict[str, int] = {}  # password grants refused with 429, per user

    def add_user(self, username: str, password: str, totp_secret: str | None) -> None:
        with self._lock:
            self._accounts[username] = _Account(password, totp_secret)

    def active_sessions(self, username: str, now: float) -> int:
        with self._lock:
            return self._count(username, now)

    def _count(self, username: str, now: float) -> int:
        return sum(1 for s in self._sessions.values() if s.username == username and self._live(s, now))

    def _live(self, session: _Session, now: float) -> bool:
        return now < session.last_used + self.session_idle

    def _code_ok(self, username: str, account: _Account, code: str | None, now: float) -> bool:
        if account.totp_secret is None:
            return True
        if not code:
            return False
        for shift in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
            expected = totp_code(account.totp_secret, now + shift * TOTP_STEP)
            if hmac.compare_digest(expected, code):
                if self._used_codes.get((username, code), 0.0) > now:
                    return False  # a code works once (Keycloak's OTP policy)
                for old in [k for k, until in self._used_codes.items() if until <= now]:
                    del self._used_codes[old]
                self._used_codes[(username, code)] = now + (2 * TOTP_WINDOW + 1) * TOTP_STEP
                return True
        return False

    def open_session(self, form: Form, client_id: str, now: float) -> tuple[str, str, str]:
        """Authenticate a password grant and open a session: (session id, refresh token, username)."""
        username, password = form.get("username"), form.get("password")
        if not username or password is None:
            raise OAuthError("invalid_request", "Missing parameter: username or password")
        with self._lock:
            account = self._accounts.get(username)
            if account is None or not hmac.compare_digest(account.password.encode(), password.encode()):
                raise OAuthError("invalid_grant", INVALID_USER_CREDENTIALS, status=401)
            if not self._code_ok(username, account, form.get("totp"), now):
                raise OAuthError("invalid_grant", INVALID_USER_CREDENTIALS, status=401)
            if self._count(username, now) >= self.session_cap:
                self.refused[username] = self.refused.get(username, 0) + 1
                raise OAuthError("too_many_requests", TOO_MANY_SESSIONS, status=429)
            session_id = str(uuid.uuid4())
            self._sessions[session_id] = _Session(username, client_id, now)
            self.opened[username] = self.opened.get(username, 0) + 1
            refresh = secrets.token_urlsafe(40)
            self._refresh[refresh] = (session_id, now + self.session_idle)
            return session_id, refresh, username

    def knows(self, refresh_token: str) -> bool:
        with self._lock:
            return refresh_token in self._refresh

    def continue_session(self, refresh_token: str, client_id: str, now: float) -> tuple[str, str, str]:
        """A refresh_token grant: (session id, new refresh token, username), the session's idle time reset."""
        with self._lock:
            session_id, expires_at = self._refresh[refresh_token]
            session = self._sessions.get(session_id)
            if session is None or not self._live(session, now):
                raise OAuthError("invalid_grant", "Session not active")
            if expires_at <= now:
                raise OAuthError("invalid_grant", "Token is not active")
            if session.client_id != client_id:
                raise OAuthError(
                    "invalid_grant", "Invalid refresh token. Token client and authorized client don't match"
                )
            session.last_used = now
            successor = secrets.token_urlsafe(40)
            self._refresh[successor] = (session_id, now + self.session_idle)
            return session_id, successor, session.username
