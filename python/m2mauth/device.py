"""The device authorization flow (RFC 8628), written as a generator with no I/O inside.

``device_flow`` yields ``Send`` (a token request, and how long to wait before sending it) and
``Prompt`` (what to show the user), and receives ``Answer``s; its return value is the Token.
A driver — ``login`` below, or R, or an async loop — does the waiting and the HTTP.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from . import grants
from .arguments import check_options
from .client_auth import ClientAuth
from .credentials import Credentials, resolve_credentials
from .errors import ConfigError, TokenEndpointError, TransportError
from .profiles import Profile, load_profile
from .source import TokenSource, source_key
from .stores import Store, data_store
from .token_request import TokenRequest
from .tokens import Token, error_from_response, parse_token_response
from .transport import DEFAULT_TIMEOUT, check_url, default_session, discover

if TYPE_CHECKING:
    import requests

__all__ = ["Answer", "DeviceAuthorization", "Prompt", "Send", "device_flow", "login", "logout"]

log = logging.getLogger("m2mauth")
DEFAULT_INTERVAL = 5
MAX_SECONDS = 86_400  # expires_in and interval beyond a day are nonsense (and huge ints overflow float math)
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: slow_down adds 5 seconds to the interval


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int

    def __repr__(self) -> str:
        return f"<DeviceAuthorization user_code={self.user_code!r} uri={self.verification_uri!r}>"


@dataclass(frozen=True)
class Send:
    request: TokenRequest
    wait: float = 0.0  # seconds to wait before sending
    left: float | None = None  # seconds until the device code expires (for a countdown)


@dataclass(frozen=True)
class Prompt:
    authorization: DeviceAuthorization


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str | None = None
    now: float | None = None


Step = Send | Prompt


def _authorization(answer: Answer, url: str) -> DeviceAuthorization:
    try:
        data = json.loads(answer.body) if 200 <= answer.status < 300 else None
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: a deeply nested body
        data = None
    needed = ("device_code", "user_code", "verification_uri")
    if isinstance(data, dict) and isinstance(data.get("verification_url"), str):
        uri = data.get("verification_uri")
        if not (isinstance(uri, str) and uri):
            data["verification_uri"] = data["verification_url"]  # some servers use the draft's name
    if not isinstance(data, dict) or not all(isinstance(data.get(n), str) and data.get(n) for n in needed):
        raise error_from_response(answer.status, answer.body, answer.content_type, url=url)

    def number(name: str, default: int) -> int:
        value = data.get(name)
        try:
            return min(max(1, int(value)), MAX_SECONDS) if value is not None else default
        except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity
            return default

    complete = data.get("verification_uri_complete")
    return DeviceAuthorization(
        data["device_code"],
        data["user_code"],
        data["verification_uri"],
        complete if isinstance(complete, str) else None,
        number("expires_in", 600),
        number("interval", DEFAULT_INTERVAL),
    )


def device_flow(
    start: TokenRequest, poll: Callable[[str], TokenRequest], *, default_lifetime: float | None = None
) -> Generator[Step, Answer | None, Token]:
    """RFC 8628 §3.1-3.5 as steps: start, prompt, poll (honouring interval and slow_down) until a token."""
    answer = yield Send(start)
    assert answer is not None
    authorization = _authorization(answer, start.url)
    yield Prompt(authorization)
    interval = float(authorization.interval)
    waited = 0.0
    while True:
        left = authorization.expires_in - waited
        if left <= 0:
            raise TokenEndpointError(
                "the device code expired before the login was approved",
                code="expired_token",
                hint="Run the login again and approve it within the time shown.",
            )
        wait = min(interval, left)
        request = poll(authorization.device_code)
        answer = yield Send(request, wait=wait, left=left)
        assert answer is not None
        waited += wait
        try:
            return parse_token_response(
                answer.status,
                answer.body,
                answer.content_type,
                now=answer.now,
                default_lifetime=default_lifetime,
                url=request.url,  # polls go to the token endpoint: its errors name it
            )
        except TokenEndpointError as error:
            if error.code == "authorization_pending":
                continue
            if error.code == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            if error.code == "access_denied":
                error.hint = "The login was denied in the browser. Run it again and approve it."
            if error.code == "expired_token":
                error.hint = "The device code expired: run the login again and approve it within the time shown."
            raise


def print_prompt(authorization: DeviceAuthorization, stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    if authorization.verification_uri_complete:
        out.write(
            f"Visit {authorization.verification_uri_complete} to authenticate "
            f"(or {authorization.verification_uri} and enter the code {authorization.user_code}).\n"
        )
    else:
        out.write(f"Visit {authorization.verification_uri} and enter the code {authorization.user_code}.\n")
    out.flush()


def _origin(url: str | None) -> tuple[str, str | None, int | None] | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _same_origin_or_none(url: str | None, other: str) -> str | None:
    """``url`` when it is on ``other``'s server, else None (a profile's endpoint belongs to the
    real provider and must not be mixed with a test server's or a mirror's)."""
    return url if url and _origin(url) == _origin(other) else None


def _endpoints(
    profile: Profile, creds: Credentials, session: requests.Session | None, timeout: float
) -> tuple[str, str]:
    """The token and device authorization endpoints: given, discovered, or the profile's."""
    token_url, device_url = creds.token_url, creds.device_authorization_url
    if creds.issuer and not (token_url and device_url):
        # The caller's server: its metadata (OpenID discovery or RFC 8414) names the endpoints.
        metadata = discover(creds.issuer, session=session, timeout=timeout)
        token_url = token_url or metadata.get("token_endpoint")
        device_url = device_url or metadata.get("device_authorization_endpoint")
        if not device_url:
            raise ConfigError(
                f"the metadata of {creds.issuer} names no device_authorization_endpoint",
                code="device_flow_unsupported",
                hint="The server does not advertise device login. If it offers it anyway, pass "
                "device_authorization_url= (its RFC 8628 endpoint); otherwise use another flow.",
            )
    elif token_url or device_url:
        # Another server than the profile's (a test server, a mirror): fill in the missing
        # endpoint from the profile only when it is on the same server.
        missing = "device_authorization_url=" if token_url else "token_url="
        if not device_url:
            assert token_url is not None
            device_url = _same_origin_or_none(profile.device_authorization_url, token_url)
        elif not token_url:
            token_url = _same_origin_or_none(profile.token_url, device_url)
        if not token_url or not device_url:
            raise ConfigError(
                f"token_url= and device_authorization_url= must name the same server; {missing} is missing",
                code="missing_credential",
                hint=f"Pass {missing} as well, or issuer= (the URL before /.well-known/openid-configuration) "
                "so discovery finds both endpoints of that server.",
            )
    else:
        token_url, device_url = profile.token_url, profile.device_authorization_url
        if profile.issuer and (not token_url or not device_url):
            metadata = discover(profile.issuer, session=session, timeout=timeout)
            token_url = token_url or metadata.get("token_endpoint")
            device_url = device_url or metadata.get("device_authorization_endpoint")
    if not token_url or not device_url:
        raise ConfigError(
            f"{profile.name} has no device authorization endpoint",
            code="device_flow_unsupported",
            hint="Give issuer= so discovery finds it, or device_authorization_url= and token_url=.",
        )
    return str(token_url), str(device_url)


def login(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
    prompt: Callable[[DeviceAuthorization], None] | None = None,
    *,
    store: Store | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: TextIO | None = None,
    **credentials: Any,
) -> Token:
    """Log in with the device flow once; the refresh token is stored so later runs are non-interactive.

    With a usable stored refresh token, nothing is asked: "Authenticated using refresh token."
    ``prompt`` receives the DeviceAuthorization (verification URI, user code, complete URI).
    """
    check_options(prompt=prompt, store=store, timeout=timeout, session=session, sleep=sleep)
    prof = load_profile(profile)
    store = store if store is not None else data_store()  # a credential: the data folder, not the cache
    creds = resolve_credentials(prof, credentials)
    if not creds.client_id:
        raise ConfigError(
            "device login needs client_id=",
            code="missing_credential",
            hint="Pass the public client id (or set the provider's variable, e.g. OPENEO_AUTH_CLIENT_ID).",
        )
    device_flow_def = next((f for f in prof.flows if f.grant == "device_code"), None)
    if device_flow_def is None:
        raise ConfigError(
            f"{prof.name} offers no device login",
            code="device_flow_unsupported",
            hint="Device login is offered by cdse-openeo and generic (with issuer=).",
        )
    key = source_key(prof, creds, device_flow_def, store)
    out = progress or sys.stderr
    stored = store.get(key)
    if stored is not None and stored.refresh_token:
        try:
            refreshed = TokenSource(
                prof, store=store, flow=device_flow_def.name, timeout=timeout, session=session, **credentials
            ).token(force=True)
            out.write("Authenticated using refresh token.\n")
            return refreshed
        except TokenEndpointError as error:
            log.info("stored refresh token refused (%s); starting a device login", error.code)
    token_url, device_url = _endpoints(prof, creds, session, timeout)
    check_url(token_url)
    check_url(device_url)
    client = ClientAuth("client_secret_post" if creds.client_secret else "none", creds.client_id, creds.client_secret)
    # The profile's scope only where it has one (a server refuses a scope it does not know, and
    # only after the user approved); scope="" given explicitly sends none.
    scope = device_flow_def.scope if creds.scope is None else creds.scope
    start = grants.device_authorization(device_url, client, scope=scope)
    flow = device_flow(
        start, lambda code: grants.device_code(token_url, code, client), default_lifetime=prof.default_token_lifetime
    )
    http = session or default_session()
    show = prompt or (lambda auth: print_prompt(auth, out))
    step = next(flow)
    try:
        while True:
            if isinstance(step, Prompt):
                show(step.authorization)
                step = flow.send(None)
                continue
            if step.wait:
                if step.left is not None:
                    out.write(f"\rWaiting for approval... {int(step.left) // 60}:{int(step.left) % 60:02d} left ")
                    out.flush()
                sleep(step.wait)
            response = _send(http, step.request, timeout)
            step = flow.send(
                Answer(response.status_code, response.content, response.headers.get("Content-Type"), time.time())
            )
    except StopIteration as done:
        token: Token = done.value  # the generator's return value
    out.write("\nAuthorized successfully.\n")
    store.put(key, token)
    return token


def _send(http: requests.Session, request: TokenRequest, timeout: float) -> requests.Response:
    import requests

    try:
        return http.request(
            request.method,
            request.full_url,
            headers=dict(request.headers),
            data=request.body.encode("ascii"),
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.exceptions.Timeout:
        raise TransportError(
            f"no answer from {urlsplit(request.url).hostname} within {timeout:g} s", code="timeout"
        ) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(
            f"cannot reach {urlsplit(request.url).hostname}: {type(exc).__name__}",
            code="connection_error",
            hint="Check the issuer or token URL, your network, and proxy settings (HTTPS_PROXY).",
        ) from None


def logout(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str], *, store: Store | None = None, **credentials: Any
) -> bool:
    """Forget the stored tokens of a device login; True if there was one. For a profile with a
    logout endpoint (USGS M2M), end the token there too (logout_endpoint.py)."""
    check_options(store=store)
    prof = load_profile(profile)
    if any(f.logout_url for f in prof.flows):
        from .logout_endpoint import logout_at_provider

        return logout_at_provider(prof, store, credentials)
    store = store if store is not None else data_store()  # a credential: the data folder, not the cache
    creds = resolve_credentials(prof, credentials)
    device_flow_def = next((f for f in prof.flows if f.grant == "device_code"), prof.flows[0])
    key = source_key(prof, creds, device_flow_def, store)
    existed = store.get(key) is not None
    store.delete(key)
    return existed
