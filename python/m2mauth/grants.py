"""Token requests for each grant (RFC 6749 §4, RFC 7523 §2.1, RFC 8628 §3.4) and provider quirks.

Every function returns a ``TokenRequest``; none sends anything. Token POSTs are always
form-encoded with ``Accept: application/json`` — a JSON body is the mistake behind CLMS's
"Missing 'grant_type'".
"""

from __future__ import annotations

from collections.abc import Iterable

from .assertions import Clock, JtiSource
from .client_auth import ClientAuth
from .errors import ConfigError
from .token_request import FORM_CONTENT_TYPE, TokenRequest

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "DEVICE_CODE_GRANT",
    "JWT_BEARER_GRANT",
    "TOKEN_EXCHANGE_GRANT",
    "client_credentials",
    "device_authorization",
    "device_code",
    "get_refresh",
    "jwt_bearer",
    "password",
    "refresh_token",
    "token_exchange",
]

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
#: RFC 8693 §3: the token type of an OAuth 2.0 access token (the default subject_token_type).
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"

Params = Iterable[tuple[str, str]]


def _post(
    url: str,
    fields: list[tuple[str, str]],
    client_auth: ClientAuth | None,
    *,
    scope: str | None = None,
    extra: Params = (),
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    if not url:
        raise ConfigError(
            "no token URL",
            code="missing_token_url",
            hint="Give token_url= (or a profile that names one, or issuer= for discovery).",
        )
    headers = [("Accept", "application/json"), ("Content-Type", FORM_CONTENT_TYPE)]
    form = list(fields)
    if scope:
        form.append(("scope", scope))
    form.extend(extra)
    if client_auth is not None:
        auth_headers, auth_fields = client_auth.apply(url, now=now, clock=clock, jti_source=jti_source)
        headers.extend(auth_headers)
        form.extend(auth_fields)
    for name, value in form:
        if not isinstance(value, str):
            raise ConfigError(f"form field {name!r} must be text, not {type(value).__name__}", code="invalid_option")
    return TokenRequest("POST", url, tuple(headers), tuple(form))


def jwt_bearer(
    token_url: str,
    assertion: str,
    *,
    client_auth: ClientAuth | None = None,
    scope: str | None = None,
    extra: Params = (),
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 7523 §2.1: exchange a signed JWT for an access token."""
    if not assertion:
        raise ConfigError("the jwt-bearer grant needs an assertion", code="missing_credential")
    return _post(
        token_url,
        [("grant_type", JWT_BEARER_GRANT), ("assertion", assertion)],
        client_auth,
        scope=scope,
        extra=extra,
        now=now,
        clock=clock,
        jti_source=jti_source,
    )


def client_credentials(
    token_url: str,
    client_auth: ClientAuth,
    *,
    scope: str | None = None,
    extra: Params = (),
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 6749 §4.4."""
    return _post(
        token_url,
        [("grant_type", "client_credentials")],
        client_auth,
        scope=scope,
        extra=extra,
        now=now,
        clock=clock,
        jti_source=jti_source,
    )


def password(
    token_url: str,
    username: str,
    password: str,
    *,
    client_auth: ClientAuth | None = None,
    scope: str | None = None,
    extra: Params = (),
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 6749 §4.3 (Climate Engine's username/password grant)."""
    if not username or not password:
        raise ConfigError(
            "the password grant needs username and password",
            code="missing_credential",
            hint="Pass username= and password= (or their environment variables).",
        )
    return _post(
        token_url,
        [("grant_type", "password"), ("username", username), ("password", password)],
        client_auth,
        scope=scope,
        extra=extra,
        now=now,
        clock=clock,
        jti_source=jti_source,
    )


def refresh_token(
    token_url: str,
    refresh_token: str,
    *,
    client_auth: ClientAuth | None = None,
    scope: str | None = None,
    extra: Params = (),
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 6749 §6."""
    if not refresh_token:
        raise ConfigError("the refresh_token grant needs a refresh token", code="missing_credential")
    return _post(
        token_url,
        [("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        client_auth,
        scope=scope,
        extra=extra,
        now=now,
        clock=clock,
        jti_source=jti_source,
    )


def device_authorization(
    url: str,
    client_auth: ClientAuth,
    *,
    scope: str | None = None,
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 8628 §3.1: start a device authorization."""
    return _post(url, [], client_auth, scope=scope, now=now, clock=clock, jti_source=jti_source)


def device_code(
    token_url: str,
    code: str,
    client_auth: ClientAuth,
    *,
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 8628 §3.4: one poll of the token endpoint."""
    return _post(
        token_url,
        [("grant_type", DEVICE_CODE_GRANT), ("device_code", code)],
        client_auth,
        now=now,
        clock=clock,
        jti_source=jti_source,
    )


def token_exchange(
    token_url: str,
    subject_token: str,
    *,
    subject_token_type: str = ACCESS_TOKEN_TYPE,
    audience: str | None = None,
    resource: str | None = None,
    requested_token_type: str | None = None,
    client_auth: ClientAuth | None = None,
    scope: str | None = None,
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
) -> TokenRequest:
    """RFC 8693 §2.1: exchange ``subject_token`` for a token meant for ``audience`` / ``resource``.

    Field order: grant_type, subject_token, subject_token_type, then the optional resource,
    audience and requested_token_type (as §2.1 lists them), scope, and client authentication.
    """
    if not subject_token:
        raise ConfigError(
            "token exchange needs a subject token",
            code="missing_credential",
            hint="Pass subject_token= (the access token to exchange).",
        )
    if not subject_token_type:
        raise ConfigError(
            "subject_token_type= is empty",
            code="invalid_credential",
            hint=f"Leave subject_token_type= out for {ACCESS_TOKEN_TYPE}, or give an RFC 8693 §3 token type URI.",
        )
    fields = [
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("subject_token", subject_token),
        ("subject_token_type", subject_token_type),
    ]
    optional = (("resource", resource), ("audience", audience), ("requested_token_type", requested_token_type))
    fields.extend((name, value) for name, value in optional if value)
    return _post(token_url, fields, client_auth, scope=scope, now=now, clock=clock, jti_source=jti_source)


def get_refresh(url: str, refresh_token: str, *, parameter: str = "refreshToken") -> TokenRequest:
    """A provider's GET refresh endpoint (OpenAIRE: ``getAccessToken?refreshToken=...``)."""
    if not refresh_token:
        raise ConfigError(
            "no refresh token",
            code="missing_credential",
            hint="Pass refresh_token= (copied from your OpenAIRE personal token page).",
        )
    return TokenRequest("GET", url, (("Accept", "application/json"),), ((parameter, refresh_token),))
