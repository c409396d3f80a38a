"""Independent checks for the key tests: signatures verified with cryptography, keys compared as DER."""

from __future__ import annotations

import hashlib

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from m2mauth import Key

RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
HMAC_ALGS = ("HS256", "HS384", "HS512")
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
HASHLIB = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
DATA = b"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJtMm1hdXRoIn0"


def same_public(a: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, key: Key) -> bool:
    """True when the m2mauth key has exactly this public key (compared as SubjectPublicKeyInfo DER)."""
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    jwk = key.public_jwk()
    if jwk["kty"] == "RSA":
        theirs = rsa.RSAPublicNumbers(
            int.from_bytes(jwt.utils.base64url_decode(jwk["e"]), "big"),
            int.from_bytes(jwt.utils.base64url_decode(jwk["n"]), "big"),
        ).public_key()
    else:
        theirs = ec.EllipticCurvePublicNumbers(
            int.from_bytes(jwt.utils.base64url_decode(jwk["x"]), "big"),
            int.from_bytes(jwt.utils.base64url_decode(jwk["y"]), "big"),
            ec.SECP256R1(),
        ).public_key()
    return a.public_bytes(*der) == theirs.public_bytes(*der)


def verify_rsa(public: rsa.RSAPublicKey, signature: bytes, alg: str) -> None:
    h = HASHES[alg[2:]]()
    pad: padding.AsymmetricPadding
    if alg.startswith("PS"):
        pad = padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
    else:
        pad = padding.PKCS1v15()
    public.verify(signature, DATA, pad, h)


def verify_es256(public: ec.EllipticCurvePublicKey, signature: bytes) -> None:
    assert len(signature) == 64, "ES256 signatures are raw r||s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public.verify(der, DATA, ec.ECDSA(hashes.SHA256()))
