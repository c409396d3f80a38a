"""A plain RFC 6749 authorization server: ``POST /oauth/token``.

Grants: ``client_credentials`` (a confidential client authenticates with any of
``client_secret_basic``, ``client_secret_post``, ``client_secret_jwt``, ``private_key_jwt``),
``password`` (RFC 6749 §4.3; returns a refresh token), ``refresh_token`` (rotating), the
RFC 7523 JWT bearer grant, whose assertion is issued by a registered client (``iss``) and
signed with that client's secret (HS256) or registered public key, and the RFC 8628 device
code grant.

Like django-oauth-toolkit without OIDC, it publishes RFC 8414 metadata only
(``GET /.well-known/oauth-authorization-server``; no OpenID discovery), may leave the device
endpoint (``POST /oauth/device-authorization``) out of it, and knows only the scopes
``read`` and ``write``: a device login that asked for another scope is refused with
``invalid_scope`` when it is polled, *after* the user approved it.
"""

from __future__ import annotations

import hmac
from typing import Any

from ._clientauth import (
    BASIC,
    LEEWAY,
    NONE,
    POST,
    PRIVATE_KEY_JWT,
    SECRET_JWT,
    AuthenticatedClient,
    ClientAuthPolicy,
    authenticate,
    require_client,
)
from ._device import device_answer, poll_error
from ._http import Form, OAuthError, Request, Response, json_response, require_form
from ._jose import (
    MalformedJWT,
    algorithms_for,
    audience_matches,
    parse_jwt,
    verify_hs256,
    verify_signature,
)
from ._state import (
    DEVICE_CODE_GRANT,
    GENERIC,
    GENERIC_DEVICE_PATH,
    GENERIC_SCOPES,
    GENERIC_TOKEN_PATH,
    GENERIC_VERIFICATION_PATH,
    JWT_BEARER_GRANT,
    State,
)

CONFIDENTIAL = ClientAuthPolicy(methods=frozenset({BASIC, POST, SECRET_JWT, PRIVATE_KEY_JWT}), require_jti=False)
ANY_CLIENT = ClientAuthPolicy(methods=frozenset({BASIC, POST, SECRET_JWT, PRIVATE_KEY_JWT, NONE}), require_jti=False)


def _answer(
    state: State,
    *,
    subject: str,
    client_id: str | None,
    scope: str | None,
    with_refresh: bool,
    refresh_token: str | None = None,
) -> Response:
    now = state.now()
    payload: dict[str, Any] = {
        "access_token": state.issue_access_token(GENERIC, subject, client_id, expires_at=now + state.token_lifetime),
        "token_type": "Bearer",
        "expires_in": state.token_lifetime,
    }
    if refresh_token is not None:
        payload["refresh_token"] = refresh_token
    elif with_refresh:
        payload["refresh_token"] = state.issue_refresh_token(GENERIC, subject, client_id)
    if scope is not None:
        payload["scope"] = scope
    return json_response(200, payload)


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    grant_type = form.get("grant_type")
    token_url = state.url(GENERIC_TOKEN_PATH)
    scope = form.get("scope")
    if grant_type is None:
        raise OAuthError("invalid_request", "Missing 'grant_type'")
    if grant_type == "client_credentials":
        client = require_client(state, req, form, profile=GENERIC, token_url=token_url, policy=CONFIDENTIAL).client
        return _answer(
            state,
            subject=client.client_id,
            client_id=client.client_id,
            scope=scope,
            with_refresh=False,
        )
    if grant_type == DEVICE_CODE_GRANT:
        device_client = require_client(state, req, form, profile=GENERIC, token_url=token_url, policy=ANY_CLIENT)
        return _poll(state, form, device_client.client.client_id)
    if grant_type not in ("password", "refresh_token", JWT_BEARER_GRANT):
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type '{grant_type}'")

    authenticated = authenticate(
        state, req, form, profile=GENERIC, token_url=token_url, policy=ANY_CLIENT, required=False
    )
    client_id = authenticated.client.client_id if authenticated else None
    if grant_type == "password":
        username = form.get("username")
        password = form.get("password")
        if username is None or password is None:
            raise OAuthError("invalid_request", "The password grant needs username and password")
        expected = state.user_password(GENERIC, username)
        if expected is None or not hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")):
            raise OAuthError("invalid_grant", "Invalid username or password")
        return _answer(state, subject=username, client_id=client_id, scope=scope, with_refresh=True)
    if grant_type == "refresh_token":
        return _refresh(state, form, client_id, scope)
    return _jwt_bearer(state, form, authenticated, token_url, scope)


def _refresh(state: State, form: Form, client_id: str | None, scope: str | None) -> Response:
    refresh_token = form.get("refresh_token")
    if refresh_token is None:
        raise OAuthError("invalid_request", "Missing 'refresh_token'")
    grant = state.peek_refresh_token(GENERIC, refresh_token)
    if grant is None:
        raise OAuthError("invalid_grant", "Invalid refresh token (unknown, expired or used)")
    if grant.client_id is not None and grant.client_id != client_id:
        raise OAuthError("invalid_grant", "The refresh token was issued to another client")
    rotated = state.rotate_refresh_token(GENERIC, refresh_token)
    if rotated is None:
        raise OAuthError("invalid_grant", "Invalid refresh token (unknown, expired or used)")
    return _answer(
        state,
        subject=grant.subject,
        client_id=grant.client_id,
        scope=scope,
        with_refresh=True,
        refresh_token=rotated[1],
    )


def _jwt_bearer(
    state: State,
    form: Form,
    authenticated: AuthenticatedClient | None,
    token_url: str,
    scope: str | None,
) -> Response:
    assertion = form.get("assertion")
    if assertion is None:
        raise OAuthError("invalid_request", "Missing 'assertion'")
    try:
        token = parse_jwt(assertion)
    except MalformedJWT:
        raise OAuthError("invalid_grant", "The assertion is not a well-formed JWT") from None
    issuer = token.string_claim("iss")
    client = state.client(GENERIC, issuer) if issuer else None
    if client is None:
        raise OAuthError("invalid_grant", "The assertion's 'iss' is not a registered client")
    if authenticated is not None and authenticated.client.client_id != client.client_id:
        raise OAuthError("invalid_grant", "The assertion's 'iss' is not the authenticated client")
    if token.alg == "HS256":
        valid = client.secret is not None and verify_hs256(token, client.secret)
    elif client.public_key is not None and token.alg in algorithms_for(client.public_key):
        valid = verify_signature(token, client.public_key, (token.alg,))
    else:
        valid = False
    if not valid:
        raise OAuthError("invalid_grant", "Invalid assertion signature")
    subject = token.string_claim("sub")
    if subject is None:
        raise OAuthError("invalid_grant", "The assertion has no 'sub' claim")
    if not audience_matches(token.claims.get("aud"), token_url):
        raise OAuthError("invalid_grant", f"The assertion's 'aud' must be {token_url}")
    now = state.now()
    exp = token.number_claim("exp")
    if exp is None:
        raise OAuthError("invalid_grant", "The assertion has no 'exp' claim")
    if exp + LEEWAY < now:
        raise OAuthError("invalid_grant", "The assertion has expired")
    nbf = token.number_claim("nbf")
    if nbf is not None and nbf - LEEWAY > now:
        raise OAuthError("invalid_grant", "The assertion is not valid yet ('nbf')")
    jti = token.string_claim("jti")
    if jti is not None and not state.remember_jti(GENERIC, "grant:" + client.client_id, jti, exp + LEEWAY):
        raise OAuthError("invalid_grant", "The assertion's 'jti' was already used (replay)")
    return _answer(state, subject=subject, client_id=client.client_id, scope=scope, with_refresh=False)


def metadata(state: State, req: Request) -> Response:
    """RFC 8414 §2 authorization server metadata (the issuer is the server's base URL)."""
    grant_types = ["client_credentials", "password", "refresh_token", JWT_BEARER_GRANT, DEVICE_CODE_GRANT]
    document: dict[str, Any] = {
        "issuer": state.url(""),
        "token_endpoint": state.url(GENERIC_TOKEN_PATH),
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": sorted(CONFIDENTIAL.methods),
        "scopes_supported": list(GENERIC_SCOPES),
        "response_types_supported": ["token"],
    }
    if state.advertise_device_endpoint:
        document["device_authorization_endpoint"] = state.url(GENERIC_DEVICE_PATH)
    return json_response(200, document, no_store=False)


def device_authorization(state: State, req: Request) -> Response:
    """RFC 8628 §3.2; the scope is remembered and judged when the approved code is polled."""
    form = require_form(req)
    client = require_client(
        state, req, form, profile=GENERIC, token_url=state.url(GENERIC_TOKEN_PATH), policy=ANY_CLIENT
    ).client
    grant = state.new_device_grant(client.client_id, subject="generic-user", scope=form.get("scope"))
    return device_answer(state, grant, state.url(GENERIC_VERIFICATION_PATH))


def _poll(state: State, form: Form, client_id: str) -> Response:
    device_code = form.get("device_code")
    if device_code is None:
        raise OAuthError("invalid_request", "Missing 'device_code'")
    outcome, grant = state.poll_device(device_code, client_id)
    if outcome == "approved" and grant is not None:
        unknown = sorted(set((grant.scope or "").split()) - set(GENERIC_SCOPES))
        if unknown:
            raise OAuthError("invalid_scope", f"Unknown scope(s): {' '.join(unknown)}")
        return _answer(state, subject=grant.subject, client_id=client_id, scope=grant.scope, with_refresh=True)
    errors = {
        "expired": ("expired_token", "The device code has expired"),
        "slow_down": ("slow_down", "Polling too fast"),
        "pending": ("authorization_pending", "The user has not approved yet"),
        "denied": ("access_denied", "The user denied the request"),
    }
    raise poll_error(outcome, errors)
