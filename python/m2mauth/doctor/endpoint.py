"""The I/O checks: one HEAD probe of the token URL (reachable, its Date header) and the exchange, tried once."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import progress
from ..credentials import Credentials
from ..diagnose import explain
from ..errors import M2MAuthError, TokenEndpointError, TransportError
from ..flows import Plan
from ..profiles import Flow, Profile
from ..token_request import TokenRequest
from ..tokens import Token, parse_token_response
from ..transport import check_url, exchange, with_profile_hint
from .claims import grant_request
from .environment import NTP_FIX, duration
from .report import FAIL, OK, SKIP, Check

if TYPE_CHECKING:
    import requests


DEFAULT_TIMEOUT = 10.0
REFRESH_GRANTS = ("refresh_token", "get_refresh")


@dataclass(frozen=True)
class Probe:
    """The outcome of one HEAD request to the token URL: status and Date header, or the error."""

    url: str
    status: int | None = None
    server_date: str | None = None
    server_time: float | None = None  # the Date header as epoch seconds
    sent_at: float | None = None  # local clock, before sending
    received_at: float | None = None  # local clock, after the answer
    elapsed_ms: float | None = None
    error: M2MAuthError | None = None

    @property
    def offset(self) -> float | None:
        """Server time minus local time, seconds: the Date header (truncated to whole seconds, so +0.5)
        against the middle of the round trip."""
        if self.server_time is None or self.sent_at is None or self.received_at is None:
            return None
        return self.server_time + 0.5 - (self.sent_at + self.received_at) / 2


def endpoint_check(result: Probe) -> Check:
    host = urlsplit(result.url).hostname or result.url
    if result.error is not None:
        return Check(
            "endpoint",
            FAIL,
            f"cannot reach {host}: {result.error.message}",
            result.error.hint,
            (result.error.code,),
            details={"url": result.url},
        )
    details = {"url": result.url, "status": result.status, "elapsed_ms": result.elapsed_ms}
    if result.status == 407:
        return Check(
            "endpoint",
            FAIL,
            "a proxy answered HTTP 407 Proxy Authentication Required instead of the token server",
            "Put the proxy's login into the proxy variable (HTTPS_PROXY=http://user:password@proxy:port) "
            "or ask your IT department which proxy and login to use.",
            ("proxy_auth_required",),
            details=details,
        )
    took = f" in {result.elapsed_ms:.0f} ms" if result.elapsed_ms is not None else ""
    return Check("endpoint", OK, f"{host} answered (HTTP {result.status} to a HEAD request{took})", details=details)


def exchange_check(
    outcome: Token | M2MAuthError,
    profile: Profile,
    *,
    now: float,
    what: str = "the exchange",
    causes: tuple[Check, ...] = (),
    note: str | None = None,
) -> Check:
    """The token server's answer: a token (never shown) or its error with the provider's plain-words fix."""
    notes = (note,) if note else ()
    if isinstance(outcome, Token):
        left = outcome.seconds_left(now)
        valid = f", valid for {duration(left)}" if left is not None else ""
        return Check(
            "exchange",
            OK,
            f"the server issued a {outcome.token_type} token{valid} (not shown; `m2mauth token {profile.name} ...` "
            "prints it)",
            notes=notes,
            details={"expires_in": left, "token_type": outcome.token_type, "scope": outcome.scope},
        )
    explanation = explain(outcome, profile)
    codes = tuple(dict.fromkeys(c for c in (outcome.code, explanation.code) if c))
    fix = explanation.hint or outcome.hint
    cause_notes: list[str] = []
    for cause in causes:
        if cause.status != FAIL:
            continue
        cause_notes.append(f"likely cause: {cause.title} ({', '.join(cause.codes) or cause.message})")
        codes += tuple(c for c in cause.codes if c not in codes)
        offset = cause.details.get("offset_seconds")
        if cause.name == "clock" and isinstance(offset, (int, float)):
            direction = "behind" if offset > 0 else "ahead of"
            here = f"Here your clock is {duration(offset)} {direction} the server's: {NTP_FIX}"
            fix = f"{fix} {here}" if fix else here
        elif cause.fix:
            cause_notes[-1] += "; its fix is above"
    if isinstance(outcome, TokenEndpointError):
        message = f"{what} was refused: {explanation.message}"
    else:
        message = f"{what} failed: {explanation.message}"
    details: dict[str, Any] = {"explanation": explanation.to_dict()}
    return Check("exchange", FAIL, message, fix, codes, (*notes, *cause_notes), details)


# -- I/O -----------------------------------------------------------------------------------------


def new_session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "m2mauth-doctor"
    return session


def _transport_error(exc: BaseException, url: str, timeout: float) -> TransportError:
    import requests

    host = urlsplit(url).hostname or url
    if isinstance(exc, requests.exceptions.ProxyError):
        return TransportError(
            f"the proxy refused the connection to {host}",
            code="proxy_error",
            hint="Check HTTPS_PROXY/HTTP_PROXY/NO_PROXY and the proxy's login (see the proxy line).",
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError(
            f"TLS verification failed for {host}",
            code="tls_error",
            hint="A proxy may intercept TLS: point REQUESTS_CA_BUNDLE at its CA bundle.",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return TransportError(
            f"no answer from {host} within {timeout:g} s",
            code="timeout",
            hint="The token server is slow or unreachable from here: check the network and proxy settings, or "
            "wait longer with timeout= (seconds).",
        )
    return TransportError(
        f"no connection to {host} ({type(exc).__name__})",
        code="connection_error",
        hint="Check the token URL, your network and the proxy settings (HTTPS_PROXY, NO_PROXY).",
    )


def probe(
    url: str,
    *,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.time,
) -> Probe:
    """One HEAD request to ``url`` (no credentials, no redirects): is it reachable, and its Date header."""
    import requests

    http = session or new_session()
    sent = clock()
    started = time.monotonic()
    try:
        with progress.waiting(f"waiting for an answer from {urlsplit(url).netloc or url}"):
            response = http.request("HEAD", url, timeout=timeout, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        return Probe(url, error=_transport_error(exc, url, timeout))
    finally:
        if session is None:
            http.close()
    elapsed = (time.monotonic() - started) * 1000
    received = clock()
    date = response.headers.get("Date")
    server_time = None
    if date:
        try:
            server_time = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            server_time = None
    return Probe(url, response.status_code, date, server_time, sent, received, round(elapsed, 1))


def send_json(request: TokenRequest, profile: Profile, session: requests.Session, timeout: float) -> Token:
    """POST the request's fields as a JSON document (the mistake being diagnosed), then read the answer."""
    import requests

    check_url(request.url)
    body = json.dumps(dict(request.form)).encode("utf-8")
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    try:
        with progress.waiting(f"waiting for an answer from {urlsplit(request.url).netloc}"):
            response = session.post(request.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.exceptions.RequestException as exc:
        raise _transport_error(exc, request.url, timeout) from None
    try:
        return parse_token_response(
            response.status_code, response.content, response.headers.get("Content-Type"), url=request.url
        )
    except TokenEndpointError as err:
        raise with_profile_hint(err, profile) from None


def run_exchange(
    prof: Profile,
    creds: Credentials,
    chosen: Flow | None,
    plan: Plan | None,
    jwt: str | None,
    send: bool,
    json_body: bool,
    try_exchange: bool,
    url: str | None,
    probe_result: Probe | None,
    earlier: list[Check],
    timeout: float,
    now: Callable[[], float],
    http: requests.Session,
) -> Check:
    causes = tuple(c for c in earlier if c.name in ("clock", "claims", "grant", "proxy") and c.status == FAIL)
    unreachable = probe_result is not None and probe_result.error is not None
    if jwt is not None:
        if not send:
            where = f" to {url}" if url else ""
            return Check(
                "exchange", SKIP, f"not sent; add --send to POST this grant{where} and see the server's answer"
            )
        if not url:
            return Check("exchange", SKIP, "not sent: no token URL (pass --token-url)")
        request, how = grant_request(jwt, url, prof, chosen, creds)
        note = (
            f"sent {how} as a JSON body (--json-body), as httr2::req_body_json() or requests' json= do"
            if json_body
            else f"sent {how}, form-encoded, as m2mauth does"
        )
        outcome: Token | M2MAuthError
        try:
            outcome = (
                send_json(request, prof, http, timeout)
                if json_body
                else exchange(request, profile=prof, session=http, timeout=timeout, clock=now)
            )
        except M2MAuthError as err:
            outcome = err
        return exchange_check(outcome, prof, now=now(), what="the grant", causes=causes, note=note)
    if plan is None and chosen is not None and chosen.grant == "device_code":
        return Check("exchange", SKIP, f"not tried: a device login is interactive (`m2mauth login {prof.name} ...`)")
    if plan is None:
        return Check("exchange", SKIP, "not tried: fix the failed checks above first")
    if not try_exchange:
        return Check("exchange", SKIP, "not tried (--no-exchange)")
    if plan.flow.grant in REFRESH_GRANTS:
        return Check(
            "exchange",
            SKIP,
            f"not tried: a refresh token may be single-use ({prof.name} can replace it on every use), and doctor "
            f"keeps nothing; `m2mauth token {prof.name} ...` tries it and stores the new one",
        )
    if unreachable:
        return Check("exchange", SKIP, "not tried: the token server is unreachable (see the endpoint line)")
    try:
        outcome = exchange(
            plan.request,
            profile=prof,
            session=http,
            timeout=timeout,
            default_lifetime=prof.default_token_lifetime,
            clock=now,
        )
    except M2MAuthError as err:
        outcome = err
    return exchange_check(outcome, prof, now=now(), causes=causes)
