"""JWKs (RFC 7517, RFC 7518 §6) to key objects and back: PyJWT converts, m2mauth checks first.

PyJWT's ``from_jwk``/``to_jwk`` do the number work. In front of them m2mauth keeps its own rules,
which PyJWT does not have:

- every member is strict base64url (PyJWT's decoder silently drops characters outside the
  alphabet, so a damaged key could load as another one);
- an empty ``k`` is refused; only P-256 and P-384 EC keys are read (m2mauth signs ES256/ES384);
- an RSA private JWK with ``p`` and ``q`` but without the CRT members (``dp``, ``dq``, ``qi``)
  still loads: they follow from p, q and d (PyJWT refuses a JWK with only some of them);
- EC coordinates written without their leading zero bytes (as some encoders do) still load;
- PyJWT sees a fresh mapping of the members it needs, never the caller's extra members, and none
  of its error texts reaches the user: they can quote the whole JWK, private ``d`` included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .base64url import b64url_decode, b64url_encode, b64url_uint
from .errors import ConfigError
from .jwa import algorithm

__all__ = ["EC_SIZES", "PrivateKey", "PublicKey", "private_members", "public_members", "read_jwk"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

#: Bytes per coordinate (and per private value) of the curves m2mauth signs with.
EC_SIZES = {"P-256": 32, "P-384": 48}
_RSA_PUBLIC = ("n", "e")
_RSA_PRIMES = ("p", "q")
_RSA_CRT = ("dp", "dq", "qi")
_MEMBERS_HINT = "An RSA JWK needs n and e (and d to sign); an EC JWK needs crv, x and y (and d); an oct JWK needs k."


def _invalid(message: str, hint: str = _MEMBERS_HINT) -> ConfigError:
    return ConfigError(message, code="invalid_key", hint=hint)


def _member(jwk: Mapping[str, Any], name: str, kty: str) -> bytes:
    """The decoded member ``name``: present, text, non-empty and strict base64url."""
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(f"the {kty} JWK has no valid '{name}' member")
    try:
        return b64url_decode(value)
    except ConfigError:
        raise ConfigError(
            f"the {kty} JWK's '{name}' member is not base64url",
            code="invalid_base64",
            hint="JWK members are base64url without padding (RFC 7518 §6): no '=', '+', '/' or spaces. "
            "Copy the JWK again, whole.",
        ) from None


def _shown(value: object) -> str:
    """A short name as given (``'P-521'``); anything else by its kind only (a JWK may be misfilled with key text)."""
    if isinstance(value, str) and len(value) <= 16 and value.isprintable():
        return repr(value)
    return f"<a {type(value).__name__}>" if not isinstance(value, str) else f"<a {len(value)}-character text>"


def _text(raw: bytes) -> str:
    # Re-encoded from the checked bytes, so PyJWT's lenient decoder only ever sees clean text.
    return b64url_encode(raw)


def _convert(alg: str, kty: str, members: dict[str, str]) -> Any:
    """PyJWT's from_jwk on checked members; any failure becomes m2mauth's invalid_key."""
    try:
        return algorithm(alg).from_jwk(members)
    except Exception:  # noqa: BLE001, S110 - PyJWT's text may quote the JWK: replaced below
        pass
    # Raised after the except block, so PyJWT's exception (and its text) is not attached as context.
    raise _invalid(
        f"the {kty} JWK is not a valid key: its members do not make one key",
        "Check that the JWK was copied whole (n, e, d, p, q, dp, dq, qi for RSA; crv, x, y, d for EC).",
    )


def _rsa(jwk: Mapping[str, Any]) -> tuple[PrivateKey | None, PublicKey]:
    if "oth" in jwk:
        raise _invalid("the RSA JWK has more than two primes ('oth')", "m2mauth reads two-prime RSA keys only.")
    members = {"kty": "RSA"}
    for name in _RSA_PUBLIC:
        members[name] = _text(_member(jwk, name, "RSA"))
    if "d" in jwk:
        members["d"] = _text(_member(jwk, "d", "RSA"))
        if all(name in jwk for name in _RSA_PRIMES):
            for name in _RSA_PRIMES + _RSA_CRT:
                if name in jwk:
                    members[name] = _text(_member(jwk, name, "RSA"))
            missing = [name for name in _RSA_CRT if name not in members]
            if missing:  # PyJWT wants all CRT members or none: derive the missing ones from p, q and d
                d, p, q = (int.from_bytes(b64url_decode(members[n]), "big") for n in ("d", "p", "q"))
                try:
                    crt = {"dp": rsa.rsa_crt_dmp1(d, p), "dq": rsa.rsa_crt_dmq1(d, q), "qi": rsa.rsa_crt_iqmp(p, q)}
                except (ValueError, ArithmeticError):
                    raise _invalid("the RSA JWK's p, q and d do not make a key") from None
                members.update({name: b64url_uint(crt[name]) for name in missing})
        # else: only n, e and d go to PyJWT, which recovers p and q (RFC 7518 §6.3.2 lets a JWK omit them)
    key = _convert("RS256", "RSA", members)
    if isinstance(key, rsa.RSAPrivateKey):
        return key, key.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return None, key
    raise _invalid("the RSA JWK did not give an RSA key")


def _ec(jwk: Mapping[str, Any]) -> tuple[PrivateKey | None, PublicKey]:
    crv = jwk.get("crv")
    if not isinstance(crv, str) or crv not in EC_SIZES:
        raise _invalid(f"unsupported EC curve {_shown(crv)}", "Use P-256 (ES256) or P-384 (ES384).")
    size = EC_SIZES[crv]
    members = {"kty": "EC", "crv": crv}
    for name in ("x", "y", "d") if "d" in jwk else ("x", "y"):
        raw = _member(jwk, name, "EC")
        if len(raw) > size:
            raise _invalid(f"the EC JWK's '{name}' is longer than {size} bytes, the size of {crv}")
        members[name] = _text(raw.rjust(size, b"\0"))  # leading zero bytes put back (RFC 7518 §6.2.1.2)
    key = _convert("ES256" if crv == "P-256" else "ES384", "EC", members)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, key.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return None, key
    raise _invalid("the EC JWK did not give an EC key")


def _oct(jwk: Mapping[str, Any]) -> bytes:
    if not isinstance(jwk.get("k"), str):
        raise _invalid("the oct JWK has no 'k'")
    if not jwk["k"]:
        raise _invalid("the oct JWK's 'k' is empty", "A shared secret has at least one byte: check the JWK's k.")
    secret = _convert("HS256", "oct", {"kty": "oct", "k": _text(_member(jwk, "k", "oct"))})
    if not isinstance(secret, bytes) or not secret:
        raise _invalid("the oct JWK's 'k' is empty", "A shared secret has at least one byte: check the JWK's k.")
    return secret


def read_jwk(jwk: Mapping[str, Any]) -> tuple[str, PrivateKey | None, PublicKey | None, bytes | None]:
    """The key in a JWK: (kty, private key, public key, secret), after m2mauth's checks."""
    kty = jwk.get("kty")
    if kty == "RSA":
        return ("RSA", *_rsa(jwk), None)
    if kty == "EC":
        return ("EC", *_ec(jwk), None)
    if kty == "oct":
        return "oct", None, None, _oct(jwk)
    raise _invalid(
        f"unsupported JWK key type {_shown(kty)}",
        "m2mauth reads RSA, EC (P-256, P-384) and oct JWKs.",
    )


def _pyjwt_jwk(alg: str, key: Any) -> dict[str, Any]:
    try:
        exported = json.loads(algorithm(alg).to_jwk(key))
    except Exception as exc:  # noqa: BLE001 - a failure here is m2mauth's bug, not the user's input
        reason = type(exc).__name__
    else:
        if isinstance(exported, dict):
            return exported
        reason = type(exported).__name__
    raise ConfigError(f"the key could not be written as a JWK ({reason})", code="internal_error")


def public_members(public: PublicKey) -> dict[str, str]:
    """PyJWT's public JWK members of an RSA (n, e) or EC (crv, x, y) key, without key_ops."""
    if isinstance(public, rsa.RSAPublicKey):
        exported = _pyjwt_jwk("RS256", public)
        return {name: str(exported[name]) for name in ("kty", "n", "e")}
    exported = _pyjwt_jwk("ES256", public)
    return {name: str(exported[name]) for name in ("kty", "crv", "x", "y")}


def private_members(private: PrivateKey) -> dict[str, str]:
    """PyJWT's private JWK members (RSA: n, e, d, p, q, dp, dq, qi; EC: crv, x, y, d), without key_ops."""
    exported = _pyjwt_jwk("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256", private)
    return {name: str(value) for name, value in exported.items() if name != "key_ops"}
