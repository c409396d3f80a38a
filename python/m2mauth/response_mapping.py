"""Reading token answers that are not RFC 6749 §5.1/§5.2, and tokens given as they are.

A profile flow's ``response`` member says where the token, its expiry and the error are: USGS M2M
answers ``{"data": "<api key>", "errorCode": null, "errorMessage": null}`` and its keys last 2 hours;
NASA Earthdata Login answers ``{"access_token": ..., "token_type": "Bearer", "expiration_date":
"06/15/2025"}``. Errors keep the typed-error contract of tokens.py: a ``TokenEndpointError`` with a
code, the provider's error code and message (redacted), and a hint (the profile's, when one matches).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import ConfigError, TokenEndpointError
from .presentation import json_path
from .tokens import (
    RFC_ERRORS,
    Token,
    _load_json,
    error_from_response,
    jwt_claim_seconds,
    jwt_exp,
    parse_token_response,
    redact_text,
    token_type_of,
    unstated_expiry,
)

__all__ = ["DAY", "ResponseMapping", "parse_expiry", "parse_mapped_response", "token_as_given"]

DAY = 86400.0
#: strftime directives that carry a time of day: a format with none of them is day-granular.
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%T", "%R", "%c", "%X", "%s")


@dataclass(frozen=True)
class ResponseMapping:
    """Where a non-OAuth answer keeps things. Paths are dotted JSON paths (``"data"``).

    ``expires`` names the expiry member; with ``expires_format`` (a strftime format such as
    ``"%m/%d/%Y"``) it is a date or date-time string, without it a number of seconds. ``lifetime``
    is the fixed lifetime when the answer states none (USGS: 7200)."""

    token: str = "access_token"
    token_type: str | None = "token_type"
    expires: str | None = None
    expires_format: str | None = None
    lifetime: int | None = None
    error_code: str | None = "error"
    error_message: str | None = "error_description"

    @property
    def day_granular(self) -> bool:
        return self.expires_format is not None and not any(d in self.expires_format for d in _TIME_DIRECTIVES)


def parse_expiry(value: Any, fmt: str, now: float) -> float | None:
    """An expiry date or date-time string as epoch seconds, or None when it does not fit ``fmt``.

    Without a zone the time is UTC. A day-granular date (EDL's ``"06/15/2025"``) stands for the start
    of that day, UTC: the token may die any time that day, so it is renewed before it begins (the
    refresh margin comes on top). A server that hands the token back as valid when that day has
    begun vouches for it until the day ends, at the latest: that is its expiry then.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value.strip(), fmt)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    if any(d in fmt for d in _TIME_DIRECTIVES):
        return parsed.timestamp()
    start = datetime(parsed.year, parsed.month, parsed.day, tzinfo=timezone.utc).timestamp()
    return start if now < start else start + DAY


def _mapped_error(
    mapping: ResponseMapping, data: Any, status: int, body: bytes | str, content_type: str | None, url: str | None
) -> TokenEndpointError:
    code_value = json_path(data, mapping.error_code) if mapping.error_code else None
    message = json_path(data, mapping.error_message) if mapping.error_message else None
    if not isinstance(code_value, str) or not code_value:
        return error_from_response(status, body, content_type, url=url)
    description = redact_text(message) if isinstance(message, str) and message else None
    if code_value in RFC_ERRORS:
        code = code_value
    elif status == 429:
        code = "rate_limited"
    elif status >= 500:
        code = "server_error"
    else:
        code = "token_endpoint_error"
    return TokenEndpointError(
        f"the token endpoint answered HTTP {status} {redact_text(code_value)}"
        + (f": {description}" if description else ""),
        code=code,
        status=status,
        error=redact_text(code_value),
        error_description=description,
        url=url,
        hint="See the error message from the server.",
    )


def parse_mapped_response(
    mapping: ResponseMapping | None,
    status: int,
    body: bytes | str,
    content_type: str | None = None,
    *,
    now: float | None = None,
    default_lifetime: float | None = None,
    url: str | None = None,
) -> Token:
    """Read an answer through ``mapping`` into a ``Token``, or raise ``TokenEndpointError``.

    Without a mapping (a flow with no ``response`` member) the answer is RFC 6749's: parse_token_response."""
    if mapping is None:
        return parse_token_response(status, body, content_type, now=now, default_lifetime=default_lifetime, url=url)
    data = _load_json(body)
    token = json_path(data, mapping.token) if isinstance(data, dict) else None
    has_error = mapping.error_code is not None and json_path(data, mapping.error_code) not in (None, "")
    if not 200 <= status < 300 or has_error or not isinstance(token, str) or not token:
        raise _mapped_error(mapping, data, status, body, content_type, url)
    now = time.time() if now is None else now
    token_type = token_type_of(json_path(data, mapping.token_type) if mapping.token_type else None)
    expires_at: float | None = None
    value = json_path(data, mapping.expires) if mapping.expires else None
    if mapping.expires_format is not None:
        expires_at = parse_expiry(value, mapping.expires_format, now)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        expires_at = now + float(value)
    if expires_at is None and mapping.lifetime is not None:
        expires_at = now + mapping.lifetime
    if expires_at is None:
        expires_at = unstated_expiry(token, now, default_lifetime)
    top = mapping.token.split(".")[0]
    raw = {k: v for k, v in data.items() if k not in (top, "access_token", "refresh_token", "id_token")}
    return Token(
        access_token=token,
        token_type=token_type,
        expires_at=datetime.fromtimestamp(expires_at, tz=timezone.utc) if expires_at is not None else None,
        issued_at=datetime.fromtimestamp(now, tz=timezone.utc),
        raw=raw,
    )


def token_as_given(value: str, *, now: float | None = None, source: str = "access_token=") -> Token:
    """A ready token (EARTHDATA_TOKEN) used as is: its expiry is its JWT ``exp`` when it has one.

    An expired one is refused here, before any API sees it."""
    now = time.time() if now is None else now
    exp = jwt_exp(value)
    issued = jwt_claim_seconds(value, "iat")
    if exp is not None and exp <= now:
        when = datetime.fromtimestamp(exp, tz=timezone.utc).isoformat(timespec="seconds")
        raise ConfigError(
            f"the token given as {source} expired at {when}",
            code="token_expired",
            hint=f"Get a new token from the provider and set {source} to it, or unset it and give the "
            "credentials m2mauth can get tokens with (e.g. username= and password=).",
        )
    return Token(
        access_token=value,
        expires_at=datetime.fromtimestamp(exp, tz=timezone.utc) if exp is not None else None,
        issued_at=datetime.fromtimestamp(issued, tz=timezone.utc) if issued is not None and exp is not None else None,
    )
