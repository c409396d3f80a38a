"""``m2mauth.HttpxAuth``: an httpx.Auth (sync and async) over a TokenSource. Needs ``m2mauth[httpx]``."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

import httpx

from ..profiles import Profile
from ..source import TokenSource
from ..stores import Store
from .requests_auth import renew_on

__all__ = ["HttpxAuth"]


class HttpxAuth(httpx.Auth):
    """Bearer token from a TokenSource; on a 401 (or a 403 with ``error="invalid_token"``), one
    renewal and one retry, which carries no header of m2mauth's own."""

    def __init__(
        self,
        profile: str | Profile | Mapping[str, Any] | os.PathLike[str] | None = None,
        *,
        source: TokenSource | None = None,
        store: Store | None = None,
        **options: Any,
    ) -> None:
        self.source = TokenSource.given_or_new(source, profile, store=store, **options)

    def _expired(self, response: httpx.Response) -> bool:
        if renew_on(response.status_code, response.headers.get("WWW-Authenticate")):
            return True
        signal = self.source.presentation.expired
        content_type = response.headers.get("Content-Type")
        return (
            signal is not None
            and "json" in (content_type or "").lower()
            and signal.matches(response.content, content_type)
        )

    def invalidate(self) -> None:
        """Forget the current access token: the next request gets a new one (see TokenSource.invalidate)."""
        self.source.invalidate()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.source.token()
        request.headers[token.header_name] = token.authorization
        response = yield request
        if self.source.presentation.expired is not None:
            response.read()  # the profile's non-401 expiry answer (USGS AUTH_EXPIRED) is in the body
        if self._expired(response):
            renewed = self.source.token(force=True, rejected=token.access_token)
            if _replayable(request):  # a streamed body cannot be sent twice: the 401 is returned
                request.headers[renewed.header_name] = renewed.authorization
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        import anyio.to_thread

        # TokenSource blocks (locks, HTTP): run it in a worker thread so the event loop keeps going.
        token = await anyio.to_thread.run_sync(self.source.token)
        request.headers[token.header_name] = token.authorization
        response = yield request
        if self.source.presentation.expired is not None:
            await response.aread()
        if self._expired(response):
            renewed = await anyio.to_thread.run_sync(lambda: self.source.token(force=True, rejected=token.access_token))
            if _replayable(request):
                request.headers[renewed.header_name] = renewed.authorization
                yield request

    def __repr__(self) -> str:
        return f"<m2mauth.HttpxAuth {self.source!r}>"


def _replayable(request: httpx.Request) -> bool:
    # httpx reads bytes, text, form and JSON bodies at once; an iterator body stays unread.
    try:
        request.content  # noqa: B018
    except httpx.RequestNotRead:
        return False
    return True
