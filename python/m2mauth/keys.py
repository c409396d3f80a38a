"""Key material and the algorithms each key may sign with.

A key decides its algorithm family: an RSA key signs RS*/PS*, an EC key ES*, a shared secret
HS*. Asking an RSA key for HS256 is refused before anything is sent — that mismatch is what
makes httr2's ``jwt_encode_hmac()`` with a CLMS PEM produce a grant the server rejects.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import jwa
from .errors import ConfigError
from .jwk import PrivateKey, PublicKey, private_members, public_members, read_jwk

__all__ = [
    "Key",
    "KeyInput",
    "ServiceKey",
    "load_key",
    "load_service_key",
    "secret_key",
]

KeyInput = Union["Key", str, bytes, os.PathLike[str], Mapping[str, Any]]

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
EC_ALGORITHMS = {"P-256": ("ES256",), "P-384": ("ES384",)}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384"}
#: Member orders of the JWKs m2mauth writes (the vectors and OpenAIRE's registration page pin them):
#: the public JWK, and the private "keystore" JWK ``m2mauth keygen`` writes (mkjwk's order).
PUBLIC_JWK_MEMBERS = {"RSA": ("kty", "e", "kid", "alg", "n"), "EC": ("kty", "crv", "x", "y", "kid", "alg")}
KEYSTORE_JWK_MEMBERS = ("p", "kty", "q", "d", "e", "kid", "qi", "dp", "alg", "dq", "n")


@dataclass(frozen=True, repr=False, eq=False)
class Key:
    """A signing or verifying key. Its repr shows kind, size and kid, never the material."""

    kind: str  # "RSA", "EC" or "oct"
    kid: str | None = None
    alg: str | None = None  # the algorithm the key declares (JWK "alg"), if any
    _private: PrivateKey | None = field(default=None)
    _public: PublicKey | None = field(default=None)
    _secret: bytes | None = field(default=None)

    @property
    def curve(self) -> str | None:
        if self._public is not None and isinstance(self._public, ec.EllipticCurvePublicKey):
            return _CURVE_NAMES.get(self._public.curve.name)
        return None

    @property
    def size(self) -> int:
        if self._public is not None:
            return self._public.key_size
        return len(self._secret or b"") * 8

    @property
    def is_private(self) -> bool:
        return self._private is not None or self._secret is not None

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Every JWS algorithm this key may sign or verify with."""
        if self.kind == "RSA":
            return RSA_ALGORITHMS
        if self.kind == "EC":
            return EC_ALGORITHMS.get(self.curve or "", ())
        return HMAC_ALGORITHMS

    @property
    def default_algorithm(self) -> str:
        if self.alg and self.alg in self.algorithms:
            return self.alg
        return {"RSA": "RS256", "oct": "HS256"}.get(self.kind) or self.algorithms[0]

    def check_algorithm(self, alg: str) -> None:
        """Raise ``key_algorithm_mismatch`` unless this key may sign with ``alg``."""
        if alg in self.algorithms:
            return
        raise ConfigError(
            f"this {self.describe()} cannot sign {alg}; it signs {', '.join(self.algorithms) or 'nothing'}",
            code="key_algorithm_mismatch",
            hint=_mismatch_hint(self.kind, alg),
        )

    def describe(self) -> str:
        if self.kind == "RSA":
            return f"RSA {self.size}-bit {'private' if self.is_private else 'public'} key"
        if self.kind == "EC":
            return f"EC {self.curve} {'private' if self.is_private else 'public'} key"
        return "shared secret (HMAC key)"

    def sign(self, data: bytes, alg: str) -> bytes:
        """The JWS signature of ``data`` (PyJWT computes it; raw r||s for ES*), after the family check.

        The check comes first and is m2mauth's own: PyJWT's HMAC signs with any bytes, an RSA
        PEM included, and its ES256 object signs with a P-384 key (only its prepare_key checks curves).
        """
        self.check_algorithm(alg)
        if self.kind == "oct":
            return jwa.sign(alg, data, self._secret)
        if self._private is None:
            raise ConfigError(
                f"this {self.describe()} cannot sign",
                code="public_key_only",
                hint="Give the private key (PEM or JWK with 'd'), not the public one.",
            )
        return jwa.sign(alg, data, self._private)

    def verify(self, data: bytes, signature: bytes, alg: str) -> bool:
        """True when ``signature`` over ``data`` is valid for ``alg`` with this key."""
        if alg not in self.algorithms:
            return False
        return jwa.verify(alg, data, signature, self._secret if self.kind == "oct" else self._public)

    def public_jwk(self) -> dict[str, str]:
        """The public JWK, members in the order OpenAIRE's registration shows (kty, e, kid, alg, n)."""
        if self._public is None:
            raise ConfigError(
                "a shared secret has no public form",
                code="no_public_key",
                hint="Only RSA and EC keys have a public JWK to register.",
            )
        members = public_members(self._public)
        return self._ordered(members, PUBLIC_JWK_MEMBERS[self.kind])

    def private_jwk(self) -> dict[str, str]:
        """The private RSA JWK in the keystore order (see KEYSTORE_JWK_MEMBERS): what keygen writes.

        It holds the private key: write it to a file only the user can read, never print it.
        """
        if self.kind != "RSA" or self._private is None:
            raise ConfigError(
                f"this {self.describe()} has no private RSA JWK",
                code="no_private_key",
                hint="The keystore JWK is written for RSA private keys.",
            )
        return self._ordered(private_members(self._private), KEYSTORE_JWK_MEMBERS)

    def _ordered(self, members: dict[str, str], order: tuple[str, ...]) -> dict[str, str]:
        """PyJWT's members plus alg (and kid when set), in m2mauth's published order."""
        values = {**members, "alg": self.default_algorithm}
        if self.kid:
            values["kid"] = self.kid
        return {name: values[name] for name in order if name in values}

    def private_pem(self) -> bytes:
        """PKCS#8 PEM of the private key (used to pickle credentials for worker processes)."""
        if self._private is None:
            raise ConfigError(f"this {self.describe()} has no private PEM", code="no_private_key")
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def with_kid(self, kid: str | None) -> Key:
        return Key(self.kind, kid, self.alg, self._private, self._public, self._secret)

    def __repr__(self) -> str:
        kid = f", kid={self.kid!r}" if self.kid else ""
        return f"<Key {self.describe()}{kid}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # cryptography's key objects do not pickle; rebuild from serialised material instead.
        if self.kind == "oct":
            return (_secret_with_alg, (self._secret, self.kid, self.alg))
        if self._private is not None:
            return (_key_from_pem, (self.private_pem(), self.kid, self.alg))
        assert self._public is not None
        pem = self._public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return (_key_from_pem, (pem, self.kid, self.alg))


def _secret_with_alg(secret: bytes, kid: str | None, alg: str | None) -> Key:
    return Key("oct", kid, alg, None, None, secret)


def _key_from_pem(pem: bytes, kid: str | None, alg: str | None) -> Key:
    key = _load_pem(pem, None)
    return Key(key.kind, kid, alg, key._private, key._public, key._secret)


def _mismatch_hint(kind: str, alg: str) -> str:
    if kind == "RSA" and alg.startswith("HS"):
        return (
            "This is an RSA private key: sign with RS256 (m2mauth chooses it when you give no alg). "
            "HS256 would use the PEM text as an HMAC password, and the server answers 'Only RS256 "
            "signature algorithm is supported'. In R, httr2::jwt_encode_hmac() does exactly that: "
            "use m2m_token()/m2m_sign_jwt() instead."
        )
    if kind == "oct":
        return (
            f"A shared secret signs HS256/HS384/HS512 only. {alg} needs a private key (PEM or JWK): "
            "pass it as private_key=, and the secret as secret= only for HMAC grants."
        )
    if kind == "EC":
        return "An EC key signs ES256 (P-256) or ES384 (P-384). Use the algorithm that matches its curve."
    return f"Use one of the RSA algorithms (RS256 is the common one), not {alg}."


def secret_key(secret: str | bytes, kid: str | None = None) -> Key:
    """An HMAC key from a shared secret (text is taken as its UTF-8 bytes)."""
    if isinstance(secret, str):
        secret = utf8(secret, "the HMAC secret")
    if not isinstance(secret, bytes) or not secret:
        raise ConfigError(
            "the HMAC secret is empty",
            code="invalid_key",
            hint="Pass the service account's secret as secret= (or its environment variable).",
        )
    return Key("oct", kid, None, None, None, bytes(secret))


def _from_jwk(jwk: Mapping[str, Any], kid: str | None) -> Key:
    kid = kid or (jwk.get("kid") if isinstance(jwk.get("kid"), str) else None)
    alg = jwk.get("alg") if isinstance(jwk.get("alg"), str) else None
    kind, private, public, secret = read_jwk(jwk)
    return Key(kind, kid, alg, private, public, secret)


def _from_jwks(jwks: Mapping[str, Any], kid: str | None) -> Key:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, Mapping) for k in keys):
        raise ConfigError("the JWKS has no keys", code="invalid_key")
    if kid is None:
        if len(keys) > 1:
            raise ConfigError(
                "the JWKS holds several keys; say which with key_id=",
                code="ambiguous_key",
                hint="Pass key_id= with the 'kid' of the key to sign with.",
            )
        return _from_jwk(keys[0], None)
    for jwk in keys:
        if jwk.get("kid") == kid:
            return _from_jwk(jwk, kid)
    raise ConfigError(f"no key with kid {kid!r} in the JWKS", code="invalid_key")


def _load_pem(data: bytes, password: str | bytes | None) -> Key:
    if isinstance(password, str):
        password = utf8(password, "the key passphrase")
    if b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        try:
            public = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigError("the PEM public key cannot be read", code="invalid_key") from None
        return _wrap(None, public)
    try:
        private = serialization.load_pem_private_key(data, password)
    except TypeError as exc:
        if "not encrypted" not in str(exc).lower():
            raise ConfigError(
                "the private key is encrypted and no passphrase was given",
                code="key_password_required",
                hint="Pass the passphrase with key_password= (or M2MAUTH_KEY_PASSWORD).",
            ) from None
        raise ConfigError(
            "the private key is not encrypted but a passphrase was given",
            code="invalid_key",
            hint="Drop key_password=.",
        ) from None
    except ValueError:
        hint = "Check the PEM text (BEGIN/END lines, no missing lines) and the passphrase, if any."
        raise ConfigError(
            "the PEM private key cannot be read (bad data or wrong passphrase)", code="invalid_key", hint=hint
        ) from None
    except UnsupportedAlgorithm:
        raise ConfigError("the PEM private key uses an unsupported algorithm", code="invalid_key") from None
    if not isinstance(private, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ConfigError(
            f"unsupported private key type {type(private).__name__}",
            code="invalid_key",
            hint="m2mauth signs with RSA and EC (P-256, P-384) keys.",
        )
    return _wrap(private, private.public_key())


def _wrap(private: Any, public: Any) -> Key:
    if isinstance(public, rsa.RSAPublicKey):
        return Key("RSA", None, None, private, public)
    if isinstance(public, ec.EllipticCurvePublicKey):
        if _CURVE_NAMES.get(public.curve.name) is None:
            raise ConfigError(
                f"unsupported EC curve {public.curve.name}", code="invalid_key", hint="Use P-256 or P-384."
            )
        return Key("EC", None, None, private, public)
    raise ConfigError(f"unsupported key type {type(public).__name__}", code="invalid_key")


def utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a badly decoded file name or clipboard
        raise ConfigError(f"{what} is not valid Unicode text", code="invalid_key") from None


_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=_\-]{40,}")
KEY_MATERIAL_HINT = (
    "This value is not a file path but looks like key material (base64 without its BEGIN/END lines): give the "
    "path of the key file, or the PEM text with its -----BEGIN ... KEY----- and -----END ... KEY----- lines."
)


def looks_like_key_material(value: str | os.PathLike[str]) -> bool:
    """A long base64 run, or a value no file name is: key material given where a path was expected."""
    text = os.fspath(value)
    return bool(_KEY_MATERIAL.fullmatch(text.strip())) or len(text) > 1024


def shown_path(value: str | os.PathLike[str], *, quoted: bool = False) -> str:
    """A path as messages show it; key material given in its place is described, never echoed."""
    if looks_like_key_material(value):
        return f"<a {len(os.fspath(value))}-character value that looks like key material>"
    return repr(os.fspath(value)) if quoted else str(value)


def read_file(value: str | os.PathLike[str], what: str, hint: str) -> bytes:
    """Read a file named by the user; every failure is a ConfigError naming the path (never its content,
    nor key material given in place of a path)."""
    if looks_like_key_material(value):
        hint = KEY_MATERIAL_HINT
    try:
        path = Path(os.fspath(value)).expanduser()
    except RuntimeError:  # "~user" with no such user
        raise ConfigError(
            f"{what} path cannot be expanded: {shown_path(value, quoted=True)}", code="key_file_not_found", hint=hint
        ) from None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {shown_path(path)}", code="key_file_not_found", hint=hint) from None
    except (OSError, ValueError) as exc:  # ValueError: NUL bytes, unencodable names
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(
            f"{what} cannot be read: {shown_path(path, quoted=True)} ({reason})", code="key_file_unreadable", hint=hint
        ) from None


def _looks_like_path(text: str) -> bool:
    return "-----BEGIN" not in text and not text.lstrip().startswith("{") and "\n" not in text and len(text) < 4096


def load_key(value: KeyInput, *, password: str | bytes | None = None, kid: str | None = None) -> Key:
    """Load a key from a path, PEM text or bytes, a JWK or JWKS (mapping or JSON text), or a Key.

    ``kid`` sets the JWS key id (and picks the key out of a JWKS).
    """
    if isinstance(value, Key):
        return value.with_kid(kid) if kid and kid != value.kid else value
    if isinstance(value, Mapping):
        return _from_jwks(value, kid) if "keys" in value else _from_jwk(value, kid)
    if isinstance(value, os.PathLike) or (isinstance(value, str) and _looks_like_path(value)):
        data = read_file(
            value, "key file", "Check the path; '~' is expanded, relative paths start at the working directory."
        )
        return load_key(data, password=password, kid=kid)
    if isinstance(value, str):
        value = utf8(value, "the key text")
    if not isinstance(value, (bytes, bytearray)):
        raise ConfigError(
            f"cannot read a key from a {type(value).__name__}",
            code="invalid_key",
            hint="Give a path, PEM text, a JWK/JWKS mapping or JSON text.",
        )
    data = bytes(value)
    stripped = data.strip()
    if stripped.startswith(b"{"):
        try:
            parsed = json.loads(stripped.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ConfigError("the key looks like JSON but does not parse", code="invalid_key") from None
        if not isinstance(parsed, dict):
            raise ConfigError("the key JSON is not an object", code="invalid_key")
        if "private_key" in parsed and "client_id" in parsed:
            return load_service_key(parsed).key.with_kid(kid) if kid else load_service_key(parsed).key
        return load_key(parsed, kid=kid)
    if b"-----BEGIN" not in data:
        raise ConfigError(
            "not a PEM key, JWK or JWKS",
            code="invalid_key",
            hint="A PEM key starts with '-----BEGIN ... PRIVATE KEY-----'.",
        )
    key = _load_pem(data, password)
    return key.with_kid(kid) if kid else key


@dataclass(frozen=True, repr=False)
class ServiceKey:
    """A CLMS service key as downloaded: client_id, user_id, token_uri, key_id and its private key."""

    client_id: str
    user_id: str
    token_uri: str
    key: Key
    key_id: str | None = None
    title: str | None = None

    def __repr__(self) -> str:
        return f"<ServiceKey client_id={self.client_id!r} user_id={self.user_id!r} token_uri={self.token_uri!r}>"


SERVICE_KEY_FIELDS = ("client_id", "user_id", "token_uri", "private_key")


def load_service_key(
    value: str | bytes | os.PathLike[str] | Mapping[str, Any] | ServiceKey, *, password: str | bytes | None = None
) -> ServiceKey:
    """Read a CLMS service key from a path, JSON text or a mapping (a loaded ServiceKey is returned as is).

    ``password`` decrypts a private_key the user has encrypted (``key_password=``, as for ``private_key=``).
    """
    data: Any
    if isinstance(value, ServiceKey):
        return value
    if isinstance(value, Mapping):
        data = value
    else:
        if isinstance(value, os.PathLike) or (isinstance(value, str) and not value.lstrip().startswith("{")):
            raw: str | bytes = read_file(
                value,
                "service key file",
                "Download the service key JSON from your CLMS profile page and pass its path.",
            )
        elif isinstance(value, (str, bytes, bytearray)):
            raw = value
        else:
            raise ConfigError(
                f"service_key must be a path, JSON text or a mapping, not {type(value).__name__}",
                code="invalid_service_key",
            )
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ConfigError(
                "the service key is not valid JSON",
                code="invalid_service_key",
                hint="Use the JSON file exactly as downloaded; do not edit it by hand.",
            ) from None
    if not isinstance(data, Mapping):
        raise ConfigError("the service key JSON is not an object", code="invalid_service_key")
    missing = [name for name in SERVICE_KEY_FIELDS if not isinstance(data.get(name), str) or not data.get(name)]
    if missing:
        raise ConfigError(
            f"the service key lacks {', '.join(missing)}",
            code="missing_field",
            hint="A CLMS service key holds client_id, user_id, token_uri and private_key; "
            "download it again if a field is missing.",
        )
    key_id = data.get("key_id") if isinstance(data.get("key_id"), str) else None
    # PEM text from the JSON, never a path.
    key = load_key(utf8(str(data["private_key"]), "the private_key"), password=password)
    if key.kind != "RSA":
        raise ConfigError(
            "the service key's private_key is not an RSA key",
            code="key_algorithm_mismatch",
            hint="CLMS signs grants with RS256 and needs an RSA key.",
        )
    title = data.get("title") if isinstance(data.get("title"), str) else None
    return ServiceKey(str(data["client_id"]), str(data["user_id"]), str(data["token_uri"]), key, key_id, title)
