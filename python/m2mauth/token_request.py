"""TokenRequest: the exact bytes of one call to a token endpoint, and their encoding.

Method, URL, ordered headers and ordered form fields, nothing else. Every grant and client
authentication method produces one; the spec vectors pin its serialisation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

__all__ = ["SECRET_FIELDS", "TokenRequest", "form_encode"]

#: Form fields and headers whose values are credentials: never printed, logged or stored.
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
        "subject_token",
        "code",
        "authorization",
        "token",  # USGS M2M's login-token body: the application token
        "x-auth-token",  # USGS M2M's API key header (logout)
    }
)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
#: How a POST carries its fields (request_shapes.py): the form encoding (OAuth, the default), a JSON
#: object of the same ordered pairs, or no body at all (the credentials travel in a header).
ENCODINGS = ("form", "json", "none")


def json_encode(pairs: Iterable[tuple[str, str]]) -> str:
    """A JSON object of the pairs in their order: no spaces, non-ASCII as \\uXXXX (the bytes are ASCII)."""
    return json.dumps(dict(pairs), separators=(",", ":"), ensure_ascii=True)


def form_encode(pairs: Iterable[tuple[str, str]]) -> str:
    """application/x-www-form-urlencoded: UTF-8, unreserved bytes kept, space as '+', else %XX."""
    return "&".join(quote_plus(name, safe="") + "=" + quote_plus(value, safe="") for name, value in pairs)


@dataclass(frozen=True, repr=False)
class TokenRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...] = ()
    encoding: str = "form"  # "json" or "none" for the non-OAuth request shapes

    @property
    def body(self) -> str:
        """The request body: for POST the form (or JSON) encoding of the fields, or nothing when the
        encoding is ``none``; empty for GET (fields go into the URL)."""
        if self.method != "POST" or self.encoding == "none":
            return ""
        return json_encode(self.form) if self.encoding == "json" else form_encode(self.form)

    @property
    def full_url(self) -> str:
        """The URL as sent: for GET the form fields are the query string."""
        if self.method == "GET" and self.form:
            separator = "&" if urlsplit(self.url).query else "?"
            return self.url + separator + form_encode(self.form)
        return self.url

    def field(self, name: str) -> str | None:
        for key, value in self.form:
            if key == name:
                return value
        return None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        """The serialisation the spec vectors pin (secrets included: for vectors only)."""
        serialised: dict[str, Any] = {
            "method": self.method,
            "url": self.full_url,
            "headers": [[k, v] for k, v in self.headers],
            "form": [[k, v] for k, v in self.form],
            "body": self.body,
        }
        if self.encoding != "form":  # only the new shapes say so: OAuth vectors stay byte for byte
            serialised["encoding"] = self.encoding
        return serialised

    def redacted(self) -> dict[str, Any]:
        """A copy safe to print: secret fields and the Authorization header masked."""
        return {
            "method": self.method,
            "url": self.url,
            "headers": [[k, "<redacted>" if k.lower() in SECRET_FIELDS else v] for k, v in self.headers],
            "form": [[k, "<redacted>" if k in SECRET_FIELDS else v] for k, v in self.form],
        }

    def __repr__(self) -> str:
        fields = ", ".join(k for k, _ in self.form)
        return f"<TokenRequest {self.method} {self.url} fields=[{fields}]>"
