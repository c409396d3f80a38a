"""Bounded retries for token requests: backoff with jitter, Retry-After, an overall deadline.

Only transient failures are retried (connection errors, timeouts, 429, 5xx, and a success status
whose JSON was cut short). An answer the RFC calls final (invalid_grant, invalid_client,
unsupported_grant_type, ...) is raised at once.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from . import progress
from .errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError
from .tokens import TruncatedResponseError

__all__ = ["RetryPolicy", "is_transient", "retry_after_seconds", "with_retries"]

log = logging.getLogger("m2mauth")
T = TypeVar("T")

TRANSIENT_CODES = frozenset({"rate_limited", "server_error", "temporarily_unavailable"})
TRANSIENT_TRANSPORT = frozenset({"timeout", "connection_error", "transport_error"})
#: Answers RFC 6749 §5.2 and RFC 8628 §3.5 make final, whatever the HTTP status says.
FINAL_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "expired_token",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # in all, the first one included
    backoff: float = 0.5  # first wait; doubles each time
    max_backoff: float = 10.0
    deadline: float = 60.0  # seconds for all attempts and waits together
    jitter: float = 0.25  # +/- fraction of each wait, so many workers do not retry in step

    def __post_init__(self) -> None:
        # Checked here, not where the policy is used: a wrong value names its field at once.
        if not (isinstance(self.attempts, int) and not isinstance(self.attempts, bool) and self.attempts >= 1):
            raise ConfigError(
                "RetryPolicy(attempts=) must be a whole number, 1 or more",
                code="invalid_option",
                hint="attempts counts the first try: RetryPolicy(attempts=1) means no retry.",
            )
        for name in ("backoff", "max_backoff", "deadline", "jitter"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < math.inf):
                raise ConfigError(
                    f"RetryPolicy({name}=) must be a number of seconds, 0 or more",
                    code="invalid_option",
                    hint="Leave it out for the default.",
                )
        if self.jitter > 1:
            raise ConfigError(
                "RetryPolicy(jitter=) must be between 0 and 1 (a fraction of each wait)", code="invalid_option"
            )

    def wait(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        base = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return float(max(0.0, base * (1 + self.jitter * (2 * rng() - 1))))


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(error: M2MAuthError) -> bool:
    if isinstance(error, TransportError):
        return error.code in TRANSIENT_TRANSPORT
    if isinstance(error, TruncatedResponseError):
        return True  # a success status whose JSON was cut on its way: the next answer is likely whole
    if isinstance(error, TokenEndpointError):
        if error.code in FINAL_CODES:
            return False
        if error.code in TRANSIENT_CODES:
            return True
        # 408, 429 and 5xx by status: a server may name its rate limit in its own words
        # ({"error": "too_many_requests"}), which is not an RFC code.
        status = error.status or 0
        return status in (408, 429) or status >= 500
    return False


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() alone accepts '²', which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when is None or when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError, IndexError, OverflowError, OSError):  # not a date, or one out of range
        return None


def with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str = "token request",
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``attempt`` until it succeeds, fails for good, or the policy's attempts or deadline run out."""
    started = monotonic()
    number = 1
    while True:
        try:
            return attempt()
        except M2MAuthError as error:
            if not is_transient(error) or number >= policy.attempts:
                raise
            wait = policy.wait(number)
            hinted = retry_after_seconds(getattr(error, "retry_after", None))
            if hinted is not None:
                wait = max(wait, hinted)
            left = policy.deadline - (monotonic() - started)
            if wait >= left:
                log.info(
                    "%s failed (%s); no retry: the next try would pass the %.0f s deadline",
                    what,
                    error.code,
                    policy.deadline,
                )
                raise
            log.info("%s failed (%s); retry %d/%d in %.2f s", what, error.code, number, policy.attempts - 1, wait)
            with progress.waiting(f"{what} failed ({error.code}); retrying in {wait:.0f} s"):
                sleep(wait)
            number += 1
