"""LocalProvider's methods for the non-OAuth token services: USGS M2M and NASA Earthdata Login.

A mixin, so provider.py keeps only the routes and constructor options; the protocols live in
``_usgs`` and ``_earthdata``.
"""

from __future__ import annotations

from . import _earthdata, _usgs
from ._state import State


class ProviderLogins:
    """Registration, URLs and counters for ``usgs-m2m`` and ``earthdata`` (mixed into LocalProvider)."""

    _state: State

    @property
    def usgs_api_url(self) -> str:
        """A USGS M2M API call (``dataset-search``): send ``X-Auth-Token: <api key>``."""
        return self._state.url(_usgs.USGS_API_PATH)

    def add_usgs_user(self, username: str, application_token: str) -> None:
        """Register a USGS user and the application token made in their ERS profile."""
        if not username or not application_token:
            raise ValueError("username and application_token must be non-empty")
        usgs = _usgs.usgs_state(self._state)
        with usgs.lock:
            usgs.users[username] = application_token

    def usgs_counts(self) -> dict[str, int]:
        """USGS calls so far: ``logins``, ``logouts``, ``expired_answers`` (AUTH_EXPIRED sent),
        and ``valid_keys`` now."""
        usgs = _usgs.usgs_state(self._state)
        with usgs.lock:
            counts = {"logins": usgs.logins, "logouts": usgs.logouts, "expired_answers": usgs.expired_answers}
        counts["valid_keys"] = _usgs.valid_keys(self._state)
        return counts

    def add_earthdata_user(self, username: str, password: str) -> None:
        """Register an Earthdata Login user (HTTP Basic on the User Tokens API)."""
        if not username or not password or ":" in username:
            raise ValueError("username (without ':') and password must be non-empty")
        edl = _earthdata.earthdata_state(self._state)
        with edl.lock:
            edl.users[username] = password

    def earthdata_url(self, what: str) -> str:
        """The User Tokens API endpoint ``what``: ``find_or_create_token``, ``token``, ``tokens`` or
        ``revoke_token``."""
        paths = {
            "find_or_create_token": _earthdata.FIND_OR_CREATE_PATH,
            "token": _earthdata.CREATE_PATH,
            "tokens": _earthdata.LIST_PATH,
            "revoke_token": _earthdata.REVOKE_PATH,
        }
        return self._state.url(paths[what])

    def mint_earthdata_token(self, username: str) -> str:
        """A token made as another tool would (the website, a client that mints on every run); it
        counts toward the user's two-token cap. Raises ValueError when the cap is reached."""
        edl = _earthdata.earthdata_state(self._state)
        with edl.lock:
            if username not in edl.users:
                raise ValueError(f"no Earthdata user {username!r}: add_earthdata_user() first")
            if _earthdata.valid_tokens_locked(edl, username, self._state.now()) >= _earthdata.MAX_TOKENS:
                raise ValueError("the user already holds two valid tokens")
            return _earthdata.mint(self._state, username)[0]

    def earthdata_counts(self, username: str) -> dict[str, int]:
        """``find_or_create_calls`` and ``created`` so far (all users), ``valid_tokens`` of ``username`` now."""
        edl = _earthdata.earthdata_state(self._state)
        with edl.lock:
            counts = {"find_or_create_calls": edl.find_or_create_calls, "created": edl.created}
        counts["valid_tokens"] = _earthdata.valid_tokens(self._state, username)
        return counts
