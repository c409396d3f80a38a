"""Copernicus Data Space Ecosystem (profiles ``cdse-openeo`` and ``cdse``): a Keycloak-like realm
under ``/auth/realms/CDSE``.

* ``GET  .../.well-known/openid-configuration``: OIDC discovery, absolute URLs on this server.
* ``GET  .../protocol/openid-connect/certs``: the JWKS of the server's signing key.
* ``POST .../protocol/openid-connect/token``: ``password`` (users of :mod:`._cdse_accounts`:
  ``totp``, sessions, the 100-session cap), ``client_credentials`` (``client_secret_basic``
  or ``client_secret_post``), ``refresh_token`` (rotating) and the RFC 8628 device code grant
  (``authorization_pending``, ``slow_down``, ``expired_token``, ``access_denied``).
* ``POST .../protocol/openid-connect/auth/device``: RFC 8628 §3.2 device authorization.
* ``GET  .../device``: a tiny verification page; ``POST /device/approve`` and
  ``POST /device/deny`` (form ``user_code=...``) decide, for scripted approvers.

A public client ``cdse-public`` (openEO's default) is registered from the start.
"""

from __future__ import annotations

import html
import uuid

from ._cdse_accounts import USER_SCOPE
from ._clientauth import BASIC, NONE, POST, ClientAuthPolicy, require_client
from ._device import device_answer, poll_error
from ._http import Form, OAuthError, Request, Response, json_response, require_form
from ._keycloak import service_account_answer, token_answer
from ._state import (
    CDSE,
    CDSE_AUTH_PATH,
    CDSE_CERTS_PATH,
    CDSE_DEVICE_PATH,
    CDSE_REALM_PATH,
    CDSE_TOKEN_PATH,
    CDSE_VERIFICATION_PATH,
    DEVICE_APPROVE_PATH,
    DEVICE_CODE_GRANT,
    DEVICE_DENY_PATH,
    RefreshGrant,
    State,
)

CONFIDENTIAL = ClientAuthPolicy(methods=frozenset({BASIC, POST}))
ANY_CLIENT = ClientAuthPolicy(methods=frozenset({BASIC, POST, NONE}))
SCOPE = "openid email profile"


def discovery(state: State, req: Request) -> Response:
    return json_response(
        200,
        {
            "issuer": state.url(CDSE_REALM_PATH),
            "authorization_endpoint": state.url(CDSE_AUTH_PATH),
            "token_endpoint": state.url(CDSE_TOKEN_PATH),
            "device_authorization_endpoint": state.url(CDSE_DEVICE_PATH),
            "jwks_uri": state.url(CDSE_CERTS_PATH),
            "grant_types_supported": ["password", "client_credentials", "refresh_token", DEVICE_CODE_GRANT],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
        },
        no_store=False,
    )


def _session_tokens(
    state: State, subject: str, client_id: str, refresh: tuple[RefreshGrant, str] | None = None
) -> Response:
    now = state.now()
    access_token = state.issue_access_token(CDSE, subject, client_id, expires_at=now + state.token_lifetime)
    if refresh is None:
        refresh_token = state.issue_refresh_token(CDSE, subject, client_id)
        refresh_expires_in = state.refresh_token_lifetime
    else:
        refresh_token = refresh[1]
        head = state.peek_refresh_token(CDSE, refresh_token)
        refresh_expires_in = max(0, int((head.expires_at if head else now) - now))
    return token_answer(
        access_token,
        state.token_lifetime,
        SCOPE,
        refresh_token=refresh_token,
        refresh_expires_in=refresh_expires_in,
        session_state=str(uuid.uuid4()),
    )


#: The client authentication each grant accepts; a grant not named here is unsupported.
_GRANT_POLICIES = {
    "client_credentials": CONFIDENTIAL,
    "password": ANY_CLIENT,
    "refresh_token": ANY_CLIENT,
    DEVICE_CODE_GRANT: ANY_CLIENT,
}


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", "Missing 'grant_type'")
    policy = _GRANT_POLICIES.get(grant_type)
    if policy is None:
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type '{grant_type}'")
    token_url = state.url(CDSE_TOKEN_PATH)
    client_id = require_client(state, req, form, profile=CDSE, token_url=token_url, policy=policy).client.client_id
    if grant_type == "client_credentials":
        return service_account_answer(state, CDSE, client_id, "profile email")
    if grant_type == "password":
        return _user_session(state, form, client_id)
    if grant_type == DEVICE_CODE_GRANT:
        return _poll(state, form, client_id)
    return _refresh(state, form, client_id)


def _refresh(state: State, form: Form, client_id: str) -> Response:
    refresh_token = form.get("refresh_token")
    if refresh_token is None:
        raise OAuthError("invalid_request", "Missing 'refresh_token'")
    if state.cdse_accounts.knows(refresh_token):  # a password grant's session (_cdse_accounts.py)
        return _user_session(state, form, client_id, refresh_token)
    grant = state.peek_refresh_token(CDSE, refresh_token)
    if grant is None:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    if grant.client_id is not None and grant.client_id != client_id:
        raise OAuthError("invalid_grant", "Token client and authorized client don't match")
    rotated = state.rotate_refresh_token(CDSE, refresh_token)
    if rotated is None:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    return _session_tokens(state, grant.subject, client_id, rotated)


def _user_session(state: State, form: Form, client_id: str, refresh_token: str | None = None) -> Response:
    """A password grant opens a session of a CDSE account, a refresh token continues it."""
    now = state.now()
    accounts = state.cdse_accounts
    if refresh_token is None:
        session_id, successor, username = accounts.open_session(form, client_id, now)
    else:
        session_id, successor, username = accounts.continue_session(refresh_token, client_id, now)
    # Tagged "cdse": only that profile's password flow opens user sessions (the protected resource says so).
    access_token = state.issue_access_token("cdse", username, client_id, expires_at=now + state.token_lifetime)
    return token_answer(
        access_token,
        state.token_lifetime,
        USER_SCOPE,
        refresh_token=successor,
        refresh_expires_in=accounts.session_idle,
        session_state=session_id,
    )


def _poll(state: State, form: Form, client_id: str) -> Response:
    device_code = form.get("device_code")
    if device_code is None:
        raise OAuthError("invalid_request", "Missing 'device_code'")
    outcome, grant = state.poll_device(device_code, client_id)
    if outcome == "approved" and grant is not None:
        return _session_tokens(state, grant.subject, client_id)
    raise poll_error(outcome)


def device_authorization(state: State, req: Request) -> Response:
    form = require_form(req)
    client = require_client(
        state, req, form, profile=CDSE, token_url=state.url(CDSE_TOKEN_PATH), policy=ANY_CLIENT
    ).client
    grant = state.new_device_grant(client.client_id)
    return device_answer(state, grant, state.url(CDSE_VERIFICATION_PATH))


def verification_page(state: State, req: Request) -> Response:
    user_code = html.escape(Form(req.query).get("user_code") or "", quote=True)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>m2mauth test provider: device login</title></head>
<body>
<h1>Device login (m2mauth test provider)</h1>
<p>This is a local test server. Approving issues test tokens only.</p>
<form method="post" action="{DEVICE_APPROVE_PATH}">
<label>User code <input name="user_code" value="{user_code}"></label>
<button type="submit">Approve</button>
<button type="submit" formaction="{DEVICE_DENY_PATH}">Deny</button>
</form>
</body></html>
"""
    return Response(
        status=200,
        body=page.encode("utf-8"),
        content_type="text/html; charset=utf-8",
        headers=(("Cache-Control", "no-store"),),
    )


def decide(state: State, req: Request, status: str) -> Response:
    pairs = req.form_pairs()
    user_code = Form(pairs or req.query).get("user_code")
    if user_code is None:
        raise OAuthError("invalid_request", "Missing 'user_code'")
    try:
        grant = state.decide_device(user_code, status)
    except LookupError as exc:
        raise OAuthError("invalid_request", str(exc)) from None
    return json_response(200, {"user_code": grant.user_code, "status": status})


def approve(state: State, req: Request) -> Response:
    return decide(state, req, "approved")


def deny(state: State, req: Request) -> Response:
    return decide(state, req, "denied")
