"""Keeping the newest refresh token of a chain across runs, when the caller's store would not.

OpenAIRE, Keycloak, oidc-provider and django-oauth-toolkit invalidate a refresh token when they
issue its successor (rotation). A script that passes the refresh token from its configuration
(the chain's *first* token) works once, then fails with ``invalid_grant``, unless the newest
token outlives the process. When no durable store is given (the in-memory default, the cache
``FileStore()``, ``fetch_token``), the newest token is kept in the user data folder — not the
cache, so a cache clean never logs anyone out — under a keyed digest of the first token and
the client. A later run that passes the original token finds its newest successor there.

Records hold tokens only (the refresh token and its expiry; no access token, no client secret
or password), in 0600 files in a 0700 folder, written atomically under the cross-process lock
that also serialises the refresh itself (with strict rotation two runs must not spend the same
token). ``keep_refresh_token=False`` turns all of this off.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import ConfigError, TokenEndpointError
from .fingerprint import fingerprint
from .stores import LOCK_TIMEOUT, FileStore, Store, data_store
from .tokens import Token

if TYPE_CHECKING:
    from .credentials import Credentials
    from .profiles import Profile

__all__ = ["RefreshKeeper", "keeps_refresh_tokens"]

log = logging.getLogger("m2mauth")

REFRESH_GRANTS = ("refresh_token", "get_refresh")


def keeps_refresh_tokens(store: Store | None) -> bool:
    """True if ``store`` keeps refresh tokens by itself: a FileStore folder or RedisStore the user
    chose (``durable``). The in-memory default and the cache FileStore() do not."""
    return bool(getattr(store, "durable", False))


class RefreshKeeper:
    """The newest refresh token of one chain, in the data folder (or, for a device login, the
    login's own record there)."""

    def __init__(self, key: str, store: FileStore | None = None) -> None:
        self.store = store if store is not None else data_store()
        self.key = key

    @classmethod
    def for_chain(cls, profile: Profile, creds: Credentials) -> RefreshKeeper | None:
        """The keeper of the chain that starts with ``creds.refresh_token``; None without one."""
        first = creds.refresh_token
        if not first:
            return None
        store = data_store()
        try:
            key = store.fingerprint_key()
        except ConfigError as error:  # a read-only home, say: name the way out of keeping
            error.hint = (
                f"{error.hint or ''} Or pass keep_refresh_token=False (CLI --no-keep-refresh-token) "
                "if you keep the rotated refresh token yourself."
            ).strip()
            raise
        digest = fingerprint(
            key,
            [
                ("profile", profile.name.encode("utf-8")),
                ("client_id", (creds.client_id or "").encode("utf-8", "surrogatepass")),
                ("refresh_token", first.encode("utf-8", "surrogatepass")),
            ],
        )
        return cls(f"m2mauth-refresh-chain-v1|{digest}", store)

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Held around a refresh: one process at a time spends the chain's newest token."""
        with self.store.lock(self.key, timeout=timeout):
            yield

    def newest(self) -> str | None:
        record = self.store.get(self.key)
        return record.refresh_token if record is not None and record.refresh_token else None

    def keep(self, token: Token) -> None:
        """Record ``token``'s refresh token as the chain's newest (nothing if it carries none)."""
        if not token.refresh_token:
            return
        current = self.store.get(self.key)
        if current is not None and current.access_token:
            # A device login's own record (written by login()): update it, keep its shape.
            kept = token
        else:
            kept = Token("", refresh_token=token.refresh_token, refresh_expires_at=token.refresh_expires_at)
        self.store.put(self.key, kept)

    def refused(self, error: TokenEndpointError) -> TokenEndpointError:
        """The kept token was refused for good: forget it, and say so in the error's hint."""
        if error.code == "invalid_grant":
            self.store.delete(self.key)
            log.warning("the kept refresh token was refused (invalid_grant); it is forgotten")
            kept = "The newest refresh token m2mauth kept for this one was refused (revoked or expired)."
            # The profile's own hint (an expired 90-day offline token, say) names the way out better.
            error.hint = (
                f"{kept} {error.hint}"
                if error.provider_code and error.hint
                else f"{kept} Get a new refresh token from the provider and pass that."
            )
        return error
