"""OpenAIRE: the AAI token endpoint and the personal-token refresh endpoint.

``POST /oidc/token`` takes ``grant_type=client_credentials`` from a registered service,
authenticated with ``client_secret_basic`` ("Basic") or ``private_key_jwt`` ("Advanced":
RS256 only, header ``kid`` of the registered public JWK, ``iss == sub == client_id``,
``aud`` the token URL, a never-reused ``jti`` and an ``exp``).

``GET /uoa-user-management/api/users/getAccessToken?refreshToken=...`` trades a personal
refresh token for an access token and a *new* refresh token; the old one stops working at
once. Note that ``expires_in`` is a JSON string there, as OpenAIRE documents.
"""

from __future__ import annotations

import secrets

from ._clientauth import BASIC, PRIVATE_KEY_JWT, ClientAuthPolicy, require_client
from ._http import Form, OAuthError, Request, Response, json_response, require_form, require_grant_type
from ._jose import sign_rs256
from ._state import OPENAIRE, OPENAIRE_TOKEN_PATH, State

POLICY = ClientAuthPolicy(
    methods=frozenset({BASIC, PRIVATE_KEY_JWT}),
    private_key_algorithms=("RS256",),
    require_kid=True,
    require_jti=True,
)


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    require_grant_type(
        form, "client_credentials", missing="Missing 'grant_type'", unsupported="Only client_credentials is supported"
    )
    token_url = state.url(OPENAIRE_TOKEN_PATH)
    authenticated = require_client(state, req, form, profile=OPENAIRE, token_url=token_url, policy=POLICY)
    client_id = authenticated.client.client_id
    expires_at = state.now() + state.token_lifetime
    access_token = state.issue_access_token(OPENAIRE, client_id, client_id, expires_at=expires_at)
    return json_response(
        200,
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": state.token_lifetime,
            "scope": "openid",
        },
    )


def refresh_endpoint(state: State, req: Request) -> Response:
    query = Form(req.query)
    refresh_token = query.get("refreshToken")
    if refresh_token is None:
        raise OAuthError("invalid_request", "Missing 'refreshToken' query parameter")
    rotated = state.rotate_refresh_token(OPENAIRE, refresh_token)
    if rotated is None:
        raise OAuthError("invalid_grant", "Invalid refresh token (unknown, expired or used)")
    grant, new_refresh = rotated
    now = state.now()
    expires_at = now + state.token_lifetime
    access_token = state.issue_access_token(OPENAIRE, grant.subject, grant.client_id, expires_at=expires_at)
    id_token = sign_rs256(
        {
            "iss": state.url("/oidc/"),
            "sub": grant.subject,
            "aud": grant.client_id or "openaire-personal-token",
            "iat": int(now),
            "exp": int(expires_at),
            "jti": secrets.token_urlsafe(12),
        },
        state.server_key,
        state.server_kid,
    )
    return json_response(
        200,
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "refresh_token": new_refresh,
            "expires_in": str(state.token_lifetime),
            "scope": "openid",
            "id_token": id_token,
        },
    )
