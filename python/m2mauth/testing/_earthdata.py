"""NASA Earthdata Login (EDL) user-token emulation.

The User Tokens API (https://urs.earthdata.nasa.gov/documentation/for_users/user_token): every call
takes ``Authorization: Basic base64(username:password)``.

* ``POST /api/users/find_or_create_token``: a valid token of the user if there is one (the one
  expiring last), else a new one.
* ``POST /api/users/token``: always a new one, refused when the user already holds two valid
  tokens ("a maximum of two valid user tokens at any given time").
* ``GET /api/users/tokens``: the user's valid tokens.
* ``POST /api/users/revoke_token?token=...``: revoke one.

Answers carry ``access_token`` (an RS256 JWT with ``exp``, as the real ones are), ``token_type``
``Bearer`` and ``expiration_date`` as ``MM/DD/YYYY`` (UTC). Tokens last ``token_lifetime`` (60
days) and work as ``Authorization: Bearer`` on the provider's resource URL (CMR, a DAAC).

Error answers. A wrong username or password: 401 ``{"error": "invalid_credentials",
"error_description": "Invalid user credentials"}``, as EDL answers (earthaccess-dev/earthaccess#453
shows that body; nasa/cumulus's EDL client tests mock it with 401). The cap: ``error``
``max_token_limit`` is EDL's (podaac/data-subscriber's ``create_token`` checks for it); its status
and ``error_description`` are not published, so 403 and the text here are the emulation's. EDL
also locks an account for 10 minutes after repeated wrong passwords; the emulation does not.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ._http import OAuthError, Request, Response, json_response
from ._jose import sign_rs256
from ._state import EARTHDATA, State

FIND_OR_CREATE_PATH = "/api/users/find_or_create_token"
CREATE_PATH = "/api/users/token"
LIST_PATH = "/api/users/tokens"
REVOKE_PATH = "/api/users/revoke_token"
TOKEN_LIFETIME = 60 * 86400  # "User tokens are valid for a duration of 60 days"
MAX_TOKENS = 2
CAP_ERROR = "max_token_limit"  # EDL's code (podaac/data-subscriber); status and message below are ours
CAP_MESSAGE = "You have reached the maximum number of tokens (2); revoke one to create another"


@dataclass
class EarthdataState:
    token_lifetime: int = TOKEN_LIFETIME
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # user -> [(token, expires at)]
    find_or_create_calls: int = 0
    created: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATES: weakref.WeakKeyDictionary[State, EarthdataState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def earthdata_state(state: State) -> EarthdataState:
    """The EDL part of one provider's memory (kept beside State, so State stays as it is)."""
    with _STATES_LOCK:
        if state not in _STATES:
            _STATES[state] = EarthdataState()
        return _STATES[state]


def _user(state: State, req: Request) -> str:
    scheme, _, encoded = (req.header("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_credentials", "Basic authentication is required", status=401)
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_credentials", "Malformed Basic credentials", status=401) from None
    edl = earthdata_state(state)
    with edl.lock:
        known = edl.users.get(username)
    if known is None or not secrets.compare_digest(known.encode(), password.encode()):
        raise OAuthError("invalid_credentials", "Invalid user credentials", status=401)
    return username


def _valid(edl: EarthdataState, username: str, now: float) -> list[tuple[str, float]]:
    return [(t, exp) for t, exp in edl.tokens.get(username, []) if exp > now]


def _answer(token: str, expires_at: float) -> dict[str, str]:
    day = datetime.fromtimestamp(expires_at, tz=timezone.utc).strftime("%m/%d/%Y")
    return {"access_token": token, "token_type": "Bearer", "expiration_date": day}


def mint(state: State, username: str) -> tuple[str, float]:
    """A new token for ``username`` (no cap check: callers decide), registered for the resource."""
    edl = earthdata_state(state)
    now = state.now()
    expires_at = now + edl.token_lifetime
    claims = {
        "type": "User",
        "uid": username,
        "exp": int(expires_at),
        "iat": int(now),
        "iss": "Earthdata Login",
        "jti": secrets.token_hex(8),  # two tokens minted in one second still differ
    }
    token = sign_rs256(claims, state.server_key, state.server_kid)
    state.issue_access_token(EARTHDATA, username, None, expires_at=expires_at, token=token)
    edl.tokens.setdefault(username, []).append((token, expires_at))
    edl.created += 1
    return token, expires_at


def find_or_create(state: State, req: Request) -> Response:
    username = _user(state, req)
    edl = earthdata_state(state)
    with edl.lock:
        edl.find_or_create_calls += 1
        valid = _valid(edl, username, state.now())
        token, expires_at = max(valid, key=lambda item: item[1]) if valid else mint(state, username)
    return json_response(200, _answer(token, expires_at))


def create(state: State, req: Request) -> Response:
    username = _user(state, req)
    edl = earthdata_state(state)
    with edl.lock:
        if len(_valid(edl, username, state.now())) >= MAX_TOKENS:
            raise OAuthError(CAP_ERROR, CAP_MESSAGE, status=403)
        token, expires_at = mint(state, username)
    return json_response(200, _answer(token, expires_at))


def list_tokens(state: State, req: Request) -> Response:
    username = _user(state, req)
    edl = earthdata_state(state)
    with edl.lock:
        valid = _valid(edl, username, state.now())
    return json_response(200, [_answer(token, expires_at) for token, expires_at in valid])


def revoke(state: State, req: Request) -> Response:
    username = _user(state, req)
    wanted = dict(req.query).get("token", "")
    edl = earthdata_state(state)
    with edl.lock:
        mine = edl.tokens.get(username, [])
        if not any(t == wanted for t, _ in mine):
            raise OAuthError("invalid_token", "No such token for this user", status=404)
        edl.tokens[username] = [(t, exp) for t, exp in mine if t != wanted]
        # The resource refuses it from now on: its record ends now.
        state.issue_access_token(EARTHDATA, username, None, expires_at=state.now(), token=wanted)
    return json_response(200, {})


def valid_tokens(state: State, username: str) -> int:
    edl = earthdata_state(state)
    with edl.lock:
        return valid_tokens_locked(edl, username, state.now())


def valid_tokens_locked(edl: EarthdataState, username: str, now: float) -> int:
    return len(_valid(edl, username, now))
