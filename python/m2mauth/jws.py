"""Compact JWS serialisation (RFC 7515 §7.1) over caller-supplied octets.

The signer works on a given signing input, not only on re-serialised JSON, so published
vectors whose headers hold line breaks (RFC 7515 A.1) reproduce byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .base64url import b64url_decode, b64url_encode
from .errors import ConfigError

if TYPE_CHECKING:  # jws uses keys, keys never uses jws: base64url lives in its own module
    from .keys import Key

# b64url_* stay importable from here for the modules that read JWTs (tokens, diagnose, cli).
__all__ = ["b64url_decode", "b64url_encode", "compact", "json_segment", "sign", "signing_input"]


def json_segment(obj: Mapping[str, Any]) -> str:
    """The exact JSON text m2mauth signs: no whitespace, insertion order, UTF-8 as is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def signing_input(header_json: str, claims_json: str) -> str:
    return b64url_encode(header_json.encode("utf-8")) + "." + b64url_encode(claims_json.encode("utf-8"))


def sign(signing_input_text: str, key: Key, alg: str) -> str:
    """Sign the given signing input and return the compact JWS.

    The signature is over these exact octets (PyJWT computes it, see ``jwa``), so a signing input
    whose header holds line breaks (RFC 7515 A.1) reproduces as published.
    """
    signature = key.sign(signing_input_text.encode("ascii"), alg)
    return signing_input_text + "." + b64url_encode(signature)


def compact(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """Serialise and sign a JWT with the algorithm named in the header."""
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise ConfigError("the JWS header has no 'alg'", code="invalid_header")
    return sign(signing_input(json_segment(header), json_segment(claims)), key, alg)
