"""Checking a JWS signature (HS*, RS*, PS*, ES*) against a group key, RFC 7518 section 3."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from vectorcheck.encoding import b64url_encode
from vectorcheck.errors import VectorError
from vectorcheck.keys import LoadedKey

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_HASHLIB_NAMES = {"256": "sha256", "384": "sha384", "512": "sha512"}
# RFC 7518 section 3.4: the curve that goes with each ECDSA algorithm.
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


def alg_fits_kty(alg: str, kty: str) -> bool:
    """RFC 7518 section 3.1: HS* need oct keys, RS* and PS* RSA keys, ES* EC keys."""
    if alg.startswith("HS"):
        return kty == "oct"
    if alg.startswith(("RS", "PS")):
        return kty == "RSA"
    if alg.startswith("ES"):
        return kty == "EC"
    return False


def check_signature(alg: str, key: LoadedKey, signing_input: bytes, signature: bytes, reproducible: bool) -> None:
    """Raise VectorError("signature", ...) unless signature is right for signing_input."""
    family, size = alg[:2], alg[2:]
    if family not in ("HS", "RS", "PS", "ES") or size not in _HASHES:
        raise VectorError("signature", f"unsupported alg {alg!r}")
    if not alg_fits_kty(alg, key.kty):
        raise VectorError("signature", f"alg {alg} cannot be used with a {key.kty} key")
    if family == "HS":
        if key.secret is None:
            raise VectorError("signature", "no HMAC secret")
        mac = hmac.new(key.secret, signing_input, _HASHLIB_NAMES[size]).digest()
        if not hmac.compare_digest(mac, signature):
            raise VectorError(
                "signature",
                f"{alg}: the JWS carries {b64url_encode(signature)}, the HMAC is {b64url_encode(mac)}",
            )
        return
    digest = _HASHES[size]()
    if family in ("RS", "PS"):
        _check_rsa(alg, key, signing_input, signature, reproducible, digest)
    else:
        _check_ecdsa(alg, key, signing_input, signature, digest)


def _check_rsa(
    alg: str,
    key: LoadedKey,
    signing_input: bytes,
    signature: bytes,
    reproducible: bool,
    digest: hashes.HashAlgorithm,
) -> None:
    if not isinstance(key.public, rsa.RSAPublicKey):
        raise VectorError("signature", "no RSA public key")
    scheme: padding.AsymmetricPadding
    if alg.startswith("RS"):
        scheme = padding.PKCS1v15()
    else:  # RFC 7518 section 3.5: MGF1 with the same hash; salt as long as the hash
        scheme = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    try:
        key.public.verify(signature, signing_input, scheme, digest)
    except InvalidSignature:
        raise VectorError("signature", f"{alg}: the signature does not verify") from None
    if alg.startswith("RS") and reproducible:
        if not isinstance(key.private, rsa.RSAPrivateKey):
            raise VectorError("signature", f"{alg} marked reproducible but no private key")
        again = key.private.sign(signing_input, padding.PKCS1v15(), digest)
        if again != signature:
            raise VectorError(
                "signature",
                f"{alg}: re-signing gives {b64url_encode(again)}, not the JWS's",
            )


def _check_ecdsa(
    alg: str,
    key: LoadedKey,
    signing_input: bytes,
    signature: bytes,
    digest: hashes.HashAlgorithm,
) -> None:
    # RFC 7518 section 3.4: the JWS signature is R || S, each as long as the curve order.
    if not isinstance(key.public, ec.EllipticCurvePublicKey):
        raise VectorError("signature", "no EC public key")
    if key.public.curve.name != _EC_CURVES[alg]:
        raise VectorError(
            "signature",
            f"{alg} needs curve {_EC_CURVES[alg]}, the key is {key.public.curve.name}",
        )
    half = (key.public.curve.key_size + 7) // 8
    if len(signature) != 2 * half:
        raise VectorError("signature", f"{alg}: {len(signature)} octets, not {2 * half}")
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    try:
        key.public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(digest))
    except InvalidSignature:
        raise VectorError("signature", f"{alg}: the signature does not verify") from None
