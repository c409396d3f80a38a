"""RFC 8693 token exchange: when the subject token can no longer be exchanged, say so plainly.

The request itself is built by ``grants.token_exchange``; this module holds what is particular
to renewing an exchanged token. An exchanged token is renewed by repeating the exchange with
the same subject token, which works only while that token is valid. Two signs that it is not:
its own ``exp`` (when it is a JWT, read without trusting it) and the server's refusal of it.
Both end in an error with code ``subject_token_expired`` that says what to do.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .errors import ConfigError, TokenEndpointError
from .grants import TOKEN_EXCHANGE_GRANT
from .token_request import TokenRequest
from .tokens import jwt_exp

__all__ = ["SUBJECT_TOKEN_EXPIRED", "check_subject_token", "is_token_exchange", "subject_token_refused"]

SUBJECT_TOKEN_EXPIRED = "subject_token_expired"

_WHAT_TO_DO = (
    "Token exchange trades a valid token for another, so it can be repeated only while the subject "
    "token is valid. Get a new subject token from the service that issued it (log in again, or renew "
    "it there) and pass it as subject_token=."
)

#: Texts of servers that refuse a subject token with another code than invalid_grant (RFC 8693
#: §2.2.2 asks for invalid_request; Keycloak, behind EGI Check-in, answers invalid_token with
#: "Invalid token" or "Token is not active").
_SUBJECT_WORDS = ("subject", "invalid token", "token is not active")


def check_subject_token(subject_token: str | None, now: float) -> None:
    """Raise ``subject_token_expired`` when ``subject_token`` is a JWT whose ``exp`` has passed."""
    if not subject_token:
        return
    exp = jwt_exp(subject_token)
    if exp is None or exp > now:
        return
    when = datetime.fromtimestamp(exp, tz=timezone.utc).isoformat(timespec="seconds")
    raise ConfigError(
        f"the subject token expired at {when} ({int(now - exp)} s ago): it cannot be exchanged any more",
        code=SUBJECT_TOKEN_EXPIRED,
        hint=_WHAT_TO_DO,
    )


def is_token_exchange(request: TokenRequest) -> bool:
    return ("grant_type", TOKEN_EXCHANGE_GRANT) in request.form


def subject_token_refused(error: TokenEndpointError) -> TokenEndpointError:
    """``error`` re-coded ``subject_token_expired`` when the server refused the subject token.

    ``invalid_grant`` always is about it (the exchange has no other grant); ``invalid_request``
    and ``invalid_token`` only when the description names the subject token or says it is invalid
    or not active. Other
    errors (``invalid_client``: "audience not found" at EGI Check-in) are returned unchanged.
    """
    description = (error.error_description or "").lower()
    if error.error == "invalid_grant" or (
        error.error in ("invalid_request", "invalid_token") and any(word in description for word in _SUBJECT_WORDS)
    ):
        error.code = SUBJECT_TOKEN_EXPIRED
        error.message = f"the server refused the subject token (it expired or was revoked): {error.message}"
        error.args = (error.message,)
        error.hint = _WHAT_TO_DO
    return error
