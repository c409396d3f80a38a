"""``m2mauth.Auth``: a requests AuthBase with a cached, auto-renewed token; ``m2mauth.session()``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import requests
from requests.auth import AuthBase

from ..profiles import Profile
from ..source import TokenSource
from ..stores import Store

__all__ = ["Auth", "session"]

log = logging.getLogger("m2mauth")


class Auth(AuthBase):
    """Adds ``Authorization: Bearer ...`` from a TokenSource; on a 401, renews once and retries once.

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

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.source.token()
        request.headers["Authorization"] = token.authorization
        request.register_hook("response", self._retry_on_401)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or request.headers.get("X-M2MAuth-Retry"):
            return response
        sent = str(request.headers.get("Authorization", ""))
        rejected = sent.split(" ", 1)[1] if " " in sent else None
        token = self.source.token(force=True, rejected=rejected)
        if not _replayable(request):
            # The body cannot be sent twice: return the 401, but the caller's next request has a new token.
            log.info("%s answered 401; token renewed, the streamed request is not retried", _host(request.url))
            return response
        log.info("%s answered 401; retrying once with a renewed token", _host(request.url))
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        retry = request.copy()
        retry.headers["Authorization"] = token.authorization
        retry.headers["X-M2MAuth-Retry"] = "1"
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
