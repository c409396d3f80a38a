"""run_doctor: the checklist in order, from the credentials to the exchange."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..credentials import Credentials
from ..diagnose import inspect
from ..errors import ConfigError, M2MAuthError
from ..flows import Plan, plan_request
from ..keys import Key, ServiceKey, load_service_key
from ..profiles import Flow, Profile, load_profile
from ..transport import check_url, discover
from .claims import findings_check, planned_claims
from .endpoint import (
    DEFAULT_TIMEOUT,
    Probe,
    endpoint_check,
    new_session,
    probe,
    run_exchange,
)
from .environment import clock_check, proxy_check
from .exchange import flow_checks
from .keyfile import assertion_alg, key_check, key_file_checks, load_signing_key, service_key_token_uri
from .provider_files import credential_file_checks, offline_token_check, with_checks
from .report import FAIL, OK, SKIP, Check, Report
from .token_services import token_service_checks

if TYPE_CHECKING:
    import requests


def run_doctor(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
    *,
    jwt: str | None = None,
    send: bool = False,
    json_body: bool = False,
    flow: str | None = None,
    auth_method: str | None = None,
    basic_encoding: str | None = None,
    try_exchange: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    platform: str = sys.platform,
    **credentials: Any,
) -> Report:
    """Run the checklist for these credentials (or for the grant ``jwt``) and return the Report.

    Raises only for a profile that cannot be loaded or an unknown credential keyword; every other
    problem becomes a failed check.
    """
    if json_body and not send:
        raise ConfigError("json_body= needs send=True", code="invalid_option", hint="Pass send=True as well.")
    if send and jwt is None:
        raise ConfigError("send= needs jwt= (the grant to send)", code="invalid_option")
    if jwt is not None:
        try:
            jwt.encode("utf-8")
        except (AttributeError, UnicodeEncodeError):  # not text, or bytes that are not UTF-8 (lone surrogates)
            raise ConfigError("jwt= must be UTF-8 text (the compact JWT)", code="invalid_option") from None
    prof = load_profile(profile)
    now = clock or time.time
    env = os.environ if environ is None else environ
    given = {k: v for k, v in credentials.items() if v is not None}
    creds, file_checks = credential_file_checks(prof, given, env)
    file_checks += offline_token_check(prof, creds, now)
    http = session or new_session()
    try:
        report = _run(
            prof,
            creds,
            given,
            jwt,
            send,
            json_body,
            flow,
            auth_method,
            basic_encoding,
            try_exchange,
            timeout,
            now,
            env,
            http,
            platform,
        )
        services = token_service_checks(prof, creds, given, http, timeout, try_exchange)
        return with_checks(report, file_checks + services)
    finally:
        if session is None:
            http.close()


def _run(
    prof: Profile,
    creds: Credentials,
    given: dict[str, Any],
    jwt: str | None,
    send: bool,
    json_body: bool,
    flow_name: str | None,
    auth_method: str | None,
    basic_encoding: str | None,
    try_exchange: bool,
    timeout: float,
    now: Callable[[], float],
    env: Mapping[str, str],
    http: requests.Session,
    platform: str,
) -> Report:
    checks: list[Check] = []
    mode = "jwt" if jwt is not None else "credentials"

    # Credentials and the flow they select.
    chosen: Flow | None = None
    try:
        chosen = prof.select_flow(creds.available(), flow_name)
    except ConfigError as err:
        if mode == "credentials":
            checks.append(Check("credentials", FAIL, err.message, err.hint, (err.code,)))
    if chosen is not None:
        names = sorted(n for n in creds.available() if n not in ("token_url", "issuer", "scope", "audience"))
        from_env = f"; from the environment: {', '.join(creds.from_env)}" if creds.from_env else ""
        checks.append(
            Check(
                "credentials",
                OK,
                f"flow {chosen.name} ({chosen.grant}) with {', '.join(names) or 'no credentials'}{from_env}",
                details={"flow": chosen.name, "grant": chosen.grant, "names": names, "from_env": list(creds.from_env)},
            )
        )

    checks += flow_checks(prof, chosen, creds, now)  # token exchange's subject token, EGI's refresh scope

    # Key files, the key and the algorithm.
    file_checks, files_found = key_file_checks(creds, given, prof, platform)
    checks += file_checks
    service_key: ServiceKey | None = None
    key: Key | None = None
    key_ok = files_found
    if files_found:
        try:
            if creds.service_key is not None:
                service_key = load_service_key(creds.service_key, password=creds.key_password)
            key = load_signing_key(creds, service_key)
        except ConfigError as err:
            key_ok = False
            checks.append(Check("key", FAIL, err.message, err.hint, (err.code,)))

    # Where the token request goes (OIDC discovery when only an issuer is known).
    token_url = creds.token_url
    if not token_url and creds.issuer:
        try:
            token_url = str(discover(str(creds.issuer), session=http, timeout=timeout)["token_endpoint"])
            checks.append(Check("discovery", OK, f"{creds.issuer} names the token endpoint {token_url}"))
        except M2MAuthError as err:
            checks.append(Check("discovery", FAIL, err.message, err.hint, (err.code,)))

    # The request m2mauth would send, its key and its JWT.
    plan: Plan | None = None
    if mode == "credentials" and chosen is not None and key_ok:
        overrides = {"token_url": token_url} if token_url else {}
        try:
            plan = plan_request(
                prof,
                flow=chosen.name,
                auth_method=auth_method,
                basic_encoding=basic_encoding,
                clock=now,
                environ=env,
                **{**given, **overrides},
            )
        except ConfigError as err:
            if err.code == "interactive_flow":
                checks.append(
                    Check(
                        "request",
                        SKIP,
                        f"{chosen.name} is an interactive device login; `m2mauth login {prof.name} ...` runs it once "
                        "and stores a refresh token",
                    )
                )
            else:
                checks.append(Check("request", FAIL, err.message, err.hint, (err.code,)))
    if key is not None:
        checks.append(key_check(key, assertion_alg(plan) if plan else None, service_key, plan))
    elif plan is not None and plan.auth_method:
        checks.append(Check("key", OK, f"no key: the client authenticates with {plan.auth_method}"))

    # doctor contacts only what the user named. A service key names its own server (token_uri): when
    # the key cannot be loaded in full, that URL is still read from its JSON, never the profile's
    # production URL in its place; when not even the JSON can be read, only --token-url is probed.
    unread_key = creds.service_key is not None and service_key is None
    url: str | None
    if unread_key:
        url = token_url or service_key_token_uri(creds.service_key)
    else:
        url = (
            (plan.request.url if plan else None)
            or token_url
            or (service_key.token_uri if service_key else None)
            or (chosen.token_url if chosen else None)
            or prof.token_url
        )

    # The claims of the JWT: the planned one, or the user's own.
    if plan is not None:
        checks += planned_claims(plan, prof, service_key, now)
    if jwt is not None:
        expected_aud = service_key.token_uri if service_key else url
        alg = inspect(jwt).header.get("alg")
        # A key of another kind than the grant's alg (an RSA key, an HS256 grant) is already a finding.
        same_kind = key is not None and isinstance(alg, str) and alg in key.algorithms
        diagnosis = inspect(jwt, prof, now=now(), key=key if same_kind else None, token_url=expected_aud)
        checks.append(findings_check("grant", diagnosis, "the grant given with --jwt"))

    # Clock, proxy and endpoint: one HEAD request to the token URL.
    probe_result: Probe | None = None
    if url:
        try:
            check_url(url)
        except ConfigError as err:
            checks.append(Check("clock", SKIP, "offset not measured: the token URL is refused"))
            checks.append(proxy_check(url, env))
            checks.append(Check("endpoint", FAIL, err.message, err.hint, (err.code,), details={"url": url}))
        else:
            probe_result = probe(url, session=http, timeout=timeout, clock=now)
            reason = "the token server did not answer" if probe_result.error else "the answer has no Date header"
            checks.append(clock_check(probe_result.offset, reason=reason, server_date=probe_result.server_date))
            checks.append(proxy_check(url, env))
            checks.append(endpoint_check(probe_result))
    elif unread_key:
        checks.append(Check("clock", SKIP, "offset not measured: nothing was contacted"))
        checks.append(proxy_check(None, env))
        checks.append(
            Check(
                "endpoint",
                SKIP,
                "not probed: the service key cannot be read, so the server it belongs to (its token_uri) is "
                f"unknown, and doctor contacts no server you did not name ({prof.name}'s own URL included)",
                "Fix the service key (see the key line), or pass token_url= to check that token endpoint.",
                ("service_key_unreadable",),
            )
        )
    else:
        checks.append(Check("clock", SKIP, "offset not measured: no token URL"))
        checks.append(proxy_check(None, env))
        checks.append(
            Check(
                "endpoint",
                FAIL,
                f"profile {prof.name!r} has no token URL",
                "Pass --token-url (the token endpoint) or --issuer (OIDC discovery finds it).",
                ("missing_token_url",),
            )
        )

    checks.append(
        run_exchange(
            prof, creds, chosen, plan, jwt, send, json_body, try_exchange, url, probe_result, checks, timeout, now, http
        )
    )
    return Report(prof.name, tuple(checks), chosen.name if chosen else None, url, mode)
