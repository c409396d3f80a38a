"""One-time codes (``totp=``) for the password grant of two-factor accounts, and when they run out.

CDSE's Keycloak takes the current TOTP code (RFC 6238: six digits, a new one every 30 seconds)
as the form field ``totp``, and refuses a code it has seen before. A long-running job renews its
token by refresh, but once the refresh token has expired (60 minutes on CDSE) only a new password
grant helps, and that needs a new code. A code given as text is therefore used for one password
grant only; a later one raises :class:`TotpRequiredError` (code ``totp_required``) rather than
sending a stale code the server would refuse with a misleading "Invalid user credentials". A
callable (``totp=pyotp.TOTP(seed).now``) is asked for the current code at each password grant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .errors import ConfigError

__all__ = ["OneTimeCode", "TotpRequiredError", "refresh_expired"]

#: Seconds of refresh-token life below which it is not sent: the answer would arrive after it expired.
REFRESH_EXPIRY_MARGIN = 5.0


class TotpRequiredError(ConfigError):
    """A password grant needs a new one-time code and none can be had (code ``totp_required``)."""

    default_code = "totp_required"


class OneTimeCode:
    """The ``totp=`` of one TokenSource: a code usable for one password grant, or a callable."""

    def __init__(self, value: str | Callable[[], str], profile: str) -> None:
        self._value = value
        self._profile = profile
        self._spent = False

    def take(self) -> str | Callable[[], str]:
        """The value to send with the next password grant; a text code only once."""
        if callable(self._value):
            return self._value
        if self._spent:
            raise TotpRequiredError(
                f"{self._profile}: a new password grant is needed (the refresh token expired or was refused) and "
                "the account's one-time code (totp=) was already used",
                hint="A code works once: pass the current code again (a new Auth or TokenSource with totp=, "
                "or the CLI's --totp -), or pass totp= as a function that returns the current code (e.g. "
                "pyotp.TOTP(seed).now), so renewals get one themselves. Within 60 minutes of the last renewal "
                "the refresh token makes new codes unnecessary.",
            )
        self._spent = True
        return self._value

    def give_back(self) -> None:
        """The grant never reached the server (a transport error): the code is still unused."""
        self._spent = False

    def __repr__(self) -> str:
        kind = "callable" if callable(self._value) else ("spent" if self._spent else "unused")
        return f"<OneTimeCode {kind}>"


def refresh_expired(expires_at: datetime | None, now: float) -> bool:
    """Whether a refresh token whose expiry (``refresh_expires_in``) is known has run out, or nearly."""
    return expires_at is not None and expires_at.timestamp() - now <= REFRESH_EXPIRY_MARGIN
