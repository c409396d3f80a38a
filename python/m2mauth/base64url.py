"""base64url without padding (RFC 7515 §2), the one text encoding every JOSE member uses.

Its own module so that key handling (``keys``, ``jwk``) and serialisation (``jws``) both use it
without importing each other. Decoding is strict on purpose: Python's and PyJWT's decoders
silently drop characters outside the alphabet, which would let a damaged key or token load as
another value.
"""

from __future__ import annotations

import base64
import binascii

from .errors import ConfigError

__all__ = ["b64url_decode", "b64url_encode", "b64url_uint"]


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


def b64url_uint(value: int, size: int | None = None) -> str:
    """A non-negative integer as a JWK member (RFC 7518 §2 Base64urlUInt), ``size`` bytes when given."""
    length = size if size is not None else (value.bit_length() + 7) // 8 or 1
    return b64url_encode(value.to_bytes(length, "big"))
