"""From a profile and credentials to the exact token request: which flow, which key, which claims.

Pure: no I/O beyond reading key files the caller named; time and jti are injectable.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import grants
from .arguments import check_options
from .assertions import Assertion, Clock, JtiSource, make_assertion
from .client_auth import ClientAuth
from .credentials import Credentials, resolve_credentials
from .errors import ConfigError
from .keys import Key, ServiceKey, load_key, load_service_key, secret_key
from .profiles import AssertionTemplate, Flow, Profile, load_profile
from .request_shapes import basic_login, json_login
from .token_exchange import check_subject_token
from .token_request import TokenRequest

__all__ = ["Plan", "check_option_fields", "flow_client", "optional_fields", "plan_request"]

_PLACEHOLDER = re.compile(r"\{([a-z_|]+)\}")


@dataclass(frozen=True, repr=False)
class Plan:
    """What will be sent and why: the chosen flow, key, algorithm and the request itself."""

    profile: Profile
    flow: Flow
    credentials: Credentials
    token_url: str
    request: TokenRequest
    auth_method: str | None = None
    assertion: Assertion | None = None
    key: Key | None = None

    def __repr__(self) -> str:
        return f"<Plan {self.profile.name}/{self.flow.name} {self.request!r}>"


def _fill(template: str, context: Mapping[str, str | None], where: str) -> str:
    def one(match: re.Match[str]) -> str:
        for name in match.group(1).split("|"):
            value = context.get(name)
            if value:
                return value
        raise ConfigError(
            f"{where} needs {match.group(1).replace('|', ' or ')}",
            code="missing_credential",
            hint=f"Pass {match.group(1).split('|')[0]}= (or its environment variable).",
        )

    return _PLACEHOLDER.sub(one, template)


def _fill_optional(template: str, context: Mapping[str, str | None]) -> str | None:
    try:
        return _fill(template, context, "")
    except ConfigError:
        return None


def _signing_key(creds: Credentials, service_key: ServiceKey | None) -> Key:
    if service_key is not None:
        return service_key.key
    if creds.private_key is not None:
        return load_key(creds.private_key, password=creds.key_password, kid=creds.key_id)
    if creds.secret:
        return secret_key(creds.secret, kid=creds.key_id)
    raise ConfigError(
        "the JWT grant needs a key: private_key= (RSA/EC) or secret= (HMAC)",
        code="missing_credential",
        hint="Pass private_key= with a PEM path, PEM text or JWK, or secret= with a shared secret.",
    )


def _choose_alg(template: AssertionTemplate, key: Key, profile: Profile) -> str:
    if key.default_algorithm in template.algorithms:
        return key.default_algorithm
    for alg in template.algorithms:
        if alg in key.algorithms:
            return alg
    wanted = template.algorithms[0]
    key.check_algorithm(wanted)  # raises key_algorithm_mismatch with the fix
    raise AssertionError("unreachable")  # pragma: no cover


def _client_auth(
    flow: Flow, creds: Credentials, profile: Profile, auth_method: str | None, basic_encoding: str | None
) -> ClientAuth | None:
    method = auth_method or flow.default_auth_method
    if auth_method is not None and flow.auth_methods and auth_method not in flow.auth_methods:
        raise ConfigError(
            f"{profile.name}/{flow.name} does not offer auth_method={auth_method!r}",
            code="invalid_auth_method",
            hint="It offers: " + ", ".join(flow.auth_methods) + ".",
        )
    if method is None or (method == "none" and not creds.client_id):
        return None
    if flow.grant in ("refresh_token", "password") and not creds.client_id and auth_method is None:
        return None
    if method == "none" and creds.client_secret and auth_method is None:
        method = next((m for m in flow.auth_methods if m.startswith("client_secret")), method)
    if (
        auth_method is None
        and (method.startswith("client_secret") or (method == "none" and flow.grant == "token_exchange"))
        and not creds.client_secret
        and creds.private_key is not None
        and "private_key_jwt" in flow.auth_methods
    ):
        # A key and no secret where a secret method would fail (EGI Check-in's flows offer all four
        # methods): sign a client assertion instead.
        method = "private_key_jwt"
    key = None
    if method == "private_key_jwt":
        if creds.private_key is None:
            raise ConfigError(
                "private_key_jwt needs private_key=",
                code="missing_credential",
                hint="Pass the private key registered with the provider (PEM path, PEM text or JWK).",
            )
        key = load_key(creds.private_key, password=creds.key_password, kid=creds.key_id)
    alg = None
    allowed = flow.client_assertion_algorithms
    if key is not None and allowed:
        # The server accepts only these (OpenAIRE: RS256); a key of another family is refused here.
        alg = key.default_algorithm if key.default_algorithm in allowed else allowed[0]
    return ClientAuth(
        method,
        creds.client_id or "",
        creds.client_secret,
        key,
        alg,
        basic_encoding=basic_encoding or profile.basic_encoding,
    )


def provider_login_request(prof: Profile, flow: Flow, creds: Credentials, token_url: str) -> TokenRequest:
    """A provider's own login (USGS M2M: JSON fields; NASA Earthdata Login: HTTP Basic), as its flow says."""
    shape = flow.request
    if shape is None:
        raise ConfigError(
            f"{prof.name}/{flow.name} is a provider_login flow without a 'request' member",
            code="invalid_profile",
            hint='Say how it sends its credentials: "request": {"shape": "json", "fields": {...}} '
            'or {"shape": "basic"}.',
        )
    if shape.kind == "basic":
        return basic_login(token_url, creds.username or "", creds.password or "")
    return json_login(token_url, [(wire, creds.get(name) or "") for wire, name in shape.fields])


def flow_client(flow: Flow, creds: Credentials, given: Mapping[str, Any]) -> Credentials:
    """``creds`` with the flow's own client id (a provider's public client, e.g. CDSE's ``cdse-public``)
    unless ``client_id=`` was given as a keyword: a client id from the environment is meant for the
    provider's other clients (CDSE: ``SH_CLIENT_ID`` names a dashboard client) and does not replace it."""
    if flow.client_id is None or given.get("client_id") is not None:
        return creds
    return dataclasses.replace(creds, client_id=flow.client_id)


def check_option_fields(profile: Profile, flow: Flow, **options: int | None) -> None:
    """Refuse an option keyword (``validity_period=``) given for a flow that does not list it.

    An option is asked for on purpose, so dropping it would hide a mistake. A credential such as
    ``totp`` is not refused: one set of credentials serves all of a profile's flows (CDSE's
    refresh flow is given the ``totp`` meant for its password flow)."""
    for name, value in options.items():
        if value is not None and name not in flow.optional:
            raise ConfigError(
                f"{profile.name}/{flow.name} does not take {name}=",
                code="invalid_option",
                hint=f"Leave {name}= out: {profile.name} does not document it for this flow "
                "(flows that take it list it in their profile's options).",
            )


def optional_fields(profile: Profile, flow: Flow, creds: Credentials, **options: int | None) -> list[tuple[str, str]]:
    """The form fields the flow lists as optional (``Flow.optional``) that were given, each under its
    own name, in the profile's order: an option keyword (EUMETSAT's ``validity_period``, sent as a
    whole number) or a credential (CDSE's ``totp``; a callable value, ``totp=pyotp.TOTP(seed).now``,
    is asked for the current code now). ``options`` are all the option keywords of the call."""
    check_option_fields(profile, flow, **options)
    fields: list[tuple[str, str]] = []
    for name in flow.optional:
        if name in options:
            number = options[name]
            if number is not None:
                fields.append((name, str(int(number))))  # 86400.0 from R is sent as 86400
            continue
        value = creds.get(name)
        if callable(value):
            value = value()
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(
                    f"the {name}= callable gave {type(value).__name__ if not isinstance(value, str) else 'empty text'}",
                    code="invalid_credential",
                    hint=f"{name}= takes the current code as text, or a function that returns it as text "
                    "(e.g. pyotp.TOTP(seed).now).",
                )
        if isinstance(value, str) and value:
            fields.append((name, value))
    return fields


def plan_request(
    profile: str | Profile | Mapping[str, Any],
    *,
    flow: str | None = None,
    auth_method: str | None = None,
    basic_encoding: str | None = None,
    alg: str | None = None,
    lifetime: int | None = None,
    now: int | None = None,
    clock: Clock | None = None,
    jti_source: JtiSource | None = None,
    environ: Mapping[str, str] | None = None,
    validity_period: int | None = None,
    **credentials: Any,
) -> Plan:
    """Decide the flow for these credentials and build its token request (nothing is sent).

    ``validity_period``: the token lifetime in seconds to ask for, as a form field of that name
    (EUMETSAT's; only flows whose profile lists it in ``options`` take it)."""
    check_options(validity_period=validity_period)
    check_options(
        flow=flow,
        auth_method=auth_method,
        basic_encoding=basic_encoding,
        alg=alg,
        lifetime=lifetime,
        now=now,
        clock=clock,
        jti_source=jti_source,
        environ=environ,
    )
    prof = load_profile(profile)
    creds = resolve_credentials(prof, credentials, environ)
    service_key = (
        load_service_key(creds.service_key, password=creds.key_password) if creds.service_key is not None else None
    )
    available = creds.available()
    chosen = prof.select_flow(available, flow)
    creds = flow_client(chosen, creds, credentials)
    token_url = (
        creds.token_url or (service_key.token_uri if service_key else None) or chosen.token_url or prof.token_url
    )
    if not token_url:
        raise ConfigError(
            f"profile {prof.name!r} needs a token URL",
            code="missing_token_url",
            hint="Pass token_url= (the token endpoint) or issuer= (OIDC discovery finds it).",
        )
    scope = creds.scope or chosen.scope
    # Sent by every grant that posts a form; an option keyword the flow does not take is refused here.
    extra = optional_fields(prof, chosen, creds, validity_period=validity_period)
    assertion = None
    key = None
    method = None
    if chosen.grant == "jwt_bearer":
        assert chosen.assertion is not None
        template = chosen.assertion
        key = _signing_key(creds, service_key)
        chosen_alg = alg or _choose_alg(template, key, prof)
        key.check_algorithm(chosen_alg)
        if chosen_alg not in template.algorithms:
            raise ConfigError(
                f"{prof.name} accepts {', '.join(template.algorithms)}, not {chosen_alg}",
                code="algorithm_not_allowed",
                hint=f"Sign with {template.algorithms[0]}.",
            )
        context: dict[str, str | None] = {
            name: creds.get(name) if isinstance(creds.get(name), str) else None for name in available
        }
        context["token_url"] = token_url
        if service_key is not None:
            context.update(
                client_id=service_key.client_id, user_id=service_key.user_id, key_id=creds.key_id or service_key.key_id
            )
        where = f"{prof.name}/{chosen.name}"
        # kid is optional: a template naming an absent credential leaves it out (or uses the key's own).
        kid = _fill_optional(template.kid, context) if template.kid else None
        assertion = make_assertion(
            key,
            issuer=_fill(template.issuer, context, where),
            subject=_fill(template.subject, context, where) if template.subject else None,
            audience=_fill(template.audience, context, where),
            alg=chosen_alg,
            kid=kid,
            lifetime=lifetime or template.lifetime,
            max_lifetime=template.max_lifetime,
            with_jti=template.jti,
            not_before=template.nbf,
            now=now,
            clock=clock,
            jti_source=jti_source,
        )
        client = _client_auth(chosen, creds, prof, auth_method, basic_encoding) if chosen.auth_methods else None
        request = grants.jwt_bearer(
            token_url,
            assertion.jwt,
            client_auth=client,
            scope=scope,
            extra=extra,
            now=now,
            clock=clock,
            jti_source=jti_source,
        )
    elif chosen.grant == "client_credentials":
        client = _client_auth(chosen, creds, prof, auth_method, basic_encoding)
        if client is None:
            raise ConfigError("client_credentials needs client authentication", code="missing_credential")
        method = client.method
        key = client.key
        request = grants.client_credentials(
            token_url, client, scope=scope, extra=extra, now=now, clock=clock, jti_source=jti_source
        )
    elif chosen.grant == "password":
        client = _client_auth(chosen, creds, prof, auth_method, basic_encoding)
        method = client.method if client else None
        request = grants.password(
            token_url,
            creds.username or "",
            creds.password or "",
            client_auth=client,
            scope=scope,
            extra=extra,
            now=now,
            clock=clock,
            jti_source=jti_source,
        )
    elif chosen.grant == "refresh_token":
        client = _client_auth(chosen, creds, prof, auth_method, basic_encoding)
        method = client.method if client else None
        request = grants.refresh_token(
            token_url,
            creds.refresh_token or "",
            client_auth=client,
            scope=scope,
            extra=extra,
            now=now,
            clock=clock,
            jti_source=jti_source,
        )
    elif chosen.grant == "token_exchange":
        # An expired JWT subject token cannot be exchanged: say so before asking the server.
        check_subject_token(creds.subject_token, float(now) if now is not None else (clock or time.time)())
        client = _client_auth(chosen, creds, prof, auth_method, basic_encoding)
        method = client.method if client else None
        key = client.key if client else None
        request = grants.token_exchange(
            token_url,
            creds.subject_token or "",
            subject_token_type=creds.subject_token_type or grants.ACCESS_TOKEN_TYPE,
            audience=creds.audience,
            resource=creds.resource,
            requested_token_type=creds.requested_token_type,
            client_auth=client,
            scope=scope,
            now=now,
            clock=clock,
            jti_source=jti_source,
        )
    elif chosen.grant == "get_refresh":
        request = grants.get_refresh(token_url, creds.refresh_token or "", parameter=chosen.refresh_parameter)
    elif chosen.grant == "provider_login":
        request = provider_login_request(prof, chosen, creds, token_url)
    elif chosen.grant == "ready_token":
        raise ConfigError(
            f"{prof.name}/{chosen.name} uses the token given (access_token=) as is: there is no request to build",
            code="no_token_request",
            hint="fetch_token() and TokenSource return it with its expiry; build_request() is for flows that send one.",
        )
    else:
        raise ConfigError(
            f"{prof.name}/{chosen.name} is an interactive device login, not a single request",
            code="interactive_flow",
            hint=f"Run m2mauth.login({prof.name!r}, client_id=...) once; later calls use the stored refresh token.",
        )
    return Plan(prof, chosen, creds, token_url, request, method, assertion, key)
