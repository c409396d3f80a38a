"""Loading a group's key (JWK, JWKS, PEM, service key file) and checking its publicJwk."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vectorcheck.document import JsonObject
from vectorcheck.encoding import b64url_decode
from vectorcheck.errors import VectorError
from vectorcheck.spec_paths import SPEC_DIR

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
# RFC 7518 section 6.2.1.1: the JWK "crv" names.
_JWK_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}


@dataclass
class LoadedKey:
    """A group key, in the forms the signature checks need."""

    kty: str
    secret: bytes | None = None
    private: PrivateKey | None = None
    public: PublicKey | None = None


def _b64url_uint(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise VectorError("key", f"JWK member {name!r} is missing or not a string")
    try:
        return int.from_bytes(b64url_decode(value), "big")
    except ValueError as exc:
        raise VectorError("key", f"JWK member {name!r}: {exc}") from exc


def _rsa_private_from_jwk(jwk: JsonObject) -> rsa.RSAPrivateKey:
    n = _b64url_uint(jwk.get("n"), "n")
    e = _b64url_uint(jwk.get("e"), "e")
    d = _b64url_uint(jwk.get("d"), "d")
    if all(name in jwk for name in ("p", "q", "dp", "dq", "qi")):
        p, q = _b64url_uint(jwk["p"], "p"), _b64url_uint(jwk["q"], "q")
        dp, dq = _b64url_uint(jwk["dp"], "dp"), _b64url_uint(jwk["dq"], "dq")
        qi = _b64url_uint(jwk["qi"], "qi")
    else:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
        dp, dq, qi = (
            rsa.rsa_crt_dmp1(d, p),
            rsa.rsa_crt_dmq1(d, q),
            rsa.rsa_crt_iqmp(p, q),
        )
    numbers = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, rsa.RSAPublicNumbers(e, n))
    try:
        return numbers.private_key()
    except ValueError as exc:
        raise VectorError("key", f"inconsistent RSA JWK: {exc}") from exc


def _jwk_curve(jwk: JsonObject) -> ec.EllipticCurve:
    crv = jwk.get("crv")
    if not isinstance(crv, str) or crv not in _JWK_CURVES:
        raise VectorError("key", f"unsupported EC curve {crv!r}")
    return _JWK_CURVES[crv]()


def key_from_jwk(jwk: JsonObject) -> LoadedKey:
    """Load an oct, RSA or EC JWK; the private members of RSA and EC keys are optional."""
    kty = jwk.get("kty")
    if kty == "oct":
        try:
            return LoadedKey(kty="oct", secret=b64url_decode(str(jwk["k"])))
        except (KeyError, ValueError) as exc:
            raise VectorError("key", f"oct JWK member 'k': {exc}") from exc
    if kty == "RSA":
        if "d" in jwk:
            private_rsa = _rsa_private_from_jwk(jwk)
            return LoadedKey(kty="RSA", private=private_rsa, public=private_rsa.public_key())
        e, n = _b64url_uint(jwk.get("e"), "e"), _b64url_uint(jwk.get("n"), "n")
        return LoadedKey(kty="RSA", public=rsa.RSAPublicNumbers(e, n).public_key())
    if kty == "EC":
        x, y = _b64url_uint(jwk.get("x"), "x"), _b64url_uint(jwk.get("y"), "y")
        point = ec.EllipticCurvePublicNumbers(x, y, _jwk_curve(jwk))
        try:
            if "d" in jwk:
                d = _b64url_uint(jwk["d"], "d")
                private_ec = ec.EllipticCurvePrivateNumbers(d, point).private_key()
                return LoadedKey(kty="EC", private=private_ec, public=private_ec.public_key())
            return LoadedKey(kty="EC", public=point.public_key())
        except ValueError as exc:
            raise VectorError("key", f"invalid EC JWK: {exc}") from exc
    raise VectorError("key", f"unsupported JWK kty {kty!r}")


def _key_from_pem(data: bytes, passphrase: str | None) -> LoadedKey:
    password = passphrase.encode("utf-8") if passphrase is not None else None
    try:
        private = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as private_error:
        try:
            public = serialization.load_pem_public_key(data)
        except ValueError:
            raise VectorError("key", f"cannot load the PEM key: {private_error}") from None
        if isinstance(public, rsa.RSAPublicKey):
            return LoadedKey(kty="RSA", public=public)
        if isinstance(public, ec.EllipticCurvePublicKey):
            return LoadedKey(kty="EC", public=public)
        raise VectorError("key", "the PEM public key is neither RSA nor EC") from None
    if isinstance(private, rsa.RSAPrivateKey):
        return LoadedKey(kty="RSA", private=private, public=private.public_key())
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return LoadedKey(kty="EC", private=private, public=private.public_key())
    raise VectorError("key", "the PEM private key is neither RSA nor EC")


def _key_from_json_file(document: Any, kid: str | None, passphrase: str | None) -> LoadedKey:
    """A JWK, a JWKS (the key with kid, else the first) or a CLMS service key."""
    if not isinstance(document, dict):
        raise VectorError("key", "the key file is not a JSON object")
    if isinstance(document.get("keys"), list):
        keys = [k for k in document["keys"] if isinstance(k, dict)]
        chosen = [k for k in keys if kid is None or k.get("kid") == kid]
        if not chosen:
            raise VectorError("key", f"no key with kid {kid!r} in the JWKS")
        return key_from_jwk(chosen[0])
    if "kty" in document:
        return key_from_jwk(document)
    if isinstance(document.get("private_key"), str):
        return _key_from_pem(document["private_key"].encode("utf-8"), passphrase)
    raise VectorError("key", "the key file is neither a JWK, a JWKS nor a service key")


def _check_public_jwk(key: LoadedKey, public_jwk: Any) -> None:
    if not isinstance(public_jwk, dict):
        raise VectorError("key", "publicJwk is not an object")
    if public_jwk.get("kty") != key.kty:
        raise VectorError("key", f"publicJwk kty {public_jwk.get('kty')!r} is not {key.kty!r}")
    leaked = [n for n in ("d", "p", "q", "dp", "dq", "qi", "k") if n in public_jwk]
    if leaked:
        raise VectorError("key", f"publicJwk holds private members {leaked}")
    if isinstance(key.public, rsa.RSAPublicKey):
        numbers = key.public.public_numbers()
        n, e = (
            _b64url_uint(public_jwk.get("n"), "n"),
            _b64url_uint(public_jwk.get("e"), "e"),
        )
        if (n, e) != (numbers.n, numbers.e):
            raise VectorError("key", "publicJwk n/e do not match the key")
    elif isinstance(key.public, ec.EllipticCurvePublicKey):
        point = key.public.public_numbers()
        curve = _jwk_curve(public_jwk)
        x, y = (
            _b64url_uint(public_jwk.get("x"), "x"),
            _b64url_uint(public_jwk.get("y"), "y"),
        )
        if curve.name != point.curve.name or (x, y) != (point.x, point.y):
            raise VectorError("key", "publicJwk crv/x/y do not match the key")
    else:
        raise VectorError("key", "publicJwk given for a key without a public part")


def load_group_key(spec: Any, spec_dir: Path = SPEC_DIR) -> LoadedKey:
    """Load a group key: {"kty", "jwk"} or {"kty", "file", "publicJwk"?, "kid"?}.

    A file path is relative to spec_dir. For kty oct the file's raw bytes are the
    HMAC key; for RSA and EC the file is a PEM key, a JWK, a JWKS or a service key.
    """
    if not isinstance(spec, dict):
        raise VectorError("key", "the group key is not an object")
    kty = spec.get("kty")
    if kty not in ("RSA", "EC", "oct"):
        raise VectorError("key", f"the group key kty {kty!r} is not RSA, EC or oct")
    if isinstance(spec.get("jwk"), dict):
        key = key_from_jwk(spec["jwk"])
    elif isinstance(spec.get("file"), str):
        path = (spec_dir / spec["file"]).resolve()
        if spec_dir.resolve() not in path.parents:
            raise VectorError("key", f"key file {spec['file']!r} is outside spec/")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise VectorError("key", f"cannot read key file {spec['file']!r}: {exc}") from exc
        kid = spec["kid"] if isinstance(spec.get("kid"), str) else None
        passphrase = spec["passphrase"] if isinstance(spec.get("passphrase"), str) else None
        if kty == "oct":
            key = LoadedKey(kty="oct", secret=data)
        elif path.suffix == ".json":
            try:
                document = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise VectorError("key", f"the key file is not JSON: {exc}") from exc
            key = _key_from_json_file(document, kid, passphrase)
        else:
            key = _key_from_pem(data, passphrase)
    else:
        raise VectorError("key", "the group key has neither a 'jwk' object nor a 'file'")
    if key.kty != kty:
        raise VectorError("key", f"the group key says kty {kty!r} but the key is {key.kty!r}")
    if "publicJwk" in spec:
        _check_public_jwk(key, spec["publicJwk"])
    return key
