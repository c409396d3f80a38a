"""Climate Engine: ``POST /api/v1/auth/jwt/token``.

``grant_type=password`` (username and password, no client authentication needed) and
``grant_type=client_credentials`` with ``client_secret_basic``, ``client_secret_post`` or
``client_secret_jwt`` (an HS256 client assertion signed with the client secret). The access
token is itself a JWT the server signs with RS256; the answer carries both ``expires_at``
(epoch seconds) and ``expires_in``.
"""

from __future__ import annotations

import hmac
import secrets

from ._clientauth import (
    BASIC,
    POST,
    SECRET_JWT,
    ClientAuthPolicy,
    authenticate,
    require_client,
)
from ._http import OAuthError, Request, Response, json_response, require_form
from ._jose import sign_rs256
from ._state import CE_TOKEN_PATH, CLIMATE_ENGINE, State

POLICY = ClientAuthPolicy(methods=frozenset({BASIC, POST, SECRET_JWT}), require_jti=True)


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    grant_type = form.get("grant_type")
    token_url = state.url(CE_TOKEN_PATH)
    if grant_type == "password":
        # Client credentials are optional here, but checked when sent.
        authenticated = authenticate(
            state,
            req,
            form,
            profile=CLIMATE_ENGINE,
            token_url=token_url,
            policy=POLICY,
            required=False,
        )
        username = form.get("username")
        password = form.get("password")
        if username is None or password is None:
            raise OAuthError("invalid_request", "The password grant needs username and password")
        expected = state.user_password(CLIMATE_ENGINE, username)
        if expected is None or not hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")):
            raise OAuthError("invalid_grant", "Incorrect username or password")
        client_id = authenticated.client.client_id if authenticated else None
        return _issue(state, subject=username, client_id=client_id)
    if grant_type == "client_credentials":
        client = require_client(state, req, form, profile=CLIMATE_ENGINE, token_url=token_url, policy=POLICY).client
        return _issue(state, subject=client.client_id, client_id=client.client_id)
    if grant_type is None:
        raise OAuthError("invalid_request", "Missing 'grant_type'")
    raise OAuthError("unsupported_grant_type", "Supported grant types: password, client_credentials")


def _issue(state: State, *, subject: str, client_id: str | None) -> Response:
    now = int(state.now())
    expires_at = now + state.token_lifetime
    base = state.url("")
    access_token = sign_rs256(
        {
            "user_id": subject,
            "groups": [],
            "roles": [],
            "aud": [base, base + "/api"],
            "iss": base,
            "exp": expires_at,
            "jti": secrets.token_hex(16),
            "iat": now,
        },
        state.server_key,
        state.server_kid,
    )
    state.issue_access_token(CLIMATE_ENGINE, subject, client_id, expires_at=float(expires_at), token=access_token)
    return json_response(
        200,
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_at": expires_at,
            "expires_in": state.token_lifetime,
        },
    )
