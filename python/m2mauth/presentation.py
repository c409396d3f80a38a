"""How a token goes on API requests, and which API answers mean "renew and retry once".

RFC 6750's ``Authorization: Bearer <token>`` is the default. USGS M2M wants ``X-Auth-Token: <key>``
with no scheme, and says a key expired with ``{"errorCode": "AUTH_EXPIRED"}`` in its envelope rather
than a 401. A profile flow says so with its ``presentation`` member; ``Token.authorization``,
``Auth``, ``HttpxAuth``, ``session()``, R's ``req_auth_m2m()`` and ``m2mauth token --header`` follow it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from .tokens import Token

__all__ = ["DEFAULT_PRESENTATION", "ExpirySignal", "Presentation", "json_path", "sent_token"]


def json_path(data: Any, path: str) -> Any:
    """The member at a dotted path (``"data"``, ``"error.code"``) of parsed JSON, or None."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


@dataclass(frozen=True)
class ExpirySignal:
    """An API answer that means "the token expired" whatever its status: the JSON member at
    ``path`` equals one of ``values`` (USGS: ``errorCode`` == ``AUTH_EXPIRED``)."""

    path: str
    values: tuple[str, ...]

    def matches(self, body: bytes | str, content_type: str | None = None) -> bool:
        if content_type is not None and "json" not in content_type.lower():
            return False
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return False
        return json_path(data, self.path) in self.values


@dataclass(frozen=True)
class Presentation:
    """``header``: the header's name; ``scheme``: the word before the token (None: the token's own
    type, ``Bearer``; ``""``: the bare token); ``expired``: a non-401 answer that means "renew"."""

    header: str = "Authorization"
    scheme: str | None = None
    expired: ExpirySignal | None = None

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_PRESENTATION

    def apply(self, token: Token) -> Token:
        """The token as this API takes it: its header name, and its scheme when the profile sets one."""
        if self.is_default:
            return token
        token_type = token.token_type if self.scheme is None else self.scheme
        return dataclasses.replace(token, token_type=token_type, header_name=self.header)


DEFAULT_PRESENTATION = Presentation()


def sent_token(value: str, scheme_used: bool) -> str | None:
    """The token in a header value this library set: after the scheme, or the value itself."""
    if not scheme_used:
        return value or None
    return value.split(" ", 1)[1] if " " in value else None
