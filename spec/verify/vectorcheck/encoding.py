"""The byte-level encodings vectors use: base64url, the token-request form, HTTP Basic, file formatting."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

_FORM_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url_encode(data: bytes) -> str:
    """RFC 7515 section 2: URL-safe alphabet, no padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url: URL-safe alphabet, no padding, zero unused bits."""
    if any(ch not in _B64URL_ALPHABET for ch in text):
        raise ValueError("not base64url (padding, or a character outside the alphabet)")
    if len(text) % 4 == 1:
        raise ValueError("impossible base64url length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(f"not base64url: {exc}") from exc
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url (unused bits are not zero)")
    return data


def form_encode_component(text: str, space: str = "+") -> str:
    """spec/CONVENTIONS.md: UTF-8 bytes; A-Z a-z 0-9 - . _ ~ kept; space is '+' (or `space`); else %XX."""
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _FORM_KEPT:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append(space)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def form_encode(pairs: Sequence[tuple[str, str]]) -> str:
    """The pairs as name=value, joined by '&', in the order given."""
    return "&".join(f"{form_encode_component(n)}={form_encode_component(v)}" for n, v in pairs)


def basic_authorization(client_id: str, client_secret: str, encoding: str) -> str:
    """The Authorization value of client_secret_basic (spec/CONVENTIONS.md)."""
    if encoding == "rfc":  # RFC 6749 section 2.3.1: encode both first, space as %20 (see CONVENTIONS)
        user = form_encode_component(client_id, "%20").encode("ascii")
        password = form_encode_component(client_secret, "%20").encode("ascii")
    elif encoding == "raw":
        user = client_id.encode("utf-8")
        password = client_secret.encode("utf-8")
    else:
        raise ValueError(f"unknown basic_encoding {encoding!r}")
    return "Basic " + base64.b64encode(user + b":" + password).decode("ascii")


def canonical_text(document: Any) -> str:
    """The one formatting vector files are written in."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
