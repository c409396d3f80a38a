"""Ending a token at a provider's logout endpoint (USGS M2M: ``POST .../logout`` with ``X-Auth-Token``).

USGS asks clients to destroy an API key "upon final use ... by calling the logout method".
``m2mauth.logout("usgs-m2m", ...)`` and ``TokenSource.close(logout=True)`` call this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from .errors import ConfigError, TransportError
from .presentation import json_path
from .profiles import Flow, Profile
from .request_shapes import logout_request
from .tokens import Token, redact_text
from .transport import DEFAULT_TIMEOUT, check_url, default_session

if TYPE_CHECKING:
    import requests

    from .stores import Store

__all__ = ["end_token", "logout_at_provider", "logout_flow"]

log = logging.getLogger("m2mauth")


def logout_flow(profile: Profile) -> Flow | None:
    """The profile's flow that has a logout endpoint, if any."""
    return next((f for f in profile.flows if f.logout_url), None)


def end_token(
    profile: Profile,
    flow: Flow,
    token: Token,
    *,
    session: requests.Session | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verify: bool | str = True,
    proxies: Mapping[str, str] | None = None,
    token_url: str | None = None,
) -> bool:
    """POST the token to the flow's logout endpoint; True when the provider ended it.

    An answer carrying the flow's mapped error (an already expired key) is logged and gives False:
    the token is gone either way. A network failure raises ``TransportError``."""
    import requests

    if not flow.logout_url:
        raise ConfigError(f"{profile.name} has no logout endpoint", code="no_logout_endpoint")
    # Relative to the token URL in use: a token_url= override (a mirror, a test server) moves both.
    url = urljoin(token_url or flow.token_url or profile.token_url or "", flow.logout_url)
    check_url(url)
    request = logout_request(url, token.header_name, token.authorization)
    try:
        response = (session or default_session()).request(
            "POST",
            request.url,
            headers=dict(request.headers),
            data=b"",
            timeout=timeout,
            allow_redirects=False,
            verify=verify,
            proxies=dict(proxies) if proxies else None,
        )
    except requests.exceptions.RequestException as exc:
        raise TransportError(
            f"cannot reach {urlsplit(url).hostname} to log out: {type(exc).__name__}",
            code="connection_error",
            hint="The token was forgotten here; it ends by itself when its lifetime is over.",
        ) from None
    code = _mapped_error(flow, response.content)
    if 200 <= response.status_code < 300 and code is None:
        return True
    # The provider's error code only (USGS: AUTH_EXPIRED for a key that already ended); never the body.
    log.info("%s: logout answered HTTP %d (%s)", profile.name, response.status_code, code or "no error code")
    return False


def _mapped_error(flow: Flow, body: bytes) -> str | None:
    """The provider's error code in a logout answer (the flow's mapped error path), if it is text."""
    if flow.response is None or flow.response.error_code is None:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    code = json_path(data, flow.response.error_code)
    return redact_text(code)[:80] if isinstance(code, str) and code else None


def logout_at_provider(profile: Profile, store: Store | None, credentials: Mapping[str, Any]) -> bool:
    """``m2mauth.logout()`` for a profile with a logout endpoint: end the token given as
    ``access_token=``, or the one cached for these credentials in ``store`` (default: the cache
    ``FileStore()``), and forget it. True if the provider ended one."""
    from .credentials import resolve_credentials
    from .source import source_key
    from .stores import FileStore

    flow = logout_flow(profile)
    assert flow is not None
    creds = resolve_credentials(profile, credentials)
    if creds.access_token:
        given = flow.presentation.apply(Token(creds.access_token))
        return end_token(profile, flow, given, token_url=creds.token_url)
    store = store if store is not None else FileStore()
    key = source_key(profile, creds, flow, store)
    with store.lock(key):
        token = store.get(key)
        store.delete(key)
    if token is None or not token.access_token or token.is_expired():
        return False
    return end_token(profile, flow, token, token_url=creds.token_url)
