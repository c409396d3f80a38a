#!/usr/bin/env python3
"""Independent checker for m2mauth's test vectors (spec/vectors/**/*.json).

This script never imports m2mauth. It uses the Python standard library and the
``cryptography`` package only; when ``jsonschema`` is importable it also validates
every file against ``spec/schema/vectors.schema.json``.

Usage::

    python spec/verify/verify_vectors.py [PATH ...]

A PATH may be a file or a folder (searched for ``*.json``); without PATH every
``*.json`` below ``spec/vectors`` is checked. The script prints one line per file
(the failure details go to stderr), then a final line ``verify: N passed, N failed``
counting files. It exits non-zero when a file fails or when there is no file at all.

Every failure message names the stage that diverged:

``schema``        the file does not validate against vectors.schema.json;
``lint``          duplicate tcId, wrong numberOfTests, undeclared flag,
                  non-canonical formatting, result and error_code disagree;
``key``           the group key cannot be loaded or disagrees with its kty/publicJwk;
``intermediate``  base64url(header) "." base64url(claims) is not signingInput,
                  or the header's alg is not input.alg;
``jws``           expected.jws is not a compact JWS over the signing input;
``signature``     the signature does not verify, or re-signing gives other bytes;
``tokenRequest``  the token request does not follow spec/CONVENTIONS.md;
``error_code``    an invalid test's error_code is not confirmed by its rule.

A ``jws`` in any test, whatever its result, must carry a correct signature: the
vectors describe what a signer produces, never a deliberately broken token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

SPEC_DIR = Path(__file__).resolve().parent.parent
VECTORS_DIR = SPEC_DIR / "vectors"
VECTORS_SCHEMA = "vectors.schema.json"

ACCEPT_JSON = ("Accept", "application/json")
CONTENT_TYPE_FORM = ("Content-Type", "application/x-www-form-urlencoded")
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_BEARER_CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KNOWN_ERROR_CODES = (
    "key_algorithm_mismatch",
    "lifetime_exceeded",
    "audience_mismatch",
    "missing_claim",
    "missing_credential",
    "password_login_retired",
    "invalid_credential",
    "subject_token_expired",
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
JsonObject = dict[str, Any]

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_HASHLIB_NAMES = {"256": "sha256", "384": "sha384", "512": "sha512"}
# RFC 7518 section 3.4: the curve that goes with each ECDSA algorithm.
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
# RFC 7518 section 6.2.1.1: the JWK "crv" names.
_JWK_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}
_FORM_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class VectorError(Exception):
    """A check that failed; carries the stage it belongs to."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"[{stage}] {message}")
        self.stage = stage
        self.message = message


@dataclass
class LoadedKey:
    """A group key, in the forms the signature checks need."""

    kty: str
    secret: bytes | None = None
    private: PrivateKey | None = None
    public: PublicKey | None = None


# --------------------------------------------------------------------------- encodings


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


# --------------------------------------------------------------------------- JSON access


def _obj(value: Any) -> JsonObject:
    """value when it is a JSON object, else an empty one (the schema stage reports shapes)."""
    return value if isinstance(value, dict) else {}


def _json_object(text: Any) -> JsonObject | None:
    """The JSON object a text holds, or None."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _groups_of(document: Any) -> list[JsonObject]:
    groups = _obj(document).get("testGroups")
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def _tests_in(group: JsonObject) -> list[JsonObject]:
    tests = group.get("tests")
    return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []


def _tests_of(document: Any) -> list[JsonObject]:
    return [test for group in _groups_of(document) for test in _tests_in(group)]


def _setting(test: JsonObject, group: JsonObject, name: str) -> Any:
    """input.<name>, falling back to the group's client.<name>."""
    test_input = _obj(test.get("input"))
    if name in test_input:
        return test_input[name]
    return _obj(group.get("client")).get(name)


def _claims_of(test: JsonObject) -> JsonObject | None:
    intermediate = _obj(test.get("intermediate"))
    if "claims" in intermediate:
        return _json_object(intermediate["claims"])
    claims = _obj(test.get("input")).get("claims")
    return claims if isinstance(claims, dict) else None


def _alg_of(test: JsonObject) -> str | None:
    """input.alg, else the alg of the header text, else the alg of the JWS header."""
    given = _obj(test.get("input")).get("alg")
    if isinstance(given, str):
        return given
    header = _json_object(_obj(test.get("intermediate")).get("header"))
    if header is None:
        jws = _obj(test.get("expected")).get("jws")
        if isinstance(jws, str) and jws.count(".") == 2:
            try:
                header = _json_object(b64url_decode(jws.split(".")[0]).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                header = None
    if header is not None and isinstance(header.get("alg"), str):
        return str(header["alg"])
    return None


# --------------------------------------------------------------------------- keys


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


# --------------------------------------------------------------------------- signatures


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


# --------------------------------------------------------------------------- per-test stages


@dataclass
class GroupContext:
    """What the checks of one test need from its group."""

    group: JsonObject
    key: LoadedKey | None
    key_error: VectorError | None

    @property
    def type(self) -> str:
        return str(self.group.get("type", ""))


def check_intermediate(test: JsonObject, ctx: GroupContext) -> None:
    """Stage b: base64url(UTF-8 header) "." base64url(UTF-8 claims) == signingInput."""
    intermediate = _obj(test.get("intermediate"))
    header, claims = intermediate.get("header"), intermediate.get("claims")
    signing_input = intermediate.get("signingInput")
    if isinstance(header, str) and isinstance(claims, str) and isinstance(signing_input, str):
        want_header = b64url_encode(header.encode("utf-8"))
        want_claims = b64url_encode(claims.encode("utf-8"))
        got_header, _, got_claims = signing_input.partition(".")
        wrong = [
            part
            for part, ok in (
                ("header", got_header == want_header),
                ("claims", got_claims == want_claims),
            )
            if not ok
        ]
        if wrong:
            raise VectorError(
                "intermediate",
                f"signingInput does not encode the {' and '.join(wrong)} text: expected "
                f"{want_header}.{want_claims}, found {signing_input}",
            )
    header_json = _json_object(header)
    given_alg = _obj(test.get("input")).get("alg")
    header_alg = header_json.get("alg", given_alg) if header_json is not None else given_alg
    if isinstance(given_alg, str) and header_alg != given_alg:
        raise VectorError("intermediate", f"header alg {header_alg!r} is not input.alg {given_alg!r}")


def check_jws(test: JsonObject, ctx: GroupContext) -> None:
    """Stages c and d: expected.jws extends the signing input, and its signature is right."""
    expected = _obj(test.get("expected"))
    jws = expected.get("jws")
    if jws is None:
        if ctx.type == "JwsTest" and test.get("result") != "invalid":
            raise VectorError("jws", "a JwsTest that is not invalid needs expected.jws")
        return
    if not isinstance(jws, str):
        raise VectorError("jws", "expected.jws is not a string")
    parts = jws.split(".")
    if len(parts) != 3:
        raise VectorError("jws", f"expected.jws has {len(parts)} parts, not 3")
    for name, part in zip(("header", "payload", "signature"), parts, strict=True):
        try:
            b64url_decode(part)
        except ValueError as exc:
            raise VectorError("jws", f"the {name} part of expected.jws: {exc}") from exc
    signing_input = _obj(test.get("intermediate")).get("signingInput")
    if isinstance(signing_input, str):
        if not jws.startswith(signing_input + "."):
            raise VectorError("jws", "expected.jws does not begin with signingInput + '.'")
    else:
        signing_input = f"{parts[0]}.{parts[1]}"
    alg = _alg_of(test)
    if alg is None:
        raise VectorError("signature", "no alg in input.alg or in the header")
    if ctx.key is None:
        if ctx.key_error is not None:
            raise VectorError(
                "signature",
                f"not checked: the group key failed ({ctx.key_error.message})",
            )
        raise VectorError("signature", "expected.jws is given but the group has no key")
    reproducible = expected.get("reproducible") is True
    check_signature(
        alg,
        ctx.key,
        signing_input.encode("ascii"),
        b64url_decode(parts[2]),
        reproducible,
    )


def _pairs(value: Any, what: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise VectorError("tokenRequest", f"{what} is not a list of [name, value] pairs")
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise VectorError("tokenRequest", f"{what} entry {item!r} is not a [name, value] pair")
        pairs.append((item[0], item[1]))
    return pairs


def check_token_request(test: JsonObject, ctx: GroupContext) -> None:
    """Stage e: the token request is what spec/CONVENTIONS.md says, byte for byte."""
    expected = _obj(test.get("expected"))
    request = expected.get("tokenRequest")
    if request is None:
        if ctx.type == "TokenRequestTest" and test.get("result") != "invalid":
            raise VectorError("tokenRequest", "a TokenRequestTest that is not invalid needs one")
        return
    if not isinstance(request, dict):
        raise VectorError("tokenRequest", "expected.tokenRequest is not an object")
    method, url, body = (
        request.get("method"),
        request.get("url"),
        request.get("body", ""),
    )
    headers = _pairs(request.get("headers"), "headers")
    form = _pairs(request.get("form"), "form")
    if not isinstance(url, str) or not isinstance(body, str):
        raise VectorError("tokenRequest", "url and body must be strings")
    encoding = request.get("encoding", "form")
    encoded = form_encode(form)
    if method == "POST" and encoding != "form":
        _check_login_request(encoding, headers, form, body, test, ctx)
        return
    if method == "POST":
        if body != encoded:
            raise VectorError(
                "tokenRequest",
                f"body is not the encoding of form: expected {encoded!r}, found {body!r}",
            )
        if headers[:2] != [ACCEPT_JSON, CONTENT_TYPE_FORM]:
            raise VectorError(
                "tokenRequest",
                f"POST headers must begin with {[ACCEPT_JSON, CONTENT_TYPE_FORM]}, found {headers[:2]}",
            )
        rest = [name for name, _ in headers[2:]]
        if rest not in ([], ["Authorization"]):
            raise VectorError(
                "tokenRequest",
                f"after Content-Type only Authorization may follow, found {rest}",
            )
    elif method == "GET":
        if body != "":
            raise VectorError("tokenRequest", "a GET request with a non-empty body")
        if headers != [ACCEPT_JSON]:
            raise VectorError(
                "tokenRequest",
                f"GET headers must be exactly [{ACCEPT_JSON}], found {headers}",
            )
        query = urlsplit(url).query
        if query != encoded:
            raise VectorError(
                "tokenRequest",
                f"the query is not the encoding of form: expected {encoded!r}, found {query!r}",
            )
    else:
        raise VectorError("tokenRequest", f"method {method!r} is neither GET nor POST")
    _check_assertions(dict(form), expected.get("jws"))
    for name, value in headers:
        if name == "Authorization" and value.startswith("Basic "):
            _check_basic(value, test, ctx)


def _check_login_request(
    encoding: Any,
    headers: list[tuple[str, str]],
    form: list[tuple[str, str]],
    body: str,
    test: JsonObject,
    ctx: GroupContext,
) -> None:
    """A provider's own login (spec/README.md, "Request shapes"): a JSON object of the fields, or
    HTTP Basic username:password (RFC 7617, UTF-8, nothing percent-encoded) and no body."""
    if encoding == "json":
        want = json.dumps(dict(form), separators=(",", ":"), ensure_ascii=True)
        if body != want:
            raise VectorError("tokenRequest", f"body is not the JSON object of form: expected {want!r}, found {body!r}")
        if headers != [ACCEPT_JSON, ("Content-Type", "application/json")]:
            raise VectorError(
                "tokenRequest", f"JSON login headers must be Accept and Content-Type JSON, found {headers}"
            )
        return
    if encoding != "none":
        raise VectorError("tokenRequest", f"unknown encoding {encoding!r}")
    if body != "" or form:
        raise VectorError("tokenRequest", "encoding none: no body and no form")
    username = _setting(test, ctx.group, "username")
    password = _setting(test, ctx.group, "password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise VectorError("tokenRequest", "Basic login but no input.username/password")
    want_auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    if headers != [ACCEPT_JSON, ("Authorization", want_auth)]:
        raise VectorError("tokenRequest", f"Basic login headers should be Accept and {want_auth!r}, found {headers}")


def _check_assertions(form: dict[str, str], jws: Any) -> None:
    for field in ("assertion", "client_assertion"):
        if field in form and form[field] != jws:
            raise VectorError("tokenRequest", f"form {field} is not expected.jws")
    # RFC 7523 sections 2.1 and 2.2: the parameter that goes with each kind of assertion.
    if "assertion" in form and form.get("grant_type") != JWT_BEARER_GRANT:
        raise VectorError("tokenRequest", f"assertion without grant_type {JWT_BEARER_GRANT}")
    if "client_assertion" in form and form.get("client_assertion_type") != JWT_BEARER_CLIENT_ASSERTION:
        raise VectorError(
            "tokenRequest",
            f"client_assertion without client_assertion_type {JWT_BEARER_CLIENT_ASSERTION}",
        )


def _check_basic(value: str, test: JsonObject, ctx: GroupContext) -> None:
    client_id = _setting(test, ctx.group, "client_id")
    client_secret = _setting(test, ctx.group, "client_secret")
    encoding = _setting(test, ctx.group, "basic_encoding") or "rfc"
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise VectorError("tokenRequest", "Basic authorization but no input.client_id/client_secret")
    try:
        want = basic_authorization(client_id, client_secret, str(encoding))
    except ValueError as exc:
        raise VectorError("tokenRequest", str(exc)) from exc
    if value != want:
        raise VectorError(
            "tokenRequest",
            f"Authorization ({encoding}) should be {want!r}, found {value!r}",
        )


def check_error_code(test: JsonObject, ctx: GroupContext) -> None:
    """Stage f: an invalid test's error_code must be confirmed by its independent rule."""
    if test.get("result") != "invalid":
        return
    code = test.get("error_code")
    rule = _ERROR_RULES.get(code) if isinstance(code, str) else None
    if rule is None:
        raise VectorError(
            "error_code",
            f"unknown error_code {code!r} (known: {', '.join(KNOWN_ERROR_CODES)})",
        )
    rule(test, ctx)


def _rule_key_algorithm_mismatch(test: JsonObject, ctx: GroupContext) -> None:
    alg, kty = _alg_of(test), _obj(ctx.group.get("key")).get("kty")
    if alg is None or not isinstance(kty, str):
        raise VectorError("error_code", "key_algorithm_mismatch needs input.alg and a group key kty")
    if alg_fits_kty(alg, kty):
        raise VectorError("error_code", f"key_algorithm_mismatch, but {alg} fits a {kty} key")


def _rule_lifetime_exceeded(test: JsonObject, ctx: GroupContext) -> None:
    claims, limit = _claims_of(test), _setting(test, ctx.group, "max_lifetime")
    if claims is None or not isinstance(limit, int):
        raise VectorError("error_code", "lifetime_exceeded needs claims and input.max_lifetime")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise VectorError("error_code", "lifetime_exceeded needs integer exp and iat claims")
    if exp - iat <= limit:
        raise VectorError("error_code", f"lifetime_exceeded, but exp - iat = {exp - iat} <= {limit}")


def _rule_audience_mismatch(test: JsonObject, ctx: GroupContext) -> None:
    claims, token_url = _claims_of(test), _setting(test, ctx.group, "token_url")
    if claims is None or "aud" not in claims or not isinstance(token_url, str):
        raise VectorError("error_code", "audience_mismatch needs an aud claim and input.token_url")
    aud = claims["aud"]
    if aud == token_url or (isinstance(aud, list) and token_url in aud):
        raise VectorError("error_code", f"audience_mismatch, but aud {aud!r} names {token_url!r}")


def _rule_missing_claim(test: JsonObject, ctx: GroupContext) -> None:
    claims, required = _claims_of(test), _setting(test, ctx.group, "required_claims")
    if claims is None or not isinstance(required, list):
        raise VectorError("error_code", "missing_claim needs claims and input.required_claims")
    if all(name in claims for name in required):
        raise VectorError("error_code", f"missing_claim, but all of {required} are present")


def _rule_password_login_retired(test: JsonObject, ctx: GroupContext) -> None:
    # usgs-m2m: the password login is gone; a password in the input is what gets it refused.
    test_input = _obj(test.get("input"))
    if test_input.get("profile") != "usgs-m2m" or not test_input.get("password"):
        raise VectorError("error_code", "password_login_retired needs a usgs-m2m input with a password")


def _rule_invalid_credential(test: JsonObject, ctx: GroupContext) -> None:
    # RFC 7617 §2: the user-id of HTTP Basic cannot contain ':'.
    if ":" not in str(_obj(test.get("input")).get("username", "")):
        raise VectorError("error_code", "invalid_credential (Basic login) needs a username with ':'")


def _rule_missing_credential(test: JsonObject, ctx: GroupContext) -> None:
    test_input = _obj(test.get("input"))
    missing = test_input.get("missing")
    names = [missing] if isinstance(missing, str) else missing
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise VectorError("error_code", "missing_credential needs input.missing to name a credential")
    given = [n for n in names if test_input.get(n) not in (None, "")]
    if given:
        raise VectorError("error_code", f"missing_credential, but input gives {given}")


def _rule_subject_token_expired(test: JsonObject, ctx: GroupContext) -> None:
    """RFC 8693 token exchange: the subject token is a JWT whose exp is at or before input.now."""
    test_input = _obj(test.get("input"))
    token, now = test_input.get("subject_token"), test_input.get("now")
    parts = token.split(".") if isinstance(token, str) else []
    claims = _json_object(b64url_decode(parts[1]).decode("utf-8")) if len(parts) == 3 else None
    exp = claims.get("exp") if claims is not None else None
    if not isinstance(exp, int) or not isinstance(now, int):
        raise VectorError("error_code", "subject_token_expired needs a JWT input.subject_token with exp and input.now")
    if exp > now:
        raise VectorError("error_code", f"subject_token_expired, but exp {exp} is after now {now}")


_ERROR_RULES: dict[str, Callable[[JsonObject, GroupContext], None]] = {
    "key_algorithm_mismatch": _rule_key_algorithm_mismatch,
    "lifetime_exceeded": _rule_lifetime_exceeded,
    "audience_mismatch": _rule_audience_mismatch,
    "missing_claim": _rule_missing_claim,
    "missing_credential": _rule_missing_credential,
    "password_login_retired": _rule_password_login_retired,
    "invalid_credential": _rule_invalid_credential,
    "subject_token_expired": _rule_subject_token_expired,
}
_STAGES: tuple[Callable[[JsonObject, GroupContext], None], ...] = (
    check_intermediate,
    check_jws,
    check_token_request,
    check_error_code,
)


# --------------------------------------------------------------------------- files


def schema_failures(document: Any, schema_dir: Path) -> list[str]:
    """Validate against vectors.schema.json when jsonschema is importable; else no check."""
    try:
        jsonschema = importlib.import_module("jsonschema")
        referencing = importlib.import_module("referencing")
    except ImportError:
        return []
    schema_path = schema_dir / VECTORS_SCHEMA
    if not schema_path.is_file():
        return [f"[schema] {schema_path} not found"]
    resources = []
    for path in sorted(schema_dir.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        uri = str(contents.get("$id", path.name))
        resources.append((uri, referencing.Resource.from_contents(contents)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    failures = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        failures.append(f"[schema] {where}: {error.message}")
    return failures


def lint_failures(text: str, document: Any) -> list[str]:
    """Stage a: formatting, numberOfTests, unique tcId, declared flags, result/error_code."""
    failures: list[str] = []
    if text != canonical_text(document):
        failures.append("[lint] not in canonical formatting: json.dumps(obj, indent=2, ensure_ascii=False) + newline")
    if not isinstance(document, dict):
        return [*failures, "[lint] the top level is not an object"]
    if document.get("schema") != VECTORS_SCHEMA:
        failures.append(f"[lint] schema is {document.get('schema')!r}, not {VECTORS_SCHEMA!r}")
    tests = _tests_of(document)
    if document.get("numberOfTests") != len(tests):
        failures.append(f"[lint] numberOfTests is {document.get('numberOfTests')!r}, the file has {len(tests)} tests")
    notes = _obj(document.get("notes"))
    seen: set[Any] = set()
    for test in tests:
        tc_id = test.get("tcId")
        if tc_id in seen:
            failures.append(f"tcId {tc_id}: [lint] duplicate tcId")
        seen.add(tc_id)
        flags = test.get("flags")
        for flag in flags if isinstance(flags, list) else []:
            if flag not in notes:
                failures.append(f"tcId {tc_id}: [lint] flag {flag!r} is not declared in notes")
        result, code = test.get("result"), test.get("error_code")
        if result not in ("valid", "invalid", "acceptable"):
            failures.append(f"tcId {tc_id}: [lint] result {result!r} is not valid/invalid/acceptable")
        if result == "invalid" and not (isinstance(code, str) and code):
            failures.append(f"tcId {tc_id}: [lint] an invalid test needs an error_code")
        if result == "valid" and code is not None:
            failures.append(f"tcId {tc_id}: [lint] a valid test has error_code {code!r}")
    return failures


def verify_file(path: Path, spec_dir: Path | None = None) -> list[str]:
    """Check one vector file and return its failure messages (none when it passes).

    A message reads ``[stage] text`` for a file-wide problem, ``group N: [stage] text``
    for a group key and ``tcId N: [stage] text`` for a test. Key files and schemas are
    looked up in spec_dir (default: the spec/ folder this script lives in).
    """
    spec = SPEC_DIR if spec_dir is None else spec_dir
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"[lint] cannot read the file as UTF-8: {exc}"]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"[lint] not JSON: {exc}"]
    failures = schema_failures(document, spec / "schema") + lint_failures(text, document)
    for index, group in enumerate(_groups_of(document)):
        ctx = GroupContext(group=group, key=None, key_error=None)
        if "key" in group:
            try:
                ctx.key = load_group_key(group["key"], spec)
            except VectorError as exc:
                ctx.key_error = exc
                failures.append(f"group {index}: [{exc.stage}] {exc.message}")
        for test in _tests_in(group):
            for stage in _STAGES:
                try:
                    stage(test, ctx)
                except VectorError as exc:
                    failures.append(f"tcId {test.get('tcId')}: [{exc.stage}] {exc.message}")
    return failures


def default_paths(folder: Path = VECTORS_DIR) -> list[Path]:
    """Every *.json file below folder, sorted."""
    return sorted(p for p in folder.rglob("*.json") if p.is_file())


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(SPEC_DIR.parent))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in args):
        print(__doc__)
        return 0
    paths: list[Path] = []
    for arg in args:
        given = Path(arg)
        paths.extend(default_paths(given) if given.is_dir() else [given])
    if not args:
        paths = default_paths()
    if not paths:
        print("verify: no vector files found", file=sys.stderr)
    passed = failed = 0
    for path in paths:
        failures = verify_file(path)
        name = _display(path)
        if failures:
            failed += 1
            print(f"FAIL {name} ({len(failures)} problems)")
            for message in failures:
                print(f"  {name}: {message}", file=sys.stderr)
        else:
            passed += 1
            count = len(_tests_of(json.loads(path.read_text(encoding="utf-8"))))
            print(f"ok   {name} ({count} tests)")
    print(f"verify: {passed} passed, {failed} failed")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
