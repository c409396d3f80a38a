"""Sending a TokenRequest with requests: timeouts, no redirects with credentials, safe URLs.

The only module that talks to a token endpoint. What it sends is decided elsewhere.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from . import progress
from .arguments import check_options, check_timeout
from .errors import ConfigError, TokenEndpointError, TransportError
from .profiles import Flow, Profile
from .response_mapping import parse_mapped_response
from .token_exchange import is_token_exchange, subject_token_refused
from .token_request import SECRET_FIELDS, TokenRequest
from .tokens import Token, error_from_response

if TYPE_CHECKING:
    import requests

__all__ = ["DEFAULT_TIMEOUT", "check_url", "discover", "exchange", "with_profile_hint"]

log = logging.getLogger("m2mauth")
DEFAULT_TIMEOUT = 30.0
USER_AGENT = "m2mauth"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Token URLs must be https; plain http only to loopback (tests, local providers)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigError(f"not a valid URL: {url!r}", code="invalid_url") from None
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    if parts.scheme == "http":
        raise ConfigError(
            f"refusing to send credentials over plain http to {parts.hostname}",
            code="insecure_url",
            hint="Use the https:// URL of the token endpoint; http is allowed only for loopback test servers.",
        )
    raise ConfigError(f"not an http(s) URL: {url!r}", code="invalid_url")


_SECRET_QUERY = re.compile(
    r"(?<=[?&;])(" + "|".join(sorted(re.escape(name) for name in SECRET_FIELDS)) + r")=[^&#\s\"']*", re.IGNORECASE
)
#: urllib3's loggers that write request URLs, query string included (the request line at DEBUG, retries, redirects).
URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager")


def redact_query(text: str) -> str:
    """Mask the values of secret query parameters (OpenAIRE's ``refreshToken=...``) in a URL or a log line."""
    return _SECRET_QUERY.sub(lambda match: match.group(1) + "=<redacted>", text)


class _QueryRedactor(logging.Filter):
    """Masks secret query values in urllib3's log records, whoever handles them.

    urllib3 logs every request line at DEBUG with its query string, and a GET refresh endpoint
    (OpenAIRE's ``getAccessToken?refreshToken=...``) carries the refresh token there. A filter on the
    logger runs before any handler, the caller's own included.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to logging's own error handling
            return True
        redacted = redact_query(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_query_redactor = _QueryRedactor()


def _redact_urllib3_logs(request: TokenRequest) -> None:
    """Before a request with a secret in its query string: filter urllib3's loggers (once; idempotent)."""
    if request.method == "GET" and any(name in SECRET_FIELDS for name, _ in request.form):
        for name in URLLIB3_LOGGERS:
            logging.getLogger(name).addFilter(_query_redactor)


def _session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


_default_session: requests.Session | None = None
_session_lock = threading.Lock()


def default_session() -> requests.Session:
    """One shared connection pool for token requests in this process."""
    global _default_session
    with _session_lock:
        if _default_session is None:
            _default_session = _session()
        return _default_session


def with_profile_hint(error: TokenEndpointError, profile: Profile | None) -> TokenEndpointError:
    """Replace the generic hint by the provider's own, matched on its error text."""
    if profile is None:
        return error
    found = profile.hint_for(error.error, error.error_description, error.status)
    if found is not None:
        error.hint = found.hint
        error.provider_code = found.code
    return error


@progress.waits_for_answer  # the CLI shows a slow answer (m2mauth.progress)
def exchange(
    request: TokenRequest,
    *,
    profile: Profile | None = None,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verify: bool | str = True,
    proxies: Mapping[str, str] | None = None,
    default_lifetime: float | None = None,
    clock: Callable[[], float] | None = None,
    flow: Flow | None = None,
) -> Token:
    """Send one token request and return the Token, or raise a typed error with a hint.

    ``flow``: read the answer through its response mapping and present the token as it says
    (response_mapping.py, presentation.py); without one, RFC 6749 and ``Authorization: Bearer``."""
    import requests

    check_options(request=request, session=session, verify=verify, proxies=proxies, clock=clock)
    check_options(default_lifetime=default_lifetime, profile=profile)
    timeout = check_timeout(timeout)
    check_url(request.url)
    if verify is False:
        raise ConfigError(
            "TLS verification cannot be turned off for token requests",
            code="insecure_tls",
            hint="Pass verify='/path/to/ca-bundle.pem' to trust a private CA instead.",
        )
    http = session or default_session()
    _redact_urllib3_logs(request)
    started = time.monotonic()
    try:
        response = http.request(
            request.method,
            request.full_url,
            headers=dict(request.headers),
            data=request.body.encode("ascii") if request.method == "POST" else None,
            timeout=timeout,
            allow_redirects=False,
            verify=verify,
            proxies=dict(proxies) if proxies else None,
            stream=True,  # the body is read by _read_answer, within the timeout
        )
    except requests.exceptions.ProxyError as exc:
        if _PROXY_AUTH_REFUSED.search(str(exc)):  # the 407 answered a CONNECT (an https token URL)
            raise _proxy_auth_required(urlsplit(request.url).hostname) from _plain(exc)
        raise TransportError(
            f"the proxy refused the connection to {urlsplit(request.url).hostname}",
            code="proxy_error",
            hint="Check HTTPS_PROXY/HTTP_PROXY/NO_PROXY and the proxy's credentials.",
        ) from _plain(exc)
    except requests.exceptions.SSLError as exc:
        raise TransportError(
            f"TLS verification failed for {urlsplit(request.url).hostname}",
            code="tls_error",
            hint="A proxy may intercept TLS: pass verify= with its CA bundle (or set REQUESTS_CA_BUNDLE).",
        ) from _plain(exc)
    except requests.exceptions.Timeout as exc:
        raise TransportError(
            f"no answer from {urlsplit(request.url).hostname} within {timeout:g} s",
            code="timeout",
            hint="The token endpoint is slow or unreachable; retry later or raise timeout=.",
        ) from _plain(exc)
    except requests.exceptions.RequestException as exc:
        raise TransportError(
            f"cannot reach {urlsplit(request.url).hostname}: {type(exc).__name__}",
            code="connection_error",
            hint="Check the token URL, your network, and proxy settings (HTTPS_PROXY).",
        ) from _plain(exc)
    elapsed = time.monotonic() - started
    log.debug("token request %s %s -> HTTP %s in %.3f s", request.method, request.url, response.status_code, elapsed)
    with response:  # streamed: the connection goes back to the pool (or is closed) whatever happens
        if 300 <= response.status_code < 400:
            raise TokenEndpointError(
                f"the token endpoint redirected (HTTP {response.status_code}); credentials are not sent to another URL",
                code="redirect",
                status=response.status_code,
                url=request.url,
                hint=f"Use the final URL as token_url: {response.headers.get('Location', '(no Location header)')}",
            )
        if response.status_code == 407:  # a proxy's own answer to a plain-http request, not the token endpoint's
            raise _proxy_auth_required(urlsplit(request.url).hostname)
        content = _read_answer(response, timeout, urlsplit(request.url).hostname)
    now = (clock or time.time)()
    try:
        token = parse_mapped_response(
            flow.response if flow is not None else None,  # None: an RFC 6749 answer
            response.status_code,
            content,
            response.headers.get("Content-Type"),
            now=now,
            default_lifetime=default_lifetime,
            url=request.url,
        )
        return flow.presentation.apply(token) if flow is not None else token
    except TokenEndpointError as err:
        err.retry_after = response.headers.get("Retry-After")
        if err.code == "invalid_grant" and _is_refresh(request):
            err.hint = REFRESH_REFUSED_HINT
        err = with_profile_hint(err, profile)
        if is_token_exchange(request):
            err = subject_token_refused(err)
        raise err from None


REFRESH_REFUSED_HINT = (
    "The refresh token was refused: it expired, was revoked, or was already used once (servers that rotate "
    "refresh tokens accept each one only once). Log in again (m2mauth.login) or get a new one from the provider."
)


_PROXY_AUTH_REFUSED = re.compile(r"Tunnel connection failed: 407\b")


def _proxy_auth_required(host: str | None) -> TransportError:
    return TransportError(
        f"the proxy asks for credentials to reach {host} (HTTP 407 Proxy Authentication Required)",
        code="proxy_error",
        hint="Give the proxy's credentials in its URL: HTTPS_PROXY=http://user:password@proxy:port (or proxies=), "
        "with special characters percent-encoded; or, if the token endpoint needs no proxy, list its host in NO_PROXY.",
    )


def _read_answer(response: requests.Response, timeout: float, host: str | None) -> bytes:
    """The body of the answer, which must arrive within ``timeout`` seconds of its head.

    requests' timeout bounds each read, not the whole answer: a peer sending a few bytes now and then
    would otherwise hold the caller for as long as it likes. (The status line and headers are still
    bounded per read only; requests has no way to bound them as a whole.)
    """
    import requests
    import urllib3

    read1 = getattr(response.raw, "read1", None)  # urllib3 2: whatever has arrived, in one read at most
    if read1 is None:  # another kind of raw stream (an adapter of the caller's): read it the usual way
        try:
            return response.content
        except requests.exceptions.RequestException as exc:
            raise _broken_answer(host) from _plain(exc)
    until = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > until:
            raise TransportError(
                f"the answer from {host} did not arrive in full within {timeout:g} s",
                code="timeout",
                hint="The token endpoint, or a proxy on the way, is sending its answer very slowly; retry later.",
            )
        try:
            chunk = read1(64 * 1024, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise TransportError(
                f"the answer from {host} stopped for more than {timeout:g} s",
                code="timeout",
                hint="The token endpoint is slow or unreachable; retry later or raise timeout=.",
            ) from _plain(exc)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _broken_answer(host) from _plain(exc)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _broken_answer(host: str | None) -> TransportError:
    return TransportError(
        f"the connection to {host} broke during the answer",
        code="connection_error",
        hint="The connection was reset or closed early (by the server or a proxy); retry later.",
    )


def _is_refresh(request: TokenRequest) -> bool:
    return request.field("grant_type") == "refresh_token" or (request.method == "GET" and bool(request.form))


def _plain(exc: BaseException) -> TransportError:
    # requests' exception texts can echo URLs with query strings (OpenAIRE's refresh token); keep only the type.
    return TransportError(type(exc).__name__, code="transport_detail")


_discovery_cache: dict[str, dict[str, Any]] = {}
_discovery_lock = threading.Lock()


def metadata_urls(issuer: str) -> tuple[str, str]:
    """Where an issuer's metadata may be: OpenID discovery, then RFC 8414 §3.1 (whose
    well-known segment goes between the host and the issuer's path)."""
    parts = urlsplit(issuer)
    oauth = urlunsplit((parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + parts.path, "", ""))
    return issuer + "/.well-known/openid-configuration", oauth


def discover(
    issuer: str, *, session: requests.Session | None = None, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """The issuer's metadata, fetched once per process: OpenID Connect discovery, or RFC 8414
    authorization server metadata when the server has no OpenID discovery document."""
    import requests

    check_options(session=session)
    timeout = check_timeout(timeout)
    if not isinstance(issuer, str):
        raise ConfigError(f"issuer= must be text (a URL), not {type(issuer).__name__}", code="invalid_url")
    issuer = issuer.rstrip("/")
    with _discovery_lock:
        if issuer in _discovery_cache:
            return _discovery_cache[issuer]
    first_error: Exception | None = None
    for url in metadata_urls(issuer):
        check_url(url)
        try:
            response = (session or default_session()).get(url, timeout=timeout, headers={"Accept": "application/json"})
        except requests.exceptions.RequestException as exc:
            raise TransportError(
                f"OIDC discovery failed for {issuer}: {type(exc).__name__}",
                code="discovery_failed",
                hint="Check issuer= (the URL before /.well-known/openid-configuration).",
            ) from None
        try:
            metadata = response.json() if response.status_code == 200 else None
        except (json.JSONDecodeError, RecursionError):  # RecursionError: a deeply nested document
            metadata = None
        if isinstance(metadata, dict) and isinstance(metadata.get("token_endpoint"), str):
            with _discovery_lock:
                _discovery_cache[issuer] = metadata
            return metadata
        if first_error is None:  # the OpenID answer explains best what is wrong with issuer=
            first_error = error_from_response(
                response.status_code, response.content, response.headers.get("Content-Type"), url=url
            )
    assert first_error is not None
    raise first_error
