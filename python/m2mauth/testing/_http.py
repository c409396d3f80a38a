"""HTTP plumbing shared by the endpoint modules of the local provider.

Nothing here knows about a particular provider: a parsed :class:`Request`, the
:class:`Response` an endpoint returns, the :class:`OAuthError` an endpoint raises
(RFC 6749 §5.2), strict form parsing and secret redaction for the request log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
JSON_MEDIA_TYPE = "application/json"

REDACTED = "[REDACTED]"

# Form / query fields whose values are secrets and never reach the log.
SECRET_FIELDS = frozenset(
    {
        "assertion",
        "client_assertion",
        "client_secret",
        "password",
        "totp",
        "refresh_token",
        "refreshToken",
        "device_code",
        "token",  # EDL's revoke_token?token=..., USGS's login-token field
        "subject_token",
    }
)

# A field name that does not look like a field name (for instance a JSON document posted
# with a form content type) is dropped from the log together with its value.
_SAFE_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.:\-\[\]]{1,64}$")

# Secret-looking fragments inside free text (log lines, request lines).
_SECRET_IN_TEXT = re.compile(r"(?P<name>(?:" + "|".join(sorted(SECRET_FIELDS)) + r"))=(?P<value>[^&\s'\"]*)")
_AUTH_IN_TEXT = re.compile(r"(?P<scheme>\b(?:Basic|Bearer))\s+[A-Za-z0-9._~+/=\-]+", re.I)


class OAuthError(Exception):
    """An error answer of a token endpoint (RFC 6749 §5.2) or of the resource.

    ``description`` ``None`` leaves ``error_description`` out of the body, which some
    providers (Disruptive Technologies) do on purpose.
    """

    def __init__(
        self,
        error: str,
        description: str | None = None,
        *,
        status: int = 400,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(error if description is None else f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = tuple(headers)


def invalid_client(description: str | None, *, basic_attempted: bool = False) -> OAuthError:
    """RFC 6749 §5.2 ``invalid_client`` (401), with a Basic challenge when one was tried."""
    headers: tuple[tuple[str, str], ...] = ()
    if basic_attempted:
        headers = (("WWW-Authenticate", 'Basic realm="m2mauth-testing"'),)
    return OAuthError("invalid_client", description, status=401, headers=headers)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the endpoints see it (the path without its query string)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case; ``""`` when absent."""
        value = self.header("Content-Type") or ""
        return value.split(";", 1)[0].strip().lower()

    def form_pairs(self) -> tuple[tuple[str, str], ...] | None:
        """The body as form pairs when it is form data, else ``None`` (see :func:`parse_form`)."""
        if self.media_type != FORM_MEDIA_TYPE:
            return None
        return parse_form(self.body)


@dataclass(frozen=True)
class Response:
    """What an endpoint answers. ``reset`` closes the connection without any answer."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    reset: bool = False


def parse_form(body: bytes) -> tuple[tuple[str, str], ...] | None:
    """Parse an ``application/x-www-form-urlencoded`` body strictly.

    Returns ``None`` when the bytes are not form data: not UTF-8, a JSON document, or a
    segment without ``=``. An empty body is an empty form.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    stripped = text.strip()
    if not stripped:
        return ()
    if stripped[0] in "{[":
        return None
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=200,
        )
    except (ValueError, UnicodeDecodeError):
        return None
    return tuple(pairs)


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """Parse a query string leniently (bad segments are skipped, bad UTF-8 replaced)."""
    return tuple(parse_qsl(query, keep_blank_values=True, errors="replace", max_num_fields=200))


class Form:
    """Form (or query) fields with RFC 6749 §3.2's rule: no parameter twice."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = tuple(pairs)

    def get(self, name: str) -> str | None:
        """The value of ``name``; ``None`` when absent or empty; an error when repeated."""
        values = [value for key, value in self.pairs if key == name]
        if len(values) > 1:
            raise OAuthError("invalid_request", f"Parameter '{name}' is included more than once")
        if not values or values[0] == "":
            return None
        return values[0]

    def has(self, name: str) -> bool:
        """True when ``name`` is present with a non-empty value."""
        return any(key == name and value != "" for key, value in self.pairs)


def json_response(
    status: int,
    payload: Any,
    *,
    headers: Sequence[tuple[str, str]] = (),
    no_store: bool = True,
) -> Response:
    """A JSON answer; token endpoint answers carry ``Cache-Control: no-store`` (RFC 6749 §5.1)."""
    extra: list[tuple[str, str]] = []
    if no_store:
        extra += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    extra += list(headers)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status=status, body=body, content_type=JSON_MEDIA_TYPE, headers=tuple(extra))


def error_response(err: OAuthError) -> Response:
    """The RFC 6749 §5.2 JSON body for ``err``."""
    payload: dict[str, str] = {"error": err.error}
    if err.description is not None:
        payload["error_description"] = err.description
    return json_response(err.status, payload, headers=err.headers)


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Form or query pairs with every secret value replaced by ``[REDACTED]``."""
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if not _SAFE_FIELD_NAME.match(name):
            out.append(("[unparsed]", REDACTED))
        elif name in SECRET_FIELDS:
            out.append((name, REDACTED))
        else:
            out.append((name, value))
    return tuple(out)


def redact_header(name: str, value: str) -> str:
    """A header value fit for the log: credentials keep only their scheme."""
    lowered = name.lower()
    if lowered in ("authorization", "proxy-authorization"):
        scheme = value.strip().split(" ", 1)[0] if value.strip() else ""
        return f"{scheme} {REDACTED}".strip()
    if lowered in ("cookie", "set-cookie", "x-auth-token"):  # x-auth-token: USGS M2M's API key
        return REDACTED
    return value


def redact_text(text: str) -> str:
    """Remove secret-looking fragments (``refreshToken=...``, ``Bearer ...``) from free text."""
    text = _SECRET_IN_TEXT.sub(lambda m: f"{m.group('name')}={REDACTED}", text)
    return _AUTH_IN_TEXT.sub(lambda m: f"{m.group('scheme')} {REDACTED}", text)


def require_form(req: Request) -> Form:
    """The body of a token request, which RFC 6749 §3.2 says is form data."""
    pairs = req.form_pairs()
    if pairs is None:
        raise OAuthError(
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded form data",
        )
    return Form(pairs)


def require_grant_type(form: Form, expected: str, *, missing: str, unsupported: str) -> None:
    """For a token endpoint that takes one grant only: refuse a missing ``grant_type``
    (``invalid_request``) or another one (``unsupported_grant_type``), in the service's own words."""
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", missing)
    if grant_type != expected:
        raise OAuthError("unsupported_grant_type", unsupported)
