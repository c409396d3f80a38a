"""The one-call entry points: fetch a token, sign a JWT, build a request without sending it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import jws
from .arguments import check_options
from .assertions import build_header
from .credentials import resolve_credentials
from .errors import ConfigError, TokenEndpointError
from .flows import Plan, plan_request
from .keys import KeyInput, load_key
from .offline_tokens import warn_if_ending
from .profiles import Profile, load_profile
from .refresh_keeper import REFRESH_GRANTS, RefreshKeeper
from .response_mapping import token_as_given
from .tokens import Token
from .transport import DEFAULT_TIMEOUT, discover, exchange

if TYPE_CHECKING:
    import requests

__all__ = ["build_request", "fetch_token", "sign_jwt"]


def build_request(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
    *,
    flow: str | None = None,
    auth_method: str | None = None,
    **credentials: Any,
) -> Plan:
    """Decide the flow and build the exact token request for these credentials, without sending it."""
    return plan_request(load_profile(profile), flow=flow, auth_method=auth_method, **credentials)


def fetch_token(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
    *,
    flow: str | None = None,
    auth_method: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    verify: bool | str = True,
    proxies: Mapping[str, str] | None = None,
    clock: Callable[[], float] | None = None,
    keep_refresh_token: bool = True,
    **credentials: Any,
) -> Token:
    """One token exchange, no access-token cache: the flow follows from the credentials given (or ``flow=``).

    A refresh token the server rotates is kept in the user data folder, so the next call (in this
    run or a later one) that passes the same original ``refresh_token=`` uses the newest one;
    ``keep_refresh_token=False`` turns that off (see refresh_keeper.py).

    >>> token = m2mauth.fetch_token("clms", service_key="~/land-copernicus.json")  # doctest: +SKIP
    """
    check_options(flow=flow, auth_method=auth_method, timeout=timeout, session=session, verify=verify, proxies=proxies)
    prof = load_profile(profile)
    issuer = credentials.get("issuer")
    if not credentials.get("token_url") and issuer:
        credentials["token_url"] = discover(str(issuer), session=session, timeout=timeout)["token_endpoint"]
    given = ready_token(prof, flow, credentials, clock)
    if given is not None:
        return given
    plan = plan_request(prof, flow=flow, auth_method=auth_method, clock=clock, **credentials)
    # The token the user gave (a kept successor may carry a later iat): is its 90-day life ending?
    warn_if_ending(prof, plan.flow, plan.credentials.refresh_token)
    keeper = None
    if keep_refresh_token and plan.flow.grant in REFRESH_GRANTS:
        keeper = RefreshKeeper.for_chain(prof, plan.credentials)

    def send(plan: Plan) -> Token:
        return exchange(
            plan.request,
            profile=prof,
            session=session,
            timeout=timeout,
            verify=verify,
            proxies=proxies,
            default_lifetime=prof.default_token_lifetime,
            clock=clock,
            flow=plan.flow,
        )

    if keeper is None:
        return send(plan)
    with keeper.lock(timeout + 60):  # one run at a time spends the chain's newest token
        newest = keeper.newest()
        if newest and newest != plan.credentials.refresh_token:
            credentials["refresh_token"] = newest
            plan = plan_request(prof, flow=flow, auth_method=auth_method, clock=clock, **credentials)
        try:
            token = send(plan)
        except TokenEndpointError as error:
            raise (keeper.refused(error) if newest else error) from None
        keeper.keep(token)
        return token


def ready_token(
    prof: Profile, flow: str | None, credentials: Mapping[str, Any], clock: Callable[[], float] | None = None
) -> Token | None:
    """The token given as ``access_token=`` (EARTHDATA_TOKEN), when that is the flow these credentials
    choose: used as is, with its JWT ``exp`` as expiry; None for every other flow."""
    if not any(f.grant == "ready_token" for f in prof.flows):
        return None  # the usual case: credentials are resolved once, by plan_request
    creds = resolve_credentials(prof, credentials)
    chosen = prof.select_flow(creds.available(), flow)
    if chosen.grant != "ready_token" or not creds.access_token:
        return None
    source = next((v for v in creds.from_env if v.endswith("TOKEN")), "access_token=")
    now = (clock or time.time)()
    return chosen.presentation.apply(token_as_given(creds.access_token, now=now, source=source))


def sign_jwt(
    claims: Mapping[str, Any],
    key: KeyInput,
    *,
    alg: str | None = None,
    kid: str | None = None,
    headers: Mapping[str, Any] | None = None,
    key_password: str | None = None,
) -> str:
    """Sign a claim set. The algorithm follows from the key (RS256 for RSA, ES256 for P-256, HS256 for
    a secret given as bytes or ``{"kty": "oct"}``); an RSA key asked for HS256 is refused."""
    if not isinstance(claims, Mapping):
        raise ConfigError("claims must be a mapping (a dict / named list)", code="invalid_claims")
    check_options(claims=claims, headers=headers, alg=alg, kid=kid, key_password=key_password)
    loaded = load_key(key, password=key_password, kid=kid)
    chosen = alg or loaded.default_algorithm
    loaded.check_algorithm(chosen)
    header: dict[str, Any] = build_header(chosen, loaded.kid)
    for name, value in (headers or {}).items():
        if name == "alg" and value != chosen:
            raise ConfigError(
                f"headers= says alg {value!r} but the signature is {chosen}",
                code="key_algorithm_mismatch",
                hint="Do not set alg in headers; pass alg= (it must fit the key).",
            )
        header[name] = value
    return jws.compact(header, dict(claims), loaded)
