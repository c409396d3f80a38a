"""Compact JWS serialisation (RFC 7515 §7.1) over caller-supplied octets.

The signer works on a given signing input, not only on re-serialised JSON, so published
vectors whose headers hold line breaks (RFC 7515 A.1) reproduce byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .keys import Key

__all__ = ["b64url_decode", "b64url_encode", "compact", "json_segment", "sign", "signing_input"]


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raise ConfigError (never binascii.Error) on bad input."""
    if not isinstance(text, str):
        raise ConfigError("base64url input must be text", code="invalid_base64")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ConfigError("base64url input holds non-ASCII characters", code="invalid_base64") from None
    if len(raw) % 4 == 1 or b"=" in raw or b"+" in raw or b"/" in raw:
        raise ConfigError("not valid base64url text", code="invalid_base64")
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("not valid base64url text", code="invalid_base64") from None


def json_segment(obj: Mapping[str, Any]) -> str:
    """The exact JSON text m2mauth signs: no whitespace, insertion order, UTF-8 as is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def signing_input(header_json: str, claims_json: str) -> str:
    return b64url_encode(header_json.encode("utf-8")) + "." + b64url_encode(claims_json.encode("utf-8"))


def sign(signing_input_text: str, key: Key, alg: str) -> str:
    """Sign the given signing input and return the compact JWS."""
    signature = key.sign(signing_input_text.encode("ascii"), alg)
    return signing_input_text + "." + b64url_encode(signature)


def compact(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """Serialise and sign a JWT with the algorithm named in the header."""
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise ConfigError("the JWS header has no 'alg'", code="invalid_header")
    return sign(signing_input(json_segment(header), json_segment(claims)), key, alg)
