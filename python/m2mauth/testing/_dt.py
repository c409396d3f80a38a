"""Disruptive Technologies: ``POST /oauth2/token`` (JWT bearer grant signed HS256).

The service account's key id goes in the JWS header ``kid``, its email in ``iss``, the
token URL in ``aud``; the JWT is signed with the key's secret. Error bodies are the exact
ones of the provider's guide ("Common Errors"), including the bare ``unsupported_grant_type``
and ``invalid_grant`` bodies without a description.
"""

from __future__ import annotations

import secrets

from ._http import FORM_MEDIA_TYPE, Form, OAuthError, Request, Response, json_response
from ._jose import MalformedJWT, audience_matches, parse_jwt, verify_hs256
from ._state import DT, DT_TOKEN_PATH, JWT_BEARER_GRANT, State

MAX_SKEW = 60
MAX_LIFETIME = 3600

TIMING_ERROR = "Timing-related error. Check the 'exp' and 'iat' claims."
ENTITY_ERROR = "Untrusted entity. Check the 'aud' and 'iss' claims."
SIGNATURE_ERROR = "Invalid signature"


def token_endpoint(state: State, req: Request) -> Response:
    pairs = req.form_pairs() if req.media_type == FORM_MEDIA_TYPE else None
    form = Form(pairs or ())
    if pairs is None or form.get("grant_type") != JWT_BEARER_GRANT:
        raise OAuthError("unsupported_grant_type")
    assertion = form.get("assertion")
    if assertion is None:
        raise OAuthError("invalid_grant")
    try:
        token = parse_jwt(assertion)
    except MalformedJWT:
        raise OAuthError("invalid_grant") from None
    account = state.dt_account(token.kid) if token.kid else None
    if account is None:
        raise OAuthError("invalid_grant")

    now = state.now()
    iat = token.number_claim("iat")
    exp = token.number_claim("exp")
    if iat is None or exp is None or abs(iat - now) > MAX_SKEW or exp > iat + MAX_LIFETIME or exp < iat or exp <= now:
        raise OAuthError("invalid_grant", TIMING_ERROR)
    token_url = state.url(DT_TOKEN_PATH)
    if not audience_matches(token.claims.get("aud"), token_url) or (token.string_claim("iss") != account.email):
        raise OAuthError("invalid_grant", ENTITY_ERROR)
    if not verify_hs256(token, account.secret):
        raise OAuthError("invalid_grant", SIGNATURE_ERROR)

    expires_in = max(state.token_lifetime - 1, 1)
    access_token = state.issue_access_token(
        DT, account.email, account.key_id, expires_at=now + expires_in, token=_hex_token()
    )
    return json_response(200, {"access_token": access_token, "token_type": "bearer", "expires_in": expires_in})


def _hex_token() -> str:
    # The guide's sample token is 32 hex digits; keep that look (128 random bits).
    return secrets.token_hex(16)
