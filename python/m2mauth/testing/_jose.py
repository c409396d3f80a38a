"""Reading and checking the JWTs clients send, and signing the ones the server issues.

The provider parses a compact JWS itself (so it can answer precisely *what* is wrong) and
lets PyJWT check asymmetric signatures. HS256 is checked with :mod:`hmac` directly, which
also accepts the odd secrets PyJWT refuses as HMAC keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = {"secp256r1": ("ES256",), "secp384r1": ("ES384",), "secp521r1": ("ES512",)}


class MalformedJWT(ValueError):
    """The text is not a compact JWS with JSON-object header and claims."""


@dataclass(frozen=True)
class UnverifiedJWT:
    """A compact JWS split into its parts; nothing about it is trusted yet."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str | None:
        value = self.header.get("alg")
        return value if isinstance(value, str) else None

    @property
    def kid(self) -> str | None:
        value = self.header.get("kid")
        return value if isinstance(value, str) else None

    def string_claim(self, name: str) -> str | None:
        value = self.claims.get(name)
        return value if isinstance(value, str) else None

    def number_claim(self, name: str) -> float | None:
        """A NumericDate claim (int or float, never a bool or a string), or ``None``."""
        value = self.claims.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)


def b64url_decode(segment: str) -> bytes:
    """base64url without padding (RFC 7515 §2), strictly."""
    if not _B64URL.match(segment) or len(segment) % 4 == 1:
        raise MalformedJWT("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedJWT("not base64url") from exc


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedJWT("not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedJWT("not a JSON object")
    return value


def parse_jwt(token: str) -> UnverifiedJWT:
    """Split a compact JWS (RFC 7515 §7.1) without checking anything but its shape."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise MalformedJWT("a JWT has three dot-separated parts")
    header = _json_object(parts[0])
    claims = _json_object(parts[1])
    signature = b64url_decode(parts[2])
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return UnverifiedJWT(token.strip(), header, claims, signing_input, signature)


def verify_hs256(token: UnverifiedJWT, secret: str) -> bool:
    """True when ``token`` is HS256 and its MAC matches ``secret`` (UTF-8 bytes)."""
    if token.alg != "HS256":
        return False
    expected = hmac.new(secret.encode("utf-8"), token.signing_input, hashlib.sha256).digest()
    return hmac.compare_digest(expected, token.signature)


def verify_signature(token: UnverifiedJWT, key: PublicKey, algorithms: tuple[str, ...]) -> bool:
    """True when ``token`` is signed with one of ``algorithms`` by ``key`` (checked by PyJWT)."""
    if token.alg not in algorithms:
        return False
    try:
        jwt.PyJWS().decode_complete(token.token, key=key, algorithms=list(algorithms))
    except jwt.PyJWTError:
        return False
    except (ValueError, TypeError):
        return False
    return True


def algorithms_for(key: PublicKey) -> tuple[str, ...]:
    """The JWS algorithms a public key may verify (RSA: RS*/PS*; EC: the curve's ES*)."""
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_ALGORITHMS
    return EC_ALGORITHMS.get(key.curve.name, ())


def audience_matches(aud: Any, expected: str) -> bool:
    """RFC 7519 §4.1.3: ``aud`` is the expected string or an array containing it."""
    if isinstance(aud, str):
        return aud == expected
    if isinstance(aud, list):
        return expected in aud
    return False


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key of an RSA or EC JWK (private members, if any, are dropped)."""
    try:
        loaded = jwt.PyJWK(dict(jwk)).key
    except jwt.PyJWTError as exc:
        raise ValueError(f"public_jwk is not a usable RSA or EC JWK: {type(exc).__name__}") from exc
    if isinstance(loaded, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return loaded.public_key()
    if isinstance(loaded, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        return loaded
    raise ValueError("public_jwk must be an RSA or EC key")


def rsa_public_key_from_pem(pem: str) -> rsa.RSAPublicKey:
    """The public half of an RSA private key in PEM (PKCS#1 or PKCS#8, unencrypted)."""
    try:
        private = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("private_key is not an unencrypted PEM private key") from exc
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError("private_key must be an RSA key")
    return private.public_key()


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs1_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#1 PEM (the traditional "RSA" PEM form), the format of CLMS service keys."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def sign_rs256(claims: Mapping[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    """A JWT the server itself issues (Climate Engine access tokens, id tokens)."""
    return jwt.encode(dict(claims), key, algorithm="RS256", headers={"typ": "JWT", "kid": kid})


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK of the server's signing key (for its JWKS document)."""
    numbers = key.public_key().public_numbers()

    def encode_int(value: int) -> str:
        return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": encode_int(numbers.n),
        "e": encode_int(numbers.e),
    }
