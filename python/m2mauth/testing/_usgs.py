"""USGS Machine-to-Machine API emulation: ``login-token``, an API call and ``logout``.

* Every answer is USGS's envelope ``{"requestId", "version", "sessionId", "data", "errorCode",
  "errorMessage"}`` (the members kapadia/usgs#59 and MrChebur/usgs-machine-to-machine-API's README
  show); ``sessionId`` is null on an error answer, as in #59.
* ``POST .../login-token`` with JSON ``{"username": ..., "token": <application token>}`` answers
  ``data``: an API key; keys last ``key_lifetime`` seconds (2 hours, as USGS says).
* ``POST .../dataset-search`` with ``X-Auth-Token: <api key>``: data, or ``AUTH_EXPIRED`` "API key
  has expired due to inactivity" (USGS's text, kapadia/usgs#59 and #62) for an expired key,
  ``AUTH_INVALID`` for an unknown one, ``AUTH_UNAUTHORIZED`` without a key.
* ``POST .../logout`` with ``X-Auth-Token`` ends the key.
* The retired ``POST .../login`` (username and password) answers ``NOT_FOUND`` "Invalid Endpoint",
  as USGS has since March 2025 (yannforget/landsatxplore#130).

USGS's list of error codes (https://m2m.cr.usgs.gov/api/docs/exceptioncodes/, as copied in
MrChebur/usgs-machine-to-machine-API's ``usgsErrors.py``) has ``AUTH_INVALID``, ``AUTH_KEY_INVALID``
and ``AUTH_UNAUTHROIZED`` (sic; both spellings were seen in answers); which one USGS sends for a
wrong application token, an unknown key or a missing key is not published, so those choices and
their messages are the emulation's. The HTTP status is not documented either: public reports show
error answers with error statuses (an ``AUTH_EXPIRED`` envelope that was not a 200 in
kapadia/usgs#59, ``VERSION_UNKNOWN`` with 500 in Fergui/m2m-api#2), the number per code unknown.
The emulation sends every envelope with 200, so a client passes only if it reads ``errorCode``
whatever the status (as m2mauth does).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from ._http import Request, Response, json_response
from ._state import USGS, State

USGS_BASE_PATH = "/api/api/json/stable/"
USGS_LOGIN_TOKEN_PATH = USGS_BASE_PATH + "login-token"
USGS_LOGIN_PATH = USGS_BASE_PATH + "login"
USGS_LOGOUT_PATH = USGS_BASE_PATH + "logout"
USGS_API_PATH = USGS_BASE_PATH + "dataset-search"
KEY_LIFETIME = 7200  # "will be active for two hours"
EXPIRED_MESSAGE = "API key has expired due to inactivity"  # USGS's text (kapadia/usgs#59)
RETIRED_LOGIN_CODE, RETIRED_LOGIN_MESSAGE = "NOT_FOUND", "Invalid Endpoint"  # landsatxplore#130


@dataclass
class UsgsState:
    key_lifetime: int = KEY_LIFETIME
    users: dict[str, str] = field(default_factory=dict)  # username -> application token
    keys: dict[str, tuple[str, float]] = field(default_factory=dict)  # api key -> (username, expires at)
    logins: int = 0
    logouts: int = 0
    expired_answers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATES: weakref.WeakKeyDictionary[State, UsgsState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()
_REQUEST_IDS = itertools.count(1)
_SESSION_IDS = itertools.count(1)


def usgs_state(state: State) -> UsgsState:
    """The USGS part of one provider's memory (kept beside State, so State stays as it is)."""
    with _STATES_LOCK:
        if state not in _STATES:
            _STATES[state] = UsgsState()
        return _STATES[state]


def _envelope(data: Any, code: str | None = None, message: str | None = None) -> Response:
    return json_response(
        200,
        {
            "requestId": next(_REQUEST_IDS),
            "version": "stable",
            "sessionId": None if code else next(_SESSION_IDS),
            "data": data,
            "errorCode": code,
            "errorMessage": message,
        },
    )


def _json_body(req: Request) -> dict[str, Any] | None:
    if req.media_type != "application/json":
        return None
    try:
        data = json.loads(req.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def login_token(state: State, req: Request) -> Response:
    usgs = usgs_state(state)
    body = _json_body(req)
    if body is None:
        return _envelope(None, "INPUT_FORMAT", "The request body must be a JSON object")
    username, token = body.get("username"), body.get("token")
    if not isinstance(username, str) or not isinstance(token, str) or not username or not token:
        return _envelope(None, "INPUT_PARAMETER_REQUIRED", "username and token are required")
    with usgs.lock:
        known = usgs.users.get(username)
        if known is None or not secrets.compare_digest(known.encode(), token.encode()):
            return _envelope(None, "AUTH_INVALID", "User credential verification failed")
        key = secrets.token_hex(16)
        expires_at = state.now() + usgs.key_lifetime
        usgs.keys[key] = (username, expires_at)
        usgs.logins += 1
    # The generic protected resource (resource_url) takes every profile's tokens as Bearer, this one too.
    state.issue_access_token(USGS, username, None, expires_at=expires_at, token=key)
    return _envelope(key)


def retired_login(state: State, req: Request) -> Response:
    return _envelope(None, RETIRED_LOGIN_CODE, RETIRED_LOGIN_MESSAGE)


def _key_problem(state: State, req: Request) -> tuple[str, str] | None:
    usgs = usgs_state(state)
    key = req.header("X-Auth-Token")
    if not key:
        return "AUTH_UNAUTHORIZED", "No X-Auth-Token header was sent"
    with usgs.lock:
        record = usgs.keys.get(key)
        if record is None:
            return "AUTH_INVALID", "API key is not valid"
        if record[1] <= state.now():
            usgs.expired_answers += 1
            return "AUTH_EXPIRED", EXPIRED_MESSAGE
    return None


def api_call(state: State, req: Request) -> Response:
    problem = _key_problem(state, req)
    if problem is not None:
        return _envelope(None, *problem)
    return _envelope({"totalHits": 1, "results": [{"datasetAlias": "landsat_ot_c2_l2"}]})


def logout(state: State, req: Request) -> Response:
    problem = _key_problem(state, req)
    if problem is not None:
        return _envelope(None, *problem)
    usgs = usgs_state(state)
    with usgs.lock:
        usgs.keys.pop(req.header("X-Auth-Token") or "", None)
        usgs.logouts += 1
    return _envelope(None)


def valid_keys(state: State) -> int:
    usgs = usgs_state(state)
    now = state.now()
    with usgs.lock:
        return sum(1 for _, expires in usgs.keys.values() if expires > now)
