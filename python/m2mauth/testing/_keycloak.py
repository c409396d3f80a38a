"""What the emulated Keycloak realms share: CDSE, EGI Check-in, ESA MAAP and Sentinel Hub all run
Keycloak, so their signing keys are published the same way, their token answers have the same
fields in the same order, and a wrong or missing ``grant_type`` gets the same texts."""

from __future__ import annotations

from ._http import Request, Response, json_response
from ._jose import public_jwk
from ._state import State

#: Keycloak's descriptions for a token request without ``grant_type`` (``invalid_request``) and
#: for a grant the client may not use (``unsupported_grant_type``).
MISSING_GRANT_TYPE = "Missing form parameter: grant_type"
UNSUPPORTED_GRANT_TYPE = "Unsupported grant_type"


def certs(state: State, req: Request) -> Response:
    """``GET .../protocol/openid-connect/certs``: the JWKS of the server's signing key."""
    return json_response(200, {"keys": [public_jwk(state.server_key, state.server_kid)]}, no_store=False)


def token_answer(
    access_token: str,
    expires_in: int,
    scope: str,
    *,
    refresh_token: str | None = None,
    refresh_expires_in: int = 0,
    session_state: str | None = None,
) -> Response:
    """A Keycloak token answer; ``refresh_token`` and ``session_state`` only where a session has them."""
    body: dict[str, str | int] = {
        "access_token": access_token,
        "expires_in": expires_in,
        "refresh_expires_in": refresh_expires_in,
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body["token_type"] = "Bearer"
    body["not-before-policy"] = 0
    if session_state is not None:
        body["session_state"] = session_state
    body["scope"] = scope
    return json_response(200, body)


def service_account_answer(state: State, profile: str, client_id: str, scope: str) -> Response:
    """Keycloak's client_credentials answer: a service account's token, no refresh token."""
    access_token = state.issue_access_token(
        profile, f"service-account-{client_id}", client_id, expires_at=state.now() + state.token_lifetime
    )
    return token_answer(access_token, state.token_lifetime, scope)
