"""Copernicus Land Monitoring Service: ``POST /@@oauth2-token`` (JWT bearer grant, RFC 7523).

A CLMS service key holds ``client_id``, ``user_id``, ``token_uri`` and an RSA private key.
The client signs ``{iss: client_id, sub: user_id, aud: token_uri, iat, exp}`` with RS256 and
posts it as form data. The two error strings seen in the wild are reproduced exactly:
a body that is not form data gives ``Missing 'grant_type'``; an HS256 grant gives
``Only RS256 signature algorithm is supported``.
"""

from __future__ import annotations

from ._http import Form, OAuthError, Request, Response, json_response
from ._jose import MalformedJWT, audience_matches, parse_jwt, verify_signature
from ._state import CLMS, JWT_BEARER_GRANT, State

LEEWAY = 60
MAX_ASSERTION_LIFETIME = 3600


def _grant_error(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def token_endpoint(state: State, req: Request) -> Response:
    pairs = req.form_pairs()
    form = Form(pairs or ())
    grant_type = form.get("grant_type")
    if pairs is None or grant_type is None:
        raise OAuthError("invalid_request", "Missing 'grant_type'")
    if grant_type != JWT_BEARER_GRANT:
        raise OAuthError("unsupported_grant_type", f"Only '{JWT_BEARER_GRANT}' grant type is supported")
    assertion = form.get("assertion")
    if assertion is None:
        raise OAuthError("invalid_request", "Missing 'assertion'")
    try:
        token = parse_jwt(assertion)
    except MalformedJWT:
        raise _grant_error("The assertion is not a well-formed JWT") from None
    if token.alg != "RS256":
        raise OAuthError("invalid_request", "Only RS256 signature algorithm is supported")

    client_id = token.string_claim("iss")
    key = state.clms_key(client_id) if client_id else None
    if key is None:
        raise _grant_error("Unknown service key: 'iss' must be the client_id of a service key")
    if not verify_signature(token, key.public_key, ("RS256",)):
        raise _grant_error("Invalid signature: sign with the service key's private key")
    if token.string_claim("sub") != key.user_id:
        raise _grant_error("'sub' must be the user_id of the service key")
    if not audience_matches(token.claims.get("aud"), key.token_uri):
        raise _grant_error("'aud' must be the token_uri of the service key")

    now = state.now()
    iat = token.number_claim("iat")
    exp = token.number_claim("exp")
    if iat is None or exp is None:
        raise _grant_error("The assertion must contain 'iat' and 'exp' claims")
    if exp < iat:
        raise _grant_error("'exp' is before 'iat'")
    if exp - iat > MAX_ASSERTION_LIFETIME:
        raise _grant_error("The assertion lifetime ('exp' - 'iat') exceeds 3600 seconds")
    if exp + LEEWAY < now:
        raise _grant_error("The assertion has expired")
    if iat - LEEWAY > now:
        raise _grant_error("'iat' is in the future: check the clock")
    nbf = token.number_claim("nbf")
    if nbf is not None and nbf - LEEWAY > now:
        raise _grant_error("The assertion is not valid yet ('nbf')")

    expires_at = now + state.token_lifetime
    access_token = state.issue_access_token(CLMS, key.user_id, key.client_id, expires_at=expires_at)
    return json_response(
        200,
        {"access_token": access_token, "token_type": "Bearer", "expires_in": state.token_lifetime},
    )
