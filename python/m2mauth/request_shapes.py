"""Token requests that are not OAuth grants: a JSON body of named credentials, or HTTP Basic and no body.

USGS M2M's ``login-token`` takes ``{"username": ..., "token": <application token>}`` as JSON; NASA
Earthdata Login's ``find_or_create_token`` takes ``Authorization: Basic base64(username:password)``
and no body. A profile flow says which with its ``request`` member; the builders here are pure, like
grants.py, and the spec vectors pin their bytes (spec/README.md, "Request shapes").
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .token_request import JSON_CONTENT_TYPE, TokenRequest

__all__ = ["SHAPES", "RequestShape", "basic_login", "json_login", "logout_request"]

#: ``form``: an RFC 6749 grant (grants.py); ``json``: named credential fields as a JSON object;
#: ``basic``: username and password as HTTP Basic, no body.
SHAPES = ("form", "json", "basic")


@dataclass(frozen=True)
class RequestShape:
    """How a flow's request carries its credentials. ``fields`` (for ``json``): ordered
    (name on the wire, credential keyword) pairs, e.g. ``("token", "application_token")``."""

    kind: str = "form"
    fields: tuple[tuple[str, str], ...] = ()


def _check_url(url: str) -> None:
    if not url:
        raise ConfigError(
            "no token URL",
            code="missing_token_url",
            hint="Give token_url= (or a profile that names one).",
        )


def json_login(url: str, fields: Sequence[tuple[str, str]]) -> TokenRequest:
    """POST the named credentials as one JSON object, in the order given (USGS M2M ``login-token``)."""
    _check_url(url)
    for name, value in fields:
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"the JSON login needs a value for {name!r}",
                code="missing_credential",
                hint="Pass every credential the flow names (see the profile's flow 'request.fields').",
            )
    headers = (("Accept", "application/json"), ("Content-Type", JSON_CONTENT_TYPE))
    return TokenRequest("POST", url, headers, tuple(fields), encoding="json")


def basic_authorization(username: str, password: str) -> str:
    """RFC 7617: ``Basic base64(username ":" password)``, UTF-8, nothing percent-encoded (this is a
    user's login, not RFC 6749 §2.3.1 client authentication)."""
    if ":" in username:
        raise ConfigError(
            "username= contains ':', which HTTP Basic cannot carry",
            code="invalid_credential",
            hint="RFC 7617 forbids ':' in the user name; check username= (a password may contain ':').",
        )
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def basic_login(url: str, username: str, password: str) -> TokenRequest:
    """POST with ``Authorization: Basic`` and no body (NASA Earthdata Login ``find_or_create_token``)."""
    _check_url(url)
    if not username or not password:
        raise ConfigError(
            "this login needs username and password",
            code="missing_credential",
            hint="Pass username= and password= (or their environment variables, or a ~/.netrc entry).",
        )
    headers = (("Accept", "application/json"), ("Authorization", basic_authorization(username, password)))
    return TokenRequest("POST", url, headers, (), encoding="none")


def logout_request(url: str, header: str, value: str) -> TokenRequest:
    """POST to a logout endpoint with the token presented as the API expects it, and no body
    (USGS M2M ``logout`` with ``X-Auth-Token``)."""
    _check_url(url)
    if not value:
        raise ConfigError("logout needs the token to end", code="missing_credential")
    return TokenRequest("POST", url, (("Accept", "application/json"), (header, value)), (), encoding="none")
