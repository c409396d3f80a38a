"""ESA MAAP: a Keycloak realm ``esa-maap`` and its token endpoint
``POST /realms/esa-maap/protocol/openid-connect/token``.

``grant_type=refresh_token`` with a 90-day *offline token* (a JWT with ``typ`` ``Offline``, as
Keycloak issues them) as ``refresh_token``, and the client id and secret of the client it was
issued to (in the body, as maap_client sends them, or Basic) and ``scope=offline_access openid``.
The answer carries a new access token and a new offline token of the same offline session (with
the session's end as ``exp``, so it never outlives the 90 days). By default the old offline token
keeps working (Keycloak's default); ``rotate=True`` (the provider's
``offline_token_rotation=True``) refuses a spent one, as a realm with "Revoke Refresh Token" does.

Error texts are Keycloak's: ``invalid_grant`` "Token is not active" (past its end), "Invalid
refresh token" (unknown or not an offline token), "Stale token" (spent, with rotation),
"Invalid refresh token. Token client and authorized client don't match"; ``invalid_scope``
"Invalid scopes: ..."; ``invalid_client`` "Invalid client or Invalid client credentials".
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass

from ._clientauth import BASIC, POST, ClientAuthPolicy, require_client
from ._http import OAuthError, Request, Response, require_form, require_grant_type
from ._jose import sign_rs256
from ._keycloak import MISSING_GRANT_TYPE, UNSUPPORTED_GRANT_TYPE, token_answer
from ._state import MAAP, State

MAAP_REALM_PATH = "/realms/esa-maap"
MAAP_TOKEN_PATH = MAAP_REALM_PATH + "/protocol/openid-connect/token"
OFFLINE_TOKEN_LIFETIME = 90 * 24 * 3600
SCOPES = frozenset({"openid", "offline_access", "profile", "email"})
POLICY = ClientAuthPolicy(methods=frozenset({BASIC, POST}))


@dataclass(frozen=True)
class _Session:
    client_id: str
    subject: str
    ends_at: float | None  # None: the realm does not cap offline sessions (the token has no exp)


class MaapRealm:
    """Offline sessions, the offline tokens that stand for them, and the spent ones."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[str, _Session] = {}
        self.live: dict[str, str] = {}  # offline token -> session id
        self.spent: set[str] = set()
        self.rotate = False


def realm(state: State) -> MaapRealm:
    return state.emulation(MAAP, MaapRealm)


def _offline_token(state: State, sid: str, session: _Session, now: float) -> str:
    claims: dict[str, object] = {
        "iss": state.url(MAAP_REALM_PATH),
        "aud": state.url(MAAP_REALM_PATH),
        "sub": session.subject,
        "typ": "Offline",
        "azp": session.client_id,
        "sid": sid,
        "scope": "openid offline_access",
        "iat": int(now),
        "jti": str(uuid.uuid4()),
    }
    if session.ends_at is not None:
        claims["exp"] = int(session.ends_at)
    return sign_rs256(claims, state.server_key, state.server_kid)


def issue_offline_token(
    state: State, client_id: str, *, issued_at: float | None = None, lifetime: int | None = OFFLINE_TOKEN_LIFETIME
) -> str:
    """A new offline session for ``client_id`` and its first offline token, as the portal hands it out.

    ``issued_at`` backdates it (a token near its 90 days); ``lifetime`` None leaves ``exp`` out."""
    now = state.now() if issued_at is None else issued_at
    session = _Session(client_id, "maap-user-" + secrets.token_hex(3), None if lifetime is None else now + lifetime)
    sid = str(uuid.uuid4())
    token = _offline_token(state, sid, session, now)
    memory = realm(state)
    with memory.lock:
        memory.sessions[sid] = session
        memory.live[token] = sid
    return token


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    require_grant_type(form, "refresh_token", missing=MISSING_GRANT_TYPE, unsupported=UNSUPPORTED_GRANT_TYPE)
    client = require_client(state, req, form, profile=MAAP, token_url=state.url(MAAP_TOKEN_PATH), policy=POLICY).client
    offered = form.get("refresh_token")
    if not offered:
        raise OAuthError("invalid_request", "Missing parameter: refresh_token")
    scope = form.get("scope")
    if scope is not None and not set(scope.split()) <= SCOPES:
        raise OAuthError("invalid_scope", "Invalid scopes: " + scope)
    memory = realm(state)
    now = state.now()
    with memory.lock:
        sid = memory.live.get(offered)
        if sid is None:
            raise OAuthError("invalid_grant", "Stale token" if offered in memory.spent else "Invalid refresh token")
        session = memory.sessions[sid]
        if session.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Invalid refresh token. Token client and authorized client don't match")
        if session.ends_at is not None and session.ends_at <= now:
            raise OAuthError("invalid_grant", "Token is not active")
        successor = _offline_token(state, sid, session, now)
        memory.live[successor] = sid
        if memory.rotate:
            del memory.live[offered]
            memory.spent.add(offered)
    expires_at = now + state.token_lifetime
    access = state.issue_access_token(MAAP, session.subject, client.client_id, expires_at=expires_at)
    return token_answer(
        access,
        state.token_lifetime,
        "openid offline_access",
        refresh_token=successor,
        refresh_expires_in=0,
        session_state=sid,
    )
