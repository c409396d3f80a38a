"""EUMETSAT Data Store: ``POST /token`` (``https://api.eumetsat.int/token``).

``grant_type=client_credentials`` with the API key's consumer key and secret as HTTP Basic,
decoded without form-decoding (eumdac sends them through requests' ``HTTPBasicAuth``), and an
optional ``validity_period`` in seconds (the token lifetime asked for; the server's own default
here is the provider's ``token_lifetime``).

The quirk that matters: the server answers every request of a consumer key with the token it
issued last, for as long as that token is valid, with ``expires_in`` the seconds it has left
(rounded up), and mints a new one only once it has expired. A client that renews early gets its
own token back; eumdac polls until the token changes.

Error texts: EUMETSAT documents none. The ones here are those of WSO2 API Manager's token
endpoint, which serves ``api.eumetsat.int`` (not confirmed by EUMETSAT's documentation).
"""

from __future__ import annotations

import hmac
import math
import threading
from dataclasses import dataclass

from ._clientauth import decode_basic
from ._http import OAuthError, Request, Response, invalid_client, json_response, require_form, require_grant_type
from ._state import EUMETSAT, State

EUMETSAT_TOKEN_PATH = "/token"
#: What WSO2 answers for a missing, unknown or wrong consumer key or secret.
CLIENT_AUTHENTICATION_FAILED = "Client Authentication failed."


@dataclass
class _Current:
    token: str
    expires_at: float


class EumetsatTokens:
    """The token each consumer key holds now, and how many distinct tokens were issued."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: dict[str, _Current] = {}
        self.issued = 0


def tokens(state: State) -> EumetsatTokens:
    """This provider's EUMETSAT memory (made on first use)."""
    return state.emulation(EUMETSAT, EumetsatTokens)


def _consumer_key(state: State, req: Request) -> str:
    header = req.header("Authorization")
    if header is None:
        raise invalid_client(CLIENT_AUTHENTICATION_FAILED, basic_attempted=True)
    try:
        key, secret = decode_basic(header, "raw")
    except OAuthError:
        raise invalid_client(CLIENT_AUTHENTICATION_FAILED, basic_attempted=True) from None
    client = state.client(EUMETSAT, key)
    if client is None or client.secret is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
        raise invalid_client(CLIENT_AUTHENTICATION_FAILED, basic_attempted=True)
    return key


def _validity(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        seconds = int(raw)
    except ValueError:
        raise OAuthError("invalid_request", "Invalid validity_period value") from None
    if seconds < 1:
        raise OAuthError("invalid_request", "Invalid validity_period value")
    return seconds


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    require_grant_type(
        form,
        "client_credentials",
        missing="Missing grant_type parameter value",
        unsupported="Unsupported grant_type value",
    )
    key = _consumer_key(state, req)
    lifetime = _validity(form.get("validity_period"), state.token_lifetime)
    memory = tokens(state)
    with memory.lock:  # two requests at once must not mint two tokens
        now = state.now()
        current = memory.current.get(key)
        if current is None or current.expires_at <= now:
            expires_at = now + lifetime
            token = state.issue_access_token(EUMETSAT, key, key, expires_at=expires_at)
            current = memory.current[key] = _Current(token, expires_at)
            memory.issued += 1
        left = math.ceil(current.expires_at - now)
    return json_response(
        200,
        {
            "access_token": current.token,
            "scope": "am_application_scope default",
            "token_type": "Bearer",
            "expires_in": left,
        },
    )
