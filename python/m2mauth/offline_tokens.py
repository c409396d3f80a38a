"""When a long-lived refresh token (ESA MAAP's 90-day offline token) ends, and a warning before it does.

An offline token is the one credential a MAAP user renews by hand, at the portal, every 90 days;
a job that starts failing on day 91 is the pain this module prevents. Keycloak's offline tokens
are JWTs: ``exp`` says when the token ends (when the realm caps offline sessions), else ``iat``
plus the flow's ``refresh_token_lifetime`` does. The claims are read without verifying the
signature (the token is the user's own, and only its dates are used); the token itself is never
logged. Opaque tokens give no date: nothing is said then.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from .tokens import unverified_claims

if TYPE_CHECKING:
    from .profiles import Flow, Profile

__all__ = ["WARN_BEFORE", "refresh_token_end", "warn_if_ending"]

log = logging.getLogger("m2mauth")

#: Warn when the token has less than this left: a week, time to get a new one at the portal.
WARN_BEFORE = 7 * 24 * 3600
# Tokens already warned about in this process (by identity of the text: never stored, never logged).
_warned: set[int] = set()
_warned_lock = threading.Lock()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value < 1e11 else None


def refresh_token_end(token: str, lifetime: int | None) -> float | None:
    """The Unix time ``token`` stops working, if it says: its ``exp``, else ``iat`` + ``lifetime``."""
    claims = unverified_claims(token)
    if claims is None:
        return None
    exp = _number(claims.get("exp"))
    if exp is not None:
        return exp
    iat = _number(claims.get("iat"))
    return iat + lifetime if iat is not None and lifetime else None


def warn_if_ending(profile: Profile, flow: Flow, refresh_token: str | None, now: float | None = None) -> float | None:
    """Seconds ``refresh_token`` has left when the flow's tokens are long-lived and it says so;
    logs a WARNING (once per token and process) when that is under a week."""
    if not refresh_token or flow.refresh_token_lifetime is None:
        return None
    end = refresh_token_end(refresh_token, flow.refresh_token_lifetime)
    if end is None:
        return None
    left = end - (time.time() if now is None else now)
    if left < WARN_BEFORE:
        with _warned_lock:
            first = hash(refresh_token) not in _warned
            _warned.add(hash(refresh_token))
        if first:
            when = f"ends in {left / 86400:.1f} days" if left > 0 else "has expired"
            log.warning(
                "%s: the offline token %s; get a new one from the provider's portal (see `m2mauth profiles show %s`)",
                profile.name,
                when,
                profile.name,
            )
    return left
