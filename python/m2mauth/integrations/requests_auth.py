"""``m2mauth.Auth``: a requests AuthBase with a cached, auto-renewed token; ``m2mauth.session()``."""

from __future__ import annotations

import logging
import os
import re
import weakref
from collections.abc import Mapping
from typing import Any

import requests
from requests.auth import AuthBase

from ..presentation import Presentation, sent_token
from ..profiles import Profile
from ..source import TokenSource
from ..stores import Store

__all__ = ["Auth", "renew_on", "session"]

log = logging.getLogger("m2mauth")


class Auth(AuthBase):
    """Adds ``Authorization: Bearer ...`` (or the profile's own header, e.g. USGS M2M's
    ``X-Auth-Token``) from a TokenSource; on a 401 (or a 403 whose ``WWW-Authenticate`` says
    ``error="invalid_token"``, or the profile's own expiry answer such as USGS's ``AUTH_EXPIRED``),
    renews once and retries once.
    ``invalidate()`` forgets the token, for an API that answers a revoked one with a bare 403.

    >>> requests.get(url, auth=m2mauth.Auth("clms", service_key="key.json"))  # doctest: +SKIP
    """

    def __init__(
        self,
        profile: str | Profile | Mapping[str, Any] | os.PathLike[str] | None = None,
        *,
        source: TokenSource | None = None,
        store: Store | None = None,
        **options: Any,
    ) -> None:
        self.source = TokenSource.given_or_new(source, profile, store=store, **options)
        # The retries this Auth sent, so a retry's own 401 is returned rather than retried again.
        # Tracked here, not by a header: nothing of m2mauth's own must reach the data API.
        self._retries: weakref.WeakSet[requests.PreparedRequest] = weakref.WeakSet()

    def invalidate(self) -> None:
        """Forget the current access token: the next request gets a new one (see TokenSource.invalidate)."""
        self.source.invalidate()

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self.source}  # requests in flight stay with this copy

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.source = state["source"]
        self._retries = weakref.WeakSet()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.source.token()
        request.headers[token.header_name] = token.authorization
        request.register_hook("response", self._retry_on_401)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        presentation = self.source.presentation
        renew = renew_on(response.status_code, response.headers.get("WWW-Authenticate")) or _says_expired(
            presentation, response
        )
        if not renew or request in self._retries:
            return response
        sent = str(request.headers.get(presentation.header, ""))
        rejected = sent_token(sent, scheme_used=presentation.scheme != "")
        token = self.source.token(force=True, rejected=rejected)
        if not _replayable(request):
            # The body cannot be sent twice: return the 401, but the caller's next request has a new token.
            log.info(
                "%s answered %d; token renewed, the streamed request is not retried",
                _host(request.url),
                response.status_code,
            )
            return response
        log.info("%s answered %d; retrying once with a renewed token", _host(request.url), response.status_code)
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        retry = request.copy()
        retry.headers[token.header_name] = token.authorization
        self._retries.add(retry)
        connection = response.connection
        new = connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Auth) and other.source is self.source

    def __hash__(self) -> int:
        return id(self.source)

    def __repr__(self) -> str:
        return f"<m2mauth.Auth {self.source!r}>"


def renew_on(status: int, www_authenticate: str | None) -> bool:
    """Whether an API answer means "this token is no good; renew and retry once": 401, or a 403
    whose challenge says ``error="invalid_token"`` (RFC 6750 §3.1; some servers answer a revoked or
    expired token so). A bare 403 means "not allowed", which a new token does not change."""
    if status == 401:
        return True
    if status != 403 or not www_authenticate:
        return False
    return _INVALID_TOKEN.search(www_authenticate) is not None


_INVALID_TOKEN = re.compile(r'\berror\s*=\s*(?:"invalid_token"|invalid_token\b)', re.IGNORECASE)


def _says_expired(presentation: Presentation, response: requests.Response) -> bool:
    """The API's own "token expired" answer that is not a 401 (USGS M2M: errorCode AUTH_EXPIRED).
    The body is read only for profiles that have such an answer, and only when it is JSON."""
    signal = presentation.expired
    content_type = response.headers.get("Content-Type") or ""
    if signal is None or "json" not in content_type.lower():
        return False
    return signal.matches(response.content, content_type)


def _replayable(request: requests.PreparedRequest) -> bool:
    # A streamed body (a generator, an open file) cannot be sent twice.
    return request.body is None or isinstance(request.body, (bytes, str))


def _host(url: str | None) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url or "").hostname or "the server"


def session(
    profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
    *,
    store: Store | None = None,
    proxies: Mapping[str, str] | None = None,
    verify: bool | str = True,
    **options: Any,
) -> requests.Session:
    """A requests.Session whose requests carry a valid token for ``profile``."""
    http = requests.Session()
    http.auth = Auth(profile, store=store, proxies=proxies, verify=verify, **options)
    if proxies:
        http.proxies.update(proxies)
    http.verify = verify
    return http
