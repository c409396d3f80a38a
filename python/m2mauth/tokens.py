"""Token, and the reading of token endpoint answers (RFC 6749 §5.1 and §5.2).

Anything a server may send — numbers as strings, no expiry, an HTML page from a proxy, bytes
that are not UTF-8 — becomes a ``Token`` or a ``TokenEndpointError``, never another exception.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .arguments import check_options
from .errors import TokenEndpointError
from .jws import b64url_decode

__all__ = [
    "RFC_ERRORS",
    "Token",
    "TruncatedResponseError",
    "error_from_response",
    "parse_token_response",
    "redact_text",
]

#: Error codes from RFC 6749 §5.2, RFC 6750 §3.1 and RFC 8628 §3.5; other strings are not trusted as codes.
RFC_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_token",
        "insufficient_scope",
        "server_error",
        "temporarily_unavailable",
        "authorization_pending",
        "slow_down",
        "access_denied",
        "expired_token",
    }
)

_SECRET_KEYS = ("access_token", "refresh_token", "id_token")
#: A secret member of a token answer, its value possibly cut short (a truncated body): masked in excerpts.
_SECRET_MEMBER = re.compile(r'("(?:access_token|refresh_token|id_token)"\s*:\s*")[^"]*')
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_\-]{24,}(?:\.[A-Za-z0-9_\-]{8,}){0,2}")
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.DOTALL | re.IGNORECASE)
EXCERPT_LENGTH = 200
MAX_SECONDS = 1e10  # about 317 years: larger times are nonsense, and datetime cannot hold much larger


def redact_text(text: str) -> str:
    """Mask anything shaped like a token or key (long base64url runs) in text shown to people."""
    return _LONG_TOKEN.sub("<redacted>", text)


def _excerpt(body: bytes | str, content_type: str | None) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if "html" in (content_type or "").lower() or text.lstrip()[:1] == "<":
        text = _TAGS.sub(" ", text)
    text = _SECRET_MEMBER.sub(r"\1<redacted>", text)  # even a token too short for redact_text (a cut body)
    text = redact_text(" ".join(text.split()))  # redact first: a cut must not leave a token's prefix
    if len(text) > EXCERPT_LENGTH:
        text = text[:EXCERPT_LENGTH] + "..."
    return text


class TruncatedResponseError(TokenEndpointError):
    """A success status whose JSON body stops before the document ends (code ``invalid_response``).

    The answer was cut on its way — most often by a proxy or a connection that failed mid-answer —
    so, unlike a success status with an HTML page or JSON without a token, it is retried.
    """


def _cut_json(body: bytes | str) -> bool:
    """Whether ``body`` starts as a JSON document but breaks off: not parseable, no closing bracket."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    return text[:1] in ("{", "[") and text[-1:] not in ("}", "]") and _load_json(text) is None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


@dataclass(frozen=True, repr=False)
class Token:
    """An access token. ``repr`` and ``str`` never show the token or refresh token."""

    access_token: str
    token_type: str = "Bearer"
    expires_at: datetime | None = None
    refresh_token: str | None = None
    scope: str | None = None
    id_token: str | None = None
    refresh_expires_at: datetime | None = None
    issued_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)  # the response minus secret members
    header_name: str = "Authorization"  # where the API takes it (presentation.py; USGS: X-Auth-Token)
    issued_token_type: str | None = None  # RFC 8693 §2.2.1: what a token exchange issued

    @property
    def expires_in(self) -> int | None:
        """Seconds left before expiry (may be negative), or None when the server gave no expiry."""
        return self.seconds_left(time.time())

    def seconds_left(self, now: float) -> int | None:
        if self.expires_at is None:
            return None
        return int(self.expires_at.timestamp() - now)

    @property
    def lifetime(self) -> float | None:
        """Seconds between issue and expiry, as the server granted them."""
        if self.expires_at is None or self.issued_at is None:
            return None
        return (self.expires_at - self.issued_at).total_seconds()

    def is_expired(self, now: float | None = None, margin: float = 0.0) -> bool:
        left = self.seconds_left(time.time() if now is None else now)
        return left is not None and left <= margin

    @property
    def authorization(self) -> str:
        """The value of the header named ``header_name`` (``Authorization`` unless the profile says
        otherwise): ``<token_type> <token>``, or the bare token when the type is empty (USGS M2M)."""
        return f"{self.token_type} {self.access_token}" if self.token_type else self.access_token

    def to_dict(self, *, show_secrets: bool = False) -> dict[str, Any]:
        def secret(value: str | None) -> str | None:
            return value if show_secrets or value is None else "<redacted>"

        return {
            "access_token": secret(self.access_token),
            "token_type": self.token_type,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "expires_in": self.expires_in,
            "refresh_token": secret(self.refresh_token),
            "scope": self.scope,
            "id_token": secret(self.id_token),
            "refresh_expires_at": self.refresh_expires_at.isoformat() if self.refresh_expires_at else None,
            **({"issued_token_type": self.issued_token_type} if self.issued_token_type else {}),
        }

    def __repr__(self) -> str:
        exp = self.expires_at.isoformat(timespec="seconds") if self.expires_at else None
        refresh = ", refresh_token=<redacted>" if self.refresh_token else ""
        scope = f", scope={self.scope!r}" if self.scope else ""
        return f"Token(token_type={self.token_type!r}, access_token=<redacted>, expires_at={exp!r}{refresh}{scope})"

    __str__ = __repr__


def _seconds(value: Any) -> float | None:
    """expires_in as int, float or numeric string (OpenAIRE sends strings); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value and abs(value) < MAX_SECONDS else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if number == number and abs(number) < MAX_SECONDS else None
    return None


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, read without verifying its signature (callers take only dates from them);
    None if ``token`` is not a JWT whose payload is a JSON object."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except Exception:  # noqa: BLE001 - an opaque token is normal, not an error
        return None
    return claims if isinstance(claims, dict) else None


def jwt_claim_seconds(token: str, name: str) -> float | None:
    """A time claim (``exp``, ``iat``) of a JWT, read without trusting it; None if not a JWT."""
    claims = unverified_claims(token)
    return _seconds(claims.get(name)) if claims is not None else None


def jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT access token, read without trusting it; None if not a JWT."""
    return jwt_claim_seconds(token, "exp")


def token_type_of(value: Any) -> str:
    """The token type an answer states; "Bearer" when it states none, or bearer in any letter case."""
    if not isinstance(value, str) or not value.strip() or value.lower() == "bearer":
        return "Bearer"
    return value


def unstated_expiry(access_token: str, now: float, default_lifetime: float | None) -> float | None:
    """The expiry of a token whose answer does not state one: its JWT ``exp``, else ``now`` plus the
    profile's default lifetime; None (no known expiry) without either."""
    exp = jwt_exp(access_token)
    if exp is not None:
        return exp
    return now + default_lifetime if default_lifetime is not None else None


def _load_json(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def error_from_response(
    status: int, body: bytes | str, content_type: str | None = None, *, url: str | None = None
) -> TokenEndpointError:
    """A ``TokenEndpointError`` for a failed answer: RFC 6749 §5.2 JSON, or anything else."""
    data = _load_json(body)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        error = data["error"]
        description = data.get("error_description")
        description = description if isinstance(description, str) else None
        code = error if error in RFC_ERRORS else _status_code(status)
        desc = f": {redact_text(description)}" if description else ""
        return TokenEndpointError(
            f"the token endpoint answered HTTP {status} {redact_text(error)}{desc}",
            code=code,
            status=status,
            error=redact_text(error),
            error_description=redact_text(description) if description else None,
            excerpt=_excerpt(body, content_type),
            url=url,
            hint=_hint(code, status),
        )
    excerpt = _excerpt(body, content_type)
    if status == 429:
        code, what = "rate_limited", "too many requests"
    elif status >= 500:
        code, what = "server_error", "a server error"
    elif 200 <= status < 300:
        code, what = "invalid_response", "a success status but no usable token"
    else:
        code, what = "invalid_response", "an answer that is not an OAuth2 error"
    kind = (
        "an HTML page"
        if "<" in (body[:200] if isinstance(body, str) else body[:200].decode("latin-1"))
        else "a non-JSON body"
    )
    if data is not None:
        kind = "JSON without an access_token or error"
    elif 200 <= status < 300 and _cut_json(body):
        return TruncatedResponseError(
            f"the token endpoint answered HTTP {status} with a JSON body cut short: {excerpt!r}",
            code=code,
            status=status,
            excerpt=excerpt,
            url=url,
            hint="The answer was cut on its way (a proxy or the connection failed mid-answer); try again. "
            "If it persists, check the proxy between you and the token endpoint.",
        )
    return TokenEndpointError(
        f"the token endpoint answered HTTP {status} with {what} ({kind}): {excerpt!r}",
        code=code,
        status=status,
        excerpt=excerpt,
        url=url,
        hint=_hint(code, status),
    )


def _status_code(status: int) -> str:
    """A stable code for a provider-specific error string, from the HTTP status."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "token_endpoint_error"


def _hint(code: str, status: int) -> str:
    """The fix for an error answer; a 405 says the URL takes another HTTP method, whatever its body
    says (its ``invalid_request`` is not about the body's encoding)."""
    if status == 405:
        return METHOD_NOT_ALLOWED_HINT
    return _generic_hint(code)


METHOD_NOT_ALLOWED_HINT = (
    "The URL does not take this HTTP method (405 Method Not Allowed): it is most likely another endpoint "
    "than the one this flow uses. Check token_url= against the provider's documentation (OpenAIRE: a "
    "personal refresh token goes to the GET .../users/getAccessToken endpoint, registered services POST "
    "to .../oidc/token)."
)


def _generic_hint(code: str) -> str:
    return {
        "invalid_request": "The request is malformed: token requests must be form-encoded "
        "(application/x-www-form-urlencoded), not JSON, with every required field.",
        "invalid_client": "The client could not be authenticated: check client_id, the secret or key, "
        "and the client authentication method (auth_method=).",
        "invalid_grant": "The grant was refused: check the assertion's claims (iss, sub, aud, iat, exp), "
        "the signing key, or whether the refresh token was already used or expired.",
        "unauthorized_client": "This client may not use this grant type; check its registration.",
        "unsupported_grant_type": "The server did not see a grant_type it supports: send the body form-encoded "
        "with Content-Type application/x-www-form-urlencoded.",
        "invalid_scope": "Ask for a scope the client is registered for, or none.",
        "rate_limited": "The server is rate limiting; wait and retry (m2mauth honours Retry-After).",
        "server_error": "The server failed; retry later. If it persists, the service may be down.",
        "temporarily_unavailable": "The server is overloaded; retry later.",
        "invalid_response": "Something between you and the server (a proxy, a captive portal, a wrong URL) "
        "answered instead of the token endpoint: check token_url and proxy settings.",
        "access_denied": "The user denied the authorization request.",
        "expired_token": "The device code expired; start the login again.",
    }.get(code, "See the error description from the server.")


def parse_token_response(
    status: int,
    body: bytes | str,
    content_type: str | None = None,
    *,
    now: float | None = None,
    default_lifetime: float | None = None,
    url: str | None = None,
) -> Token:
    """Read a token endpoint answer into a ``Token``, or raise ``TokenEndpointError``."""
    check_options(http_status=status, body=body, content_type=content_type, now=now, url=url)
    check_options(default_lifetime=default_lifetime)
    data = _load_json(body) if 200 <= status < 300 else None
    if (
        not isinstance(data, dict)
        or "error" in data
        or not isinstance(data.get("access_token"), str)
        or not data.get("access_token")
    ):
        raise error_from_response(status, body, content_type, url=url)
    now = time.time() if now is None else now
    access_token: str = data["access_token"]
    token_type = token_type_of(data.get("token_type"))
    expires_at: float | None = None
    expires_in = _seconds(data.get("expires_in"))
    if expires_in is not None:
        expires_at = now + expires_in
    elif _seconds(data.get("expires_at")) is not None:
        expires_at = _seconds(data.get("expires_at"))
    else:
        expires_at = unstated_expiry(access_token, now, default_lifetime)
    refresh = (
        data.get("refresh_token") if isinstance(data.get("refresh_token"), str) and data.get("refresh_token") else None
    )
    refresh_in = _seconds(data.get("refresh_expires_in"))
    scope = data.get("scope") if isinstance(data.get("scope"), str) else None
    id_token = data.get("id_token") if isinstance(data.get("id_token"), str) else None
    issued_type = data.get("issued_token_type")
    raw = {k: v for k, v in data.items() if k not in _SECRET_KEYS}
    return Token(
        access_token=access_token,
        token_type=token_type,
        expires_at=_utc(expires_at) if expires_at is not None else None,
        refresh_token=refresh,
        scope=scope,
        id_token=id_token,
        refresh_expires_at=_utc(now + refresh_in) if refresh_in else None,
        issued_at=_utc(now),
        raw=raw,
        issued_token_type=issued_type if isinstance(issued_type, str) and issued_type else None,
    )
