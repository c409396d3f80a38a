"""EGI Check-in (EOSC AAI): the Keycloak realm ``egi`` under ``/auth/realms/egi``.

* ``GET  .../.well-known/openid-configuration``: OIDC discovery (token and device endpoints).
* ``GET  .../protocol/openid-connect/certs``: the JWKS of the server's signing key.
* ``POST .../protocol/openid-connect/token``: ``client_credentials``, ``refresh_token`` (Check-in
  requires the client's secret and a ``scope`` containing ``openid``), the RFC 8628 device code
  grant, and RFC 8693 token exchange, each with ``client_secret_basic``, ``client_secret_post``,
  ``client_secret_jwt`` or ``private_key_jwt`` (public clients only for the device flow).
* ``POST .../protocol/openid-connect/auth/device``: RFC 8628 device authorization; a
  confidential client must authenticate here too, as Check-in's documentation says.
* ``GET  .../device``: the verification page (approve with ``POST /device/approve``).

Token exchange follows the Check-in documentation (docs.egi.eu, "Token Exchange" and "Client
Migration to Keycloak"): the subject token is an access token of this realm (access tokens
only); ``audience``, when given, must be the client ID of a client registered here, else
``invalid_client`` "audience not found"; ``scope`` may only name scopes the subject token
holds. Access tokens are RS256 JWTs (Check-in's are), so their ``exp`` can be read by clients.

Texts Check-in does not document are Keycloak's (Check-in runs Keycloak): an unknown or
expired subject token is ``invalid_token`` "Invalid token"; a refresh without ``openid`` in
its scope is refused here with ``invalid_scope``, as the documentation requires the scope but
names no error text for it.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from ._clientauth import BASIC, NONE, POST, PRIVATE_KEY_JWT, SECRET_JWT, ClientAuthPolicy, require_client
from ._device import device_answer, poll_error
from ._http import Form, OAuthError, Request, Response, json_response, require_form
from ._jose import parse_jwt, sign_rs256
from ._keycloak import MISSING_GRANT_TYPE
from ._state import DEVICE_CODE_GRANT, State

EGI = "egi-checkin"
EGI_REALM_PATH = "/auth/realms/egi"
EGI_DISCOVERY_PATH = EGI_REALM_PATH + "/.well-known/openid-configuration"
EGI_TOKEN_PATH = EGI_REALM_PATH + "/protocol/openid-connect/token"
EGI_DEVICE_PATH = EGI_REALM_PATH + "/protocol/openid-connect/auth/device"
EGI_AUTH_PATH = EGI_REALM_PATH + "/protocol/openid-connect/auth"
EGI_CERTS_PATH = EGI_REALM_PATH + "/protocol/openid-connect/certs"
EGI_VERIFICATION_PATH = EGI_REALM_PATH + "/device"

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"

CONFIDENTIAL = ClientAuthPolicy(methods=frozenset({BASIC, POST, SECRET_JWT, PRIVATE_KEY_JWT}))
ANY_CLIENT = ClientAuthPolicy(methods=frozenset({BASIC, POST, SECRET_JWT, PRIVATE_KEY_JWT, NONE}))
SCOPES = frozenset({"openid", "profile", "email", "offline_access", "eduperson_entitlement", "voperson_id"})
CLIENT_CREDENTIALS_SCOPE = "profile email"
#: A token exchange may ask for these besides the subject token's scopes: openid is always
#: granted, and offline_access asks for a refresh token (the documentation's own example).
_ALWAYS_GRANTABLE = frozenset({"openid", "offline_access"})


def discovery(state: State, req: Request) -> Response:
    return json_response(
        200,
        {
            "issuer": state.url(EGI_REALM_PATH),
            "authorization_endpoint": state.url(EGI_AUTH_PATH),
            "token_endpoint": state.url(EGI_TOKEN_PATH),
            "device_authorization_endpoint": state.url(EGI_DEVICE_PATH),
            "jwks_uri": state.url(EGI_CERTS_PATH),
            "grant_types_supported": [
                "authorization_code",
                "client_credentials",
                "refresh_token",
                DEVICE_CODE_GRANT,
                TOKEN_EXCHANGE_GRANT,
            ],
            "token_endpoint_auth_methods_supported": sorted(CONFIDENTIAL.methods),
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "HS256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": sorted(SCOPES),
        },
        no_store=False,
    )


def _scopes(text: str | None) -> list[str]:
    return [s for s in (text or "").split(" ") if s]


def _access_token(state: State, subject: str, client_id: str, scope: str) -> str:
    """A JWT access token of this realm, remembered so the resource and token exchange know it."""
    now = state.now()
    exp = now + state.token_lifetime
    claims = {
        "iss": state.url(EGI_REALM_PATH),
        "sub": subject,
        "azp": client_id,
        "client_id": client_id,
        "scope": scope,
        "iat": int(now),
        "exp": int(exp),
        "jti": str(uuid.uuid4()),
    }
    token = sign_rs256(claims, state.server_key, state.server_kid)
    return state.issue_access_token(EGI, subject, client_id, expires_at=exp, token=token)


def _answer(
    state: State,
    subject: str,
    client_id: str,
    scope: str,
    *,
    refresh_token: str | None = None,
    issued_token_type: str | None = None,
) -> Response:
    body: dict[str, Any] = {
        "access_token": _access_token(state, subject, client_id, scope),
        "expires_in": state.token_lifetime,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": scope,
    }
    if refresh_token is not None:
        head = state.peek_refresh_token(EGI, refresh_token)
        body["refresh_token"] = refresh_token
        body["refresh_expires_in"] = max(0, int((head.expires_at if head else state.now()) - state.now()))
        body["session_state"] = str(uuid.uuid4())
    if issued_token_type is not None:
        body["issued_token_type"] = issued_token_type
    return json_response(200, body)


#: The client authentication each grant accepts; a grant not named here is unsupported.
_GRANT_POLICIES = {
    "client_credentials": CONFIDENTIAL,
    "refresh_token": CONFIDENTIAL,
    DEVICE_CODE_GRANT: ANY_CLIENT,
    TOKEN_EXCHANGE_GRANT: CONFIDENTIAL,
}


def token_endpoint(state: State, req: Request) -> Response:
    form = require_form(req)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", MISSING_GRANT_TYPE)
    policy = _GRANT_POLICIES.get(grant_type)
    if policy is None:
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type: {grant_type}")
    token_url = state.url(EGI_TOKEN_PATH)
    client_id = require_client(state, req, form, profile=EGI, token_url=token_url, policy=policy).client.client_id
    if grant_type == "client_credentials":
        scope = _granted_scope(form.get("scope"), CLIENT_CREDENTIALS_SCOPE)
        # Check-in: the sub of a client_credentials token is a scoped identifier of the client.
        return _answer(state, f"{secrets.token_hex(8)}@egi.eu", client_id, scope)
    if grant_type == "refresh_token":
        return _refresh(state, form, client_id)
    if grant_type == DEVICE_CODE_GRANT:
        return _poll(state, form, client_id)
    return _exchange(state, form, client_id)


def _granted_scope(requested: str | None, default: str) -> str:
    wanted = _scopes(requested)
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise OAuthError("invalid_scope", f"Invalid scopes: {' '.join(unknown)}")
    return " ".join(wanted) if wanted else default


def _refresh(state: State, form: Form, client_id: str) -> Response:
    refresh_token = form.get("refresh_token")
    if refresh_token is None:
        raise OAuthError("invalid_request", "Missing form parameter: refresh_token")
    scope = _granted_scope(form.get("scope"), "")
    if "openid" not in _scopes(scope):
        raise OAuthError("invalid_scope", "The scope parameter must contain openid")
    grant = state.peek_refresh_token(EGI, refresh_token)
    if grant is None:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    if grant.client_id is not None and grant.client_id != client_id:
        raise OAuthError("invalid_grant", "Invalid refresh token. Token client and authorized client don't match")
    # Check-in's refresh tokens are reused (not rotated): the same one comes back.
    return _answer(state, grant.subject, client_id, scope, refresh_token=refresh_token)


def _exchange(state: State, form: Form, client_id: str) -> Response:
    subject_token = form.get("subject_token")
    if subject_token is None:
        raise OAuthError("invalid_request", "Missing form parameter: subject_token")
    token_type = form.get("subject_token_type") or ACCESS_TOKEN_TYPE
    if token_type != ACCESS_TOKEN_TYPE:
        raise OAuthError("invalid_request", "Invalid token type, must be access token")
    audience = form.get("audience")
    if audience is not None and state.client(EGI, audience) is None:
        raise OAuthError("invalid_client", "audience not found")
    requested = form.get("requested_token_type") or ACCESS_TOKEN_TYPE
    if requested not in (ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE):
        raise OAuthError("invalid_request", "requested_token_type unsupported")
    record = state.access_token(subject_token)
    if record is None or record.profile != EGI or record.expires_at <= state.now():
        raise OAuthError("invalid_token", "Invalid token")
    held = set(_scopes(str(parse_jwt(subject_token).claims.get("scope") or "")))
    wanted = _scopes(form.get("scope"))
    refused = [s for s in wanted if s not in held and s not in _ALWAYS_GRANTABLE]
    if refused:
        raise OAuthError("invalid_scope", f"Invalid scopes: {' '.join(refused)}")
    scope = " ".join(wanted) if wanted else " ".join(sorted(held))
    refresh = None
    if requested == REFRESH_TOKEN_TYPE or "offline_access" in wanted:
        refresh = state.issue_refresh_token(EGI, record.subject, client_id)
    issued = REFRESH_TOKEN_TYPE if requested == REFRESH_TOKEN_TYPE else ACCESS_TOKEN_TYPE
    return _answer(state, record.subject, client_id, scope, refresh_token=refresh, issued_token_type=issued)


def _poll(state: State, form: Form, client_id: str) -> Response:
    device_code = form.get("device_code")
    if device_code is None:
        raise OAuthError("invalid_request", "Missing parameter: device_code")
    outcome, grant = state.poll_device(device_code, client_id)
    if outcome == "approved" and grant is not None:
        scope = grant.scope or "openid"
        refresh = state.issue_refresh_token(EGI, grant.subject, client_id) if "offline_access" in scope else None
        return _answer(state, grant.subject, client_id, scope, refresh_token=refresh)
    raise poll_error(outcome)


def device_authorization(state: State, req: Request) -> Response:
    form = require_form(req)
    client = require_client(
        state, req, form, profile=EGI, token_url=state.url(EGI_TOKEN_PATH), policy=ANY_CLIENT
    ).client
    scope = _granted_scope(form.get("scope"), "openid")
    grant = state.new_device_grant(client.client_id, subject=f"{secrets.token_hex(8)}@egi.eu", scope=scope)
    return device_answer(state, grant, state.url(EGI_VERIFICATION_PATH))
