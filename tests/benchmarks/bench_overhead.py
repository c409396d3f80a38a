"""Benchmark 1: per-request overhead with a cached token.

Keep-alive GETs of the local provider's protected resource through requests, one session per
variant: a static ``Authorization`` header set on the Session (the baseline), the same static
header put on by a minimal ``AuthBase`` (a second baseline, see below), ``m2mauth.Auth`` on a
plain Session, ``m2mauth.session()``, Authlib's ``OAuth2Session`` (token fetched by
client_credentials) and requests-oauthlib's ``OAuth2Session`` (token fetched with a
BackendApplicationClient). One cycle sends one request per variant, in an order shuffled
every cycle; each request is timed on its own and divided by the baseline's request of the same
cycle. The result is the median of those paired ratios, with a distribution-free 95 %
confidence interval.

The second baseline exists because requests looks for a ~/.netrc file on every request of a
Session that has no ``auth`` (``Session.prepare_request`` calls ``get_netrc_auth``), and skips
that look-up when an auth object is set, as m2mauth, Authlib and requests-oauthlib all do. So
against the plain static header every auth object starts a few tens of microseconds ahead; the
minimal AuthBase shows the overhead of each library without that head start. A second,
identical minimal-AuthBase session (the placebo) shows how far two sessions doing exactly the
same thing differ in this measurement: the noise floor. A minimal AuthBase that also registers
a no-op response hook shows what the hook behind Auth's retry-once-on-401 costs by itself.

Then the same variants without the network, to see each client's own cost per request: every
session gets an adapter that answers at once with a canned 200, so the whole requests stack
(and each library's) runs and nothing else; 4000 interleaved rounds. Last, the in-process cost
in a hot loop of ``Auth.__call__`` (and of ``TokenSource.token()``, Authlib's
``OAuth2Auth.__call__`` and the minimal AuthBase) on one PreparedRequest, against setting the
header by hand.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import requests
from _common import (
    HTTP_TIMEOUT,
    ProviderProcess,
    Section,
    Verdict,
    generic_options,
    interleaved,
    median,
    median_ci,
    ratio_text,
)
from requests.adapters import BaseAdapter
from requests.auth import AuthBase

LIFETIME = 3600  # one token for the whole benchmark: the cached path only
BASELINE = "static header (Session.headers)"
MINIMAL = "static header (minimal AuthBase)"
PLACEBO = "static header (minimal AuthBase, a second Session)"
HOOKED = "static header (minimal AuthBase + a no-op response hook)"
M2M_AUTH = "m2mauth.Auth"
M2M_SESSION = "m2mauth.session()"
AUTHLIB = "Authlib OAuth2Session"
OAUTHLIB = "requests-oauthlib OAuth2Session"


class StaticAuth(AuthBase):
    """The least an auth object can do: put a fixed header on."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value
        return request


class HookedStaticAuth(StaticAuth):
    """A minimal AuthBase that also registers a response hook, as Auth must for its retry on 401."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value
        request.register_hook("response", self.check)  # type: ignore[no-untyped-call]
        return request

    def check(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        return response


def _one(session: requests.Session, url: str, failures: list[int]) -> Callable[[], None]:
    def run() -> None:
        answer = session.get(url, timeout=HTTP_TIMEOUT)
        if answer.status_code != 200:
            failures.append(answer.status_code)

    return run


def _sessions(options: dict[str, Any]) -> dict[str, requests.Session]:
    import m2mauth

    token_url, client_id, secret = options["token_url"], options["client_id"], options["client_secret"]

    source = m2mauth.TokenSource("generic", **options)
    value = source.token().authorization
    static = requests.Session()
    static.headers["Authorization"] = value

    minimal = requests.Session()
    minimal.auth = StaticAuth(value)
    placebo = requests.Session()
    placebo.auth = StaticAuth(value)
    hooked = requests.Session()
    hooked.auth = HookedStaticAuth(value)

    with_auth = requests.Session()
    with_auth.auth = m2mauth.Auth(source=source)

    ready = m2mauth.session("generic", **options)

    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession

    authlib = AuthlibSession(client_id, secret, token_endpoint=token_url, grant_type="client_credentials")
    authlib.fetch_token()

    from oauthlib.oauth2 import BackendApplicationClient
    from requests.auth import HTTPBasicAuth
    from requests_oauthlib import OAuth2Session as OauthlibSession

    oauthlib = OauthlibSession(client=BackendApplicationClient(client_id=client_id))
    oauthlib.fetch_token(token_url=token_url, auth=HTTPBasicAuth(client_id, secret))

    return {
        BASELINE: static,
        MINIMAL: minimal,
        PLACEBO: placebo,
        HOOKED: hooked,
        M2M_AUTH: with_auth,
        M2M_SESSION: ready,
        AUTHLIB: authlib,
        OAUTHLIB: oauthlib,
    }


class CannedAdapter(BaseAdapter):
    """Answers every request with a canned 200 at once: the whole client stack of requests (and of
    each library) runs, the network and the server do not."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"ok": true}'
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        response.connection = self
        return response

    def close(self) -> None:
        pass


CANNED_URL = "http://canned.invalid/api/resource"  # never resolved: the canned adapter answers


def client_stack(options: dict[str, Any], rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every variant's full requests stack with the canned adapter mounted: seconds per request,
    and ratios to the minimal AuthBase of the same round."""
    sessions = _sessions(options)
    adapter = CannedAdapter()
    failures: list[int] = []
    for session in sessions.values():
        session.mount("http://canned.invalid/", adapter)
    variants = {name: _one(session, CANNED_URL, failures) for name, session in sessions.items()}
    for call in variants.values():
        for _ in range(50):
            call()
    gc.collect()
    result = interleaved(variants, rounds, baseline=MINIMAL)
    for session in sessions.values():
        session.close()
    if failures:
        raise RuntimeError(f"the canned adapter answered {failures[0]}")
    return result


def micro(options: dict[str, Any], calls: int, rounds: int) -> dict[str, float]:
    """In-process seconds per call, no network: what each client does to a PreparedRequest.
    Returns the median per-call time of each variant (batches of ``calls``, interleaved)."""
    import m2mauth

    source = m2mauth.TokenSource("generic", **options)
    token = source.token()
    value = token.authorization
    auth = m2mauth.Auth(source=source)
    request = requests.Request("GET", "http://127.0.0.1:1/api/resource").prepare()

    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession

    authlib = AuthlibSession(
        options["client_id"],
        options["client_secret"],
        token={"access_token": token.access_token, "token_type": "Bearer", "expires_in": LIFETIME},
        token_endpoint=options["token_url"],
        grant_type="client_credentials",
    )
    authlib_auth = authlib.token_auth

    def by_hand() -> None:
        headers = request.headers
        for _ in range(calls):
            headers["Authorization"] = value

    def m2m_auth() -> None:
        for _ in range(calls):
            auth(request)

    static_auth = StaticAuth(value)

    def minimal() -> None:
        for _ in range(calls):
            static_auth(request)

    def m2m_token() -> None:
        get = source.token
        for _ in range(calls):
            get()

    def authlib_call() -> None:
        for _ in range(calls):
            authlib_auth(request)

    def settle() -> None:
        request.hooks["response"].clear()  # Auth registers its 401 hook on every call

    variants = {
        "header by hand": by_hand,
        "static AuthBase.__call__": minimal,
        "m2mauth.Auth.__call__": m2m_auth,
        "TokenSource.token()": m2m_token,
        "Authlib OAuth2Auth.__call__": authlib_call,
    }
    times, _ = interleaved(variants, rounds, baseline="header by hand", settle=settle)
    settle()
    return {name: median(values) / calls for name, values in times.items()}


def run(quick: bool) -> Section:
    section = Section(
        1,
        "Per-request overhead with a cached token",
        "Keep-alive GETs of the provider's /api/resource, provider in its own process. One cycle = one "
        "request per variant in a random order; each request timed alone and divided by the "
        "Session.headers baseline's request of the same cycle; medians of those paired ratios with a 95 % "
        "confidence interval.",
    )
    cycles = 400 if quick else 3000
    with ProviderProcess(token_lifetime=LIFETIME) as provider:
        options = generic_options(provider)
        sessions = _sessions(options)
        url = provider.resource_url
        failures: list[int] = []
        variants = {name: _one(session, url, failures) for name, session in sessions.items()}
        for call in variants.values():  # open every keep-alive connection before timing
            for _ in range(20):
                call()
        token_requests_before = provider.token_requests()
        gc.collect()
        times, ratios = interleaved(variants, cycles, baseline=BASELINE)
        token_requests_during = provider.token_requests() - token_requests_before
        for session in sessions.values():
            session.close()
        per_call = micro(options, calls=2000 if quick else 20000, rounds=7 if quick else 15)
        stack_times, stack_ratios = client_stack(options, 800 if quick else 4000)
        builtin_nodelay = provider.builtin_nodelay

    rows = []
    for name in variants:
        minimal = [a / b for a, b in zip(times[name], times[MINIMAL], strict=True)]
        rows.append(
            [
                name,
                f"{median(times[name]) * 1e6:.0f}",
                ratio_text(ratios[name], 4),
                ratio_text(minimal, 4),
            ]
        )
    section.table(
        ["variant", "median us / request", "ratio to Session.headers baseline", "ratio to minimal-AuthBase baseline"],
        rows,
    )
    section.notes.append(
        f"{cycles} cycles x {len(variants)} variants; {len(failures)} non-200 answers; "
        f"{token_requests_during} token requests during the timed cycles (every token cached)."
    )

    stack_base = median(stack_times[MINIMAL])

    def stack_extra(name: str) -> float:
        """Microseconds a request that ``name`` adds to the minimal AuthBase: from the paired ratios."""
        return (median(stack_ratios[name]) - 1) * stack_base * 1e6

    stack_rows = []
    for name in variants:
        stack_rows.append(
            [
                name,
                f"{median(stack_times[name]) * 1e6:.1f}",
                f"{stack_extra(name):+.1f}",
                ratio_text(stack_ratios[name], 4),
            ]
        )
    section.table(
        [
            "client stack without the network (canned adapter)",
            "median us / request",
            "extra us vs minimal AuthBase (median ratio - 1)",
            "ratio to minimal AuthBase",
        ],
        stack_rows,
    )

    base = per_call["header by hand"]
    request_time = median(times[BASELINE])
    micro_rows = []
    for name, seconds in per_call.items():
        extra = seconds - base
        micro_rows.append(
            [
                name,
                f"{seconds * 1e9:.0f}",
                f"{seconds / base:.2f}x",
                f"{extra * 1e9:+.0f}",
                f"{extra / request_time * 100:.3f} %" if name != "header by hand" else "-",
            ]
        )
    section.table(
        ["in-process, per call (no network)", "ns", "ratio to by hand", "extra ns", "extra / one request"], micro_rows
    )

    def vs_minimal(name: str) -> list[float]:
        return [a / b for a, b in zip(times[name], times[MINIMAL], strict=True)]

    m2m_worst = max(median(ratios[M2M_AUTH]), median(ratios[M2M_SESSION]))
    m2m_worst_minimal = max(median(vs_minimal(M2M_AUTH)), median(vs_minimal(M2M_SESSION)))
    low, high = median_ci(vs_minimal(M2M_AUTH))

    section.verdicts.append(
        Verdict(
            "m2mauth <= 1.01x the static header",
            f"Auth {median(ratios[M2M_AUTH]):.4f}x, session() {median(ratios[M2M_SESSION]):.4f}x",
            m2m_worst <= 1.01,
            "against Session.headers, the usual way to send a static token (below 1: see the ~/.netrc note)",
        )
    )
    section.verdicts.append(
        Verdict(
            "(reported) m2mauth against a minimal AuthBase putting on the same static header",
            f"Auth {median(vs_minimal(M2M_AUTH)):.4f}x (95 % CI {low:.4f}-{high:.4f}), "
            f"session() {median(vs_minimal(M2M_SESSION)):.4f}x",
            None,
            f"without the network m2mauth.Auth adds {stack_extra(M2M_AUTH):.1f} us a request to the minimal "
            f"AuthBase (its 401-retry response hook alone {stack_extra(HOOKED):.1f} us), "
            f"{stack_extra(M2M_AUTH) * 1e-6 / request_time * 100:.2f} % of a {request_time * 1e6:.0f} us loopback "
            f"round trip; an identical second session measures {median(vs_minimal(PLACEBO)):.4f}x over the network",
            reported=True,
        )
    )
    libraries = {AUTHLIB: vs_minimal(AUTHLIB), OAUTHLIB: vs_minimal(OAUTHLIB)}
    best_library = min(median(v) for v in libraries.values())
    section.verdicts.append(
        Verdict(
            "m2mauth no worse than Authlib or requests-oauthlib",
            f"vs minimal AuthBase: m2mauth {m2m_worst_minimal:.4f}x, Authlib {median(libraries[AUTHLIB]):.4f}x, "
            f"requests-oauthlib {median(libraries[OAUTHLIB]):.4f}x",
            m2m_worst_minimal <= best_library,
            f"without the network, extra us a request over the minimal AuthBase: m2mauth Auth "
            f"{stack_extra(M2M_AUTH):+.1f}, session() {stack_extra(M2M_SESSION):+.1f}, Authlib "
            f"{stack_extra(AUTHLIB):+.1f}, requests-oauthlib {stack_extra(OAUTHLIB):+.1f}",
        )
    )
    section.notes.append(
        "The Session.headers baseline pays requests' ~/.netrc look-up on every request (a Session with no auth "
        "object calls get_netrc_auth), which every auth object skips: that is why the auth-object variants come "
        "out below 1.00x there. The minimal-AuthBase column removes that head start."
    )
    section.notes.append(
        "Harness: the benchmark's provider process serves with TCP_NODELAY "
        f"({'the provider sets it itself' if builtin_nodelay else 'turned on by the benchmark; the provider does not'}"
        "). Without it each keep-alive GET waits ~40 ms for the client's delayed ACK (headers and body go out in "
        "two writes), which hides everything measured here."
    )
    return section
